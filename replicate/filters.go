package replicate

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/replicant/replicant/filter"
)

// keyFilter is what a sync copies of the source and under which names:
// the filter of Config.Filter (nil: everything, as is) with its database
// map and key prefixes, the counts of what it left out, and the source's
// key positions, which find the keys of a stream command for the filter
// and for a target that routes by key. Its fields are the run goroutine's,
// but for the counts, which other goroutines read, and keySpecs, which the
// applier and the target's writers read once it is loaded.
type keyFilter struct {
	filter         *filter.Filter // nil: copy everything as is
	filtered       filterStats
	keySpecs       filter.KeySpecs // the source's key positions, once loaded
	connectTimeout time.Duration   // for COMMAND on the source
	log            zerolog.Logger  // the replica's
}

// newKeyFilter builds the filter of c; its filter is nil when c asks for
// nothing.
func newKeyFilter(c filter.Config, connectTimeout time.Duration, log zerolog.Logger) (*keyFilter, error) {
	f, err := filter.New(c)
	if err != nil {
		return nil, err
	}
	kf := &keyFilter{connectTimeout: connectTimeout, log: log}
	if f.Active() {
		kf.filter = f
	}
	return kf, nil
}

// filterStats counts what the filter left out.
type filterStats struct {
	keys     atomic.Int64 // snapshot keys
	commands atomic.Int64 // stream commands dropped
	mixed    atomic.Int64 // stream commands on both sides, not applied
}

// active reports whether a filter asks for anything.
func (f *keyFilter) active() bool { return f.filter != nil }

// leavesOut reports whether the filter leaves out databases or keys of
// the source.
func (f *keyFilter) leavesOut() bool { return f.filter != nil && f.filter.LeavesOut() }

// keepsKey reports whether key of source database db is copied.
func (f *keyFilter) keepsKey(db int, key []byte) bool {
	return f.filter == nil || f.filter.KeepKey(db, key)
}

// keepSnapshotKey reports whether a snapshot key is copied, counting those
// that are not.
func (f *keyFilter) keepSnapshotKey(db int, key []byte) bool {
	if f.keepsKey(db, key) {
		return true
	}
	f.filtered.keys.Add(1)
	return false
}

// targetKey is the name on the target of key of source database db.
func (f *keyFilter) targetKey(db int, key []byte) []byte {
	if f.filter == nil {
		return key
	}
	return f.filter.TargetKey(db, key)
}

// mapDB is the target database of the source database db.
func (f *keyFilter) mapDB(db int) int {
	if f.filter == nil {
		return db
	}
	return f.filter.MapDB(db)
}

// sourceName is key's name on the source, if it came from source db from.
func (f *keyFilter) sourceName(from int, key []byte) ([]byte, bool) {
	if f.filter == nil {
		return key, true
	}
	p := f.filter.TargetKey(from, nil)
	if !bytes.HasPrefix(key, p) {
		return nil, false
	}
	return key[len(p):], true
}

// sourceDBsOf lists the kept source databases whose keys land in target db.
func (f *keyFilter) sourceDBsOf(db int) []int {
	var dbs []int
	for from := range maxDBs {
		if f.mapDB(from) == db && (f.filter == nil || f.filter.KeepDB(from)) {
			dbs = append(dbs, from)
		}
	}
	return dbs
}

// maxDBs bounds the source databases sourceDBsOf considers.
const maxDBs = 256

// loadKeySpecs reads the key positions of the COMMAND reply of the source
// that source dials, once, when the filter has key patterns or the target
// routes by key (byKey); a source that refuses COMMAND leaves the built-in
// table.
func (f *keyFilter) loadKeySpecs(ctx context.Context, byKey bool, source func() *redis.Options) {
	needed := byKey || f.filter != nil && f.filter.NeedsKeySpecs()
	if !needed || f.keySpecs != nil {
		return
	}
	f.keySpecs = filter.Builtin()
	ctx, cancel := context.WithTimeout(ctx, f.connectTimeout+5*time.Second)
	defer cancel()
	c := redis.NewClient(source())
	defer c.Close()
	infos, err := c.Command(ctx).Result()
	if err != nil {
		f.log.Warn().Err(err).Msg("source: COMMAND refused; the keys of commands are found with a built-in table")
		return
	}
	list := make([]filter.CommandInfo, 0, len(infos))
	for _, in := range infos {
		list = append(list, filter.CommandInfo{Name: in.Name, FirstKeyPos: int(in.FirstKeyPos),
			LastKeyPos: int(in.LastKeyPos), StepCount: int(in.StepCount), Flags: in.Flags})
	}
	f.keySpecs = filter.FromCommandInfo(list)
	if f.filter != nil {
		f.filter.SetKeySpecs(f.keySpecs)
	}
	f.log.Debug().Int("commands", len(list)).Msg("source: key positions read from COMMAND")
}

// commandKeys returns the keys of a stream command, by the source's key
// positions; ok is false for a command whose keys are not known.
func (f *keyFilter) commandKeys(args [][]byte) (keys [][]byte, ok bool) {
	return f.specs().Keys(args)
}

// commandKeyIndexes returns the positions of a command's keys in args.
func (f *keyFilter) commandKeyIndexes(args [][]byte) (at []int, ok bool) {
	return f.specs().KeyIndexes(args)
}

// specs are the source's key specs, or the built-in table before they are
// read.
func (f *keyFilter) specs() filter.KeySpecs {
	if f.keySpecs == nil {
		return filter.Builtin()
	}
	return f.keySpecs
}

// command judges one stream command run in source database db, ending at
// offset off: the command to send, or nil when it is left out (counted,
// and a mixed one logged).
func (f *keyFilter) command(db int, off int64, args [][]byte) [][]byte {
	if f.filter == nil {
		return args
	}
	d := f.filter.Command(db, args)
	switch d.Action {
	case filter.Keep:
		return d.Args
	case filter.Drop:
		f.filtered.commands.Add(1)
	case filter.Mixed:
		f.filtered.mixed.Add(1)
		f.log.Warn().Str("command", strings.ToUpper(string(args[0]))).Int("db", db).Int64("offset", off).
			Str("reason", d.Reason).Strs("kept", strs(d.Kept)).Strs("filtered", strs(d.Dropped)).
			Msg("filter: command touches both copied and filtered-out data; not applied, the target may differ for the copied part")
	}
	return nil
}

// selectArgs returns the SELECT to send for a SELECT of the stream: its db
// mapped.
func (f *keyFilter) selectArgs(args [][]byte, db int) [][]byte {
	if to := f.mapDB(db); to != db {
		return [][]byte{args[0], []byte(strconv.Itoa(to))}
	}
	return args
}

// logStats adds the filter's counts to a status line.
func (f *keyFilter) logStats(ev *zerolog.Event) *zerolog.Event {
	if f.filter == nil {
		return ev
	}
	return ev.Int64("keys_filtered", f.filtered.keys.Load()).Int64("commands_filtered", f.filtered.commands.Load()).
		Int64("commands_mixed", f.filtered.mixed.Load())
}

func strs(bs [][]byte) []string {
	s := make([]string, len(bs))
	for i, b := range bs {
		s[i] = string(b)
	}
	return s
}
