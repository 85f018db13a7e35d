package replicate

import (
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/replicant/replicant/filter"
)

// newFilter builds the filter of c; nil when it asks for nothing.
func newFilter(c filter.Config) (*filter.Filter, error) {
	f, err := filter.New(c)
	if err != nil || !f.Active() {
		return nil, err
	}
	return f, nil
}

// filterStats counts what the filter left out.
type filterStats struct {
	keys     atomic.Int64 // snapshot keys
	commands atomic.Int64 // stream commands dropped
	mixed    atomic.Int64 // stream commands on both sides, not applied
}

// keepSnapshotKey reports whether a snapshot key is copied, counting those
// that are not.
func (s *replica) keepSnapshotKey(db int, key []byte) bool {
	if s.filter == nil || s.filter.KeepKey(db, key) {
		return true
	}
	s.filtered.keys.Add(1)
	return false
}

// targetKey is the name on the target of key of source database db.
func (s *replica) targetKey(db int, key []byte) []byte {
	if s.filter == nil {
		return key
	}
	return s.filter.TargetKey(db, key)
}

// mapDB is the target database of the source database db.
func (s *replica) mapDB(db int) int {
	if s.filter == nil {
		return db
	}
	return s.filter.MapDB(db)
}

// loadKeySpecs reads the key positions of the source's COMMAND reply, once,
// when the filter has key patterns or the target routes by key; a source
// that refuses COMMAND leaves the built-in table.
func (s *replica) loadKeySpecs(ctx context.Context) {
	needed := s.target.kind != KindStandalone || s.filter != nil && s.filter.NeedsKeySpecs()
	if !needed || s.keySpecs != nil {
		return
	}
	s.keySpecs = filter.Builtin()
	ctx, cancel := context.WithTimeout(ctx, s.opts.ConnectTimeout+5*time.Second)
	defer cancel()
	c := redis.NewClient(s.sourceClientOptions())
	defer c.Close()
	infos, err := c.Command(ctx).Result()
	if err != nil {
		s.log.Warn().Err(err).Msg("source: COMMAND refused; the keys of commands are found with a built-in table")
		return
	}
	list := make([]filter.CommandInfo, 0, len(infos))
	for _, in := range infos {
		list = append(list, filter.CommandInfo{Name: in.Name, FirstKeyPos: int(in.FirstKeyPos),
			LastKeyPos: int(in.LastKeyPos), StepCount: int(in.StepCount), Flags: in.Flags})
	}
	s.keySpecs = filter.FromCommandInfo(list)
	if s.filter != nil {
		s.filter.SetKeySpecs(s.keySpecs)
	}
	s.log.Debug().Int("commands", len(list)).Msg("source: key positions read from COMMAND")
}

// commandKeys returns the keys of a stream command, by the source's key
// positions; ok is false for a command whose keys are not known.
func (s *replica) commandKeys(args [][]byte) (keys [][]byte, ok bool) {
	return s.specs().Keys(args)
}

// commandKeyIndexes returns the positions of a command's keys in args.
func (s *replica) commandKeyIndexes(args [][]byte) (at []int, ok bool) {
	return s.specs().KeyIndexes(args)
}

// specs are the source's key specs, or the built-in table before they are
// read.
func (s *replica) specs() filter.KeySpecs {
	if s.keySpecs == nil {
		return filter.Builtin()
	}
	return s.keySpecs
}

// filterCommand judges one stream command run in the source db: the
// command to send, or nil when it is left out (counted, and a mixed one
// logged).
func (b *batcher) filterCommand(args [][]byte) [][]byte {
	f := b.a.s.filter
	if f == nil {
		return args
	}
	d := f.Command(b.db, args)
	switch d.Action {
	case filter.Keep:
		return d.Args
	case filter.Drop:
		b.a.s.filtered.commands.Add(1)
	case filter.Mixed:
		b.a.s.filtered.mixed.Add(1)
		b.a.s.log.Warn().Str("command", strings.ToUpper(string(args[0]))).Int("db", b.db).Int64("offset", b.off).
			Str("reason", d.Reason).Strs("kept", strs(d.Kept)).Strs("filtered", strs(d.Dropped)).
			Msg("filter: command touches both copied and filtered-out data; not applied, the target may differ for the copied part")
	}
	return nil
}

// selectArgs returns the SELECT to send for a SELECT of the stream: its db
// mapped.
func (s *replica) selectArgs(args [][]byte, db int) [][]byte {
	if to := s.mapDB(db); to != db {
		return [][]byte{args[0], []byte(strconv.Itoa(to))}
	}
	return args
}

// logFilterStats adds the filter's counts to a status line.
func (s *replica) logFilterStats(ev *zerolog.Event) *zerolog.Event {
	if s.filter == nil {
		return ev
	}
	return ev.Int64("keys_filtered", s.filtered.keys.Load()).Int64("commands_filtered", s.filtered.commands.Load()).
		Int64("commands_mixed", s.filtered.mixed.Load())
}

func strs(bs [][]byte) []string {
	s := make([]string, len(bs))
	for i, b := range bs {
		s[i] = string(b)
	}
	return s
}
