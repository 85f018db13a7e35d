package main

import (
	"context"
	"flag"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/replicant/replicant/filter"
)

// filterOptions are the flags of "replicant sync" choosing what is copied
// (package filter has the rules).
type filterOptions struct {
	DBs, SkipDBs   intList
	Keys, SkipKeys patternList
	SkipCommands   wordList
	DBMap          dbMap
}

func (o *filterOptions) register(fs *flag.FlagSet) {
	fs.Var(&o.DBs, "db", "copy only these source `databases` (repeatable, or a comma list; default: all)")
	fs.Var(&o.SkipDBs, "skip-db", "leave out these source `databases` (repeatable, or a comma list)")
	fs.Var(&o.Keys, "key", "copy only keys matching this `pattern` (repeatable): prefix:TEXT, glob:TEXT (Redis glob), regex:TEXT (Go regexp), or a bare TEXT as a prefix")
	fs.Var(&o.SkipKeys, "skip-key", "leave out keys matching this `pattern` (repeatable; forms as --key)")
	fs.Var(&o.SkipCommands, "skip-command", "leave out this `command` of the live stream (repeatable, or a comma list)")
	fs.Var(&o.DBMap, "db-map", "`FROM=TO[:PREFIX][,...]`: write the keys of source database FROM into target database TO, their names prefixed with PREFIX if given (repeatable); a cluster or twemproxy target has db 0 only, so e.g. 1=0:db1: puts db 1 under \"db1:\"")
}

// filter builds the filter of the flags; nil when they ask for nothing.
func (o *filterOptions) filter() (*filter.Filter, error) {
	f, err := filter.New(filter.Config{
		AllowDBs: o.DBs, DenyDBs: o.SkipDBs, AllowKeys: o.Keys, DenyKeys: o.SkipKeys,
		DenyCommands: o.SkipCommands, DBMap: o.DBMap.to, KeyPrefix: o.DBMap.prefix,
	})
	if err != nil || !f.Active() {
		return nil, err
	}
	return f, nil
}

// intList is a repeatable flag of integers, each value a comma list.
type intList []int

func (l *intList) String() string {
	if l == nil {
		return ""
	}
	s := make([]string, len(*l))
	for i, n := range *l {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

func (l *intList) Set(v string) error {
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 0 {
			return fmt.Errorf("%q is no database number", f)
		}
		*l = append(*l, n)
	}
	return nil
}

// wordList is a repeatable flag of words, each value a comma list.
type wordList []string

func (l *wordList) String() string {
	if l == nil {
		return ""
	}
	return strings.Join(*l, ",")
}

func (l *wordList) Set(v string) error {
	for _, f := range strings.Split(v, ",") {
		if f = strings.TrimSpace(f); f == "" {
			return fmt.Errorf("an empty name in %q", v)
		}
		*l = append(*l, f)
	}
	return nil
}

// patternList is a repeatable flag of key patterns, one per value (a
// regex may hold commas).
type patternList []filter.Pattern

func (l *patternList) String() string {
	if l == nil {
		return ""
	}
	s := make([]string, len(*l))
	for i, p := range *l {
		s[i] = p.String()
	}
	return strings.Join(s, " ")
}

func (l *patternList) Set(v string) error {
	p, err := filter.ParsePattern(v)
	if err != nil {
		return err
	}
	*l = append(*l, p)
	return nil
}

// dbMap is --db-map: FROM=TO[:PREFIX] items, comma-separated, repeatable.
type dbMap struct {
	to     map[int]int
	prefix map[int]string
}

func (m *dbMap) String() string {
	if m == nil {
		return ""
	}
	var s []string
	for from, to := range m.to {
		item := fmt.Sprintf("%d=%d", from, to)
		if p := m.prefix[from]; p != "" {
			item += ":" + p
		}
		s = append(s, item)
	}
	sort.Strings(s)
	return strings.Join(s, ",")
}

func (m *dbMap) Set(v string) error {
	if m.to == nil {
		m.to, m.prefix = map[int]int{}, map[int]string{}
	}
	for _, item := range strings.Split(v, ",") {
		a, b, ok := strings.Cut(strings.TrimSpace(item), "=")
		b, prefix, _ := strings.Cut(b, ":")
		from, err1 := strconv.Atoi(a)
		to, err2 := strconv.Atoi(b)
		if !ok || err1 != nil || err2 != nil || from < 0 || to < 0 {
			return fmt.Errorf("%q is not FROM=TO[:PREFIX] with two database numbers", item)
		}
		if prev, dup := m.to[from]; dup && (prev != to || m.prefix[from] != prefix) {
			return fmt.Errorf("database %d mapped twice", from)
		}
		m.to[from] = to
		if prefix != "" {
			m.prefix[from] = prefix
		}
	}
	return nil
}

// filterStats counts what the filter left out.
type filterStats struct {
	keys     atomic.Int64 // snapshot keys
	commands atomic.Int64 // stream commands dropped
	mixed    atomic.Int64 // stream commands on both sides, not applied
}

// keepSnapshotKey reports whether a snapshot key is copied, counting those
// that are not.
func (s *syncer) keepSnapshotKey(db int, key []byte) bool {
	if s.filter == nil || s.filter.KeepKey(db, key) {
		return true
	}
	s.filtered.keys.Add(1)
	return false
}

// targetKey is the name on the target of key of source database db.
func (s *syncer) targetKey(db int, key []byte) []byte {
	if s.filter == nil {
		return key
	}
	return s.filter.TargetKey(db, key)
}

// mapDB is the target database of the source database db.
func (s *syncer) mapDB(db int) int {
	if s.filter == nil {
		return db
	}
	return s.filter.MapDB(db)
}

// loadKeySpecs reads the key positions of the source's COMMAND reply, once,
// when the filter has key patterns or the target routes by key; a source
// that refuses COMMAND leaves the built-in table.
func (s *syncer) loadKeySpecs(ctx context.Context) {
	needed := s.targetKind != kindStandalone || s.filter != nil && s.filter.NeedsKeySpecs()
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
func (s *syncer) commandKeys(args [][]byte) (keys [][]byte, ok bool) {
	return s.specs().Keys(args)
}

// commandKeyIndexes returns the positions of a command's keys in args.
func (s *syncer) commandKeyIndexes(args [][]byte) (at []int, ok bool) {
	return s.specs().KeyIndexes(args)
}

// specs are the source's key specs, or the built-in table before they are
// read.
func (s *syncer) specs() filter.KeySpecs {
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
func (s *syncer) selectArgs(args [][]byte, db int) [][]byte {
	if to := s.mapDB(db); to != db {
		return [][]byte{args[0], []byte(strconv.Itoa(to))}
	}
	return args
}

// logFilterStats adds the filter's counts to a status line.
func (s *syncer) logFilterStats(ev *zerolog.Event) *zerolog.Event {
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
