package filter

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Config says what to copy. The zero value copies everything, as is.
type Config struct {
	AllowDBs, DenyDBs   []int     // databases copied (empty: all) and left out
	AllowKeys, DenyKeys []Pattern // keys copied (empty: all) and left out
	DenyCommands        []string  // commands of the stream left out, any case
	DBMap               map[int]int
	// KeyPrefix puts the keys of a source database under a prefix on the
	// target (with DBMap, several databases share one target database, as
	// a cluster or a proxy has only db 0).
	KeyPrefix map[int]string
	// KeySpecs says where each command's keys are; nil is Builtin. Only
	// needed with key patterns.
	KeySpecs KeySpecs
}

// Filter applies a Config. It is safe for concurrent use once built, as
// long as SetKeySpecs is not called meanwhile.
type Filter struct {
	cfg       Config
	allowDB   map[int]bool
	denyDB    map[int]bool
	denyCmd   map[string]bool
	specs     KeySpecs
	keyFilter bool
}

// New checks cfg and builds its Filter.
func New(cfg Config) (*Filter, error) {
	f := &Filter{cfg: cfg, allowDB: map[int]bool{}, denyDB: map[int]bool{}, denyCmd: map[string]bool{}, specs: cfg.KeySpecs}
	for _, db := range append(slices.Clone(cfg.AllowDBs), cfg.DenyDBs...) {
		if db < 0 {
			return nil, fmt.Errorf("database %d: must not be negative", db)
		}
	}
	for _, db := range cfg.AllowDBs {
		f.allowDB[db] = true
	}
	for _, db := range cfg.DenyDBs {
		f.denyDB[db] = true
	}
	for from, to := range cfg.DBMap {
		if from < 0 || to < 0 {
			return nil, fmt.Errorf("db map %d=%d: databases must not be negative", from, to)
		}
	}
	for _, c := range cfg.DenyCommands {
		c = strings.ToLower(strings.TrimSpace(c))
		if c == "" {
			return nil, fmt.Errorf("an empty command name")
		}
		switch c {
		case "select", "multi", "exec":
			return nil, fmt.Errorf("command %s cannot be left out: the stream needs it", strings.ToUpper(c))
		}
		f.denyCmd[c] = true
	}
	if f.specs == nil {
		f.specs = Builtin()
	}
	f.keyFilter = len(cfg.AllowKeys) > 0 || len(cfg.DenyKeys) > 0
	return f, nil
}

// SetKeySpecs replaces the key positions (e.g. with the source's COMMAND
// reply, once it is known).
func (f *Filter) SetKeySpecs(ks KeySpecs) {
	if ks != nil {
		f.specs = ks
	}
}

// Active reports whether the filter leaves out or moves anything.
func (f *Filter) Active() bool {
	return f.dbFilter() || f.keyFilter || len(f.denyCmd) > 0 || len(f.cfg.DBMap) > 0 || len(f.cfg.KeyPrefix) > 0
}

// TargetKey is the name key of the source database db has on the target:
// key itself, or a new slice with db's prefix.
func (f *Filter) TargetKey(db int, key []byte) []byte {
	p := f.cfg.KeyPrefix[db]
	if p == "" {
		return key
	}
	return append([]byte(p), key...)
}

// prefixed returns args with every key under db's prefix; args itself when
// db has none.
func (f *Filter) prefixed(db int, args [][]byte) [][]byte {
	if f.cfg.KeyPrefix[db] == "" {
		return args
	}
	at, _ := f.specs.KeyIndexes(args)
	if len(at) == 0 {
		return args
	}
	out := slices.Clone(args)
	for _, i := range at {
		out[i] = f.TargetKey(db, args[i])
	}
	return out
}

// hasPrefix reports whether any of dbs has a key prefix.
func (f *Filter) hasPrefix(dbs ...int) bool {
	for _, db := range dbs {
		if f.cfg.KeyPrefix[db] != "" {
			return true
		}
	}
	return false
}

// LeavesOut reports whether the filter leaves out databases or keys.
func (f *Filter) LeavesOut() bool { return f.dbFilter() || f.keyFilter }

// KeyPatterns reports whether the filter has key patterns (and so needs
// KeySpecs).
func (f *Filter) KeyPatterns() bool { return f.keyFilter }

// NeedsKeySpecs reports whether the filter reads the keys of commands (key
// patterns, or key prefixes of --db-map).
func (f *Filter) NeedsKeySpecs() bool { return f.keyFilter || len(f.cfg.KeyPrefix) > 0 }

func (f *Filter) dbFilter() bool { return len(f.allowDB) > 0 || len(f.denyDB) > 0 }

// KeepDB reports whether the source database db is copied.
func (f *Filter) KeepDB(db int) bool {
	return (len(f.allowDB) == 0 || f.allowDB[db]) && !f.denyDB[db]
}

// KeepKey reports whether key of the source database db is copied.
func (f *Filter) KeepKey(db int, key []byte) bool {
	if !f.KeepDB(db) {
		return false
	}
	if len(f.cfg.AllowKeys) > 0 && !matchAny(f.cfg.AllowKeys, key) {
		return false
	}
	return !matchAny(f.cfg.DenyKeys, key)
}

func matchAny(ps []Pattern, key []byte) bool {
	for _, p := range ps {
		if p.Match(key) {
			return true
		}
	}
	return false
}

// MapDB returns the target database the source database db goes to.
func (f *Filter) MapDB(db int) int {
	if to, ok := f.cfg.DBMap[db]; ok {
		return to
	}
	return db
}

// Action is what to do with a command of the stream.
type Action int

// Actions.
const (
	Keep  Action = iota // send Decision.Args
	Drop                // leave it out: nothing of it is copied
	Mixed               // it touches copied and left-out data: not applied, report it
)

func (a Action) String() string {
	return [...]string{"keep", "drop", "mixed"}[a]
}

// Reasons a command is dropped or mixed.
const (
	ReasonCommand = "command" // its name is denied
	ReasonDB      = "db"      // its database is left out, or it spans both sides
	ReasonKey     = "key"     // its keys are left out, or on both sides
	ReasonPrefix  = "prefix"  // it names databases whose keys get a prefix (MOVE, SWAPDB, COPY DB, FLUSHDB): no one command does the same
)

// Decision is Command's verdict.
type Decision struct {
	Action Action
	Reason string   // for Drop and Mixed
	Args   [][]byte // for Keep: the command to send (args or a rewritten copy)
	// Kept and Dropped are the keys (or, for a database-level conflict,
	// the database numbers) on each side, for Drop and Mixed.
	Kept, Dropped [][]byte
}

// commands not scoped to the selected database
var global = map[string]bool{
	"function": true, "script": true, "publish": true, "spublish": true,
	"ping": true, "replconf": true, "multi": true, "exec": true, "select": true,
}

// Command judges one command of the stream, run while the source had
// database db selected. args[0] is the command's name. SELECT, MULTI and
// EXEC are always kept: SELECT's mapping is the caller's.
func (f *Filter) Command(db int, args [][]byte) Decision {
	if len(args) == 0 {
		return Decision{Action: Keep, Args: args}
	}
	name := strings.ToLower(string(args[0]))
	if f.denyCmd[name] {
		return Decision{Action: Drop, Reason: ReasonCommand}
	}
	switch {
	case global[name]:
		return Decision{Action: Keep, Args: args}
	case name == "flushall":
		if f.dbFilter() || f.keyFilter {
			return Decision{Action: Mixed, Reason: ReasonDB}
		}
		return Decision{Action: Keep, Args: args}
	case name == "swapdb" || name == "move":
		if len(f.cfg.KeyPrefix) > 0 {
			return Decision{Action: Mixed, Reason: ReasonPrefix}
		}
		if name == "move" {
			return f.move(db, args)
		}
		return f.swapdb(args)
	case name == "copy":
		d := f.copyCmd(db, args)
		if d.Action == Keep && f.hasPrefix(db) {
			if hasDBOption(args) {
				return Decision{Action: Mixed, Reason: ReasonPrefix}
			}
			d.Args = f.prefixed(db, d.Args)
		}
		return d
	}
	if !f.KeepDB(db) {
		return Decision{Action: Drop, Reason: ReasonDB}
	}
	if name == "flushdb" && f.hasPrefix(db) {
		return Decision{Action: Mixed, Reason: ReasonPrefix}
	}
	if !f.keyFilter {
		return Decision{Action: Keep, Args: f.prefixed(db, args)}
	}
	keys, _ := f.specs.Keys(args) // an unknown command: no keys to judge, kept
	d := f.byKeys(args, f.sides(db, keys))
	if d.Action == Keep {
		d.Args = f.prefixed(db, d.Args)
	}
	return d
}

// hasDBOption reports whether a COPY names a database.
func hasDBOption(args [][]byte) bool {
	for _, a := range args[min(3, len(args)):] {
		if strings.EqualFold(string(a), "DB") {
			return true
		}
	}
	return false
}

type sides struct{ kept, dropped [][]byte }

// sides splits keys, of database db, by whether they are copied.
func (f *Filter) sides(db int, keys [][]byte) sides {
	var s sides
	for _, k := range keys {
		if f.KeepKey(db, k) {
			s.kept = append(s.kept, k)
		} else {
			s.dropped = append(s.dropped, k)
		}
	}
	return s
}

func (f *Filter) byKeys(args [][]byte, s sides) Decision {
	switch {
	case len(s.dropped) == 0:
		return Decision{Action: Keep, Args: args}
	case len(s.kept) == 0:
		return Decision{Action: Drop, Reason: ReasonKey, Dropped: s.dropped}
	}
	return Decision{Action: Mixed, Reason: ReasonKey, Kept: s.kept, Dropped: s.dropped}
}

// swapdb: SWAPDB a b.
func (f *Filter) swapdb(args [][]byte) Decision {
	if len(args) != 3 {
		return Decision{Action: Keep, Args: args} // for the target to refuse
	}
	a, err1 := strconv.Atoi(string(args[1]))
	b, err2 := strconv.Atoi(string(args[2]))
	if err1 != nil || err2 != nil {
		return Decision{Action: Keep, Args: args}
	}
	var s sides
	for _, db := range []int{a, b} {
		if f.KeepDB(db) {
			s.kept = append(s.kept, args[1+len(s.kept)+len(s.dropped)])
		} else {
			s.dropped = append(s.dropped, args[1+len(s.kept)+len(s.dropped)])
		}
	}
	d := f.byKeys(args, s)
	switch d.Action {
	case Keep:
		d.Args = mapArgs(args, map[int]int{1: f.MapDB(a), 2: f.MapDB(b)})
	default:
		d.Reason = ReasonDB
	}
	return d
}

// move: MOVE key db.
func (f *Filter) move(db int, args [][]byte) Decision {
	if len(args) != 3 {
		return Decision{Action: Keep, Args: args}
	}
	to, err := strconv.Atoi(string(args[2]))
	if err != nil {
		return Decision{Action: Keep, Args: args}
	}
	return f.twoPlaces(args, db, args[1], to, args[1], map[int]int{2: f.MapDB(to)})
}

// copyCmd: COPY source destination [DB db] [REPLACE].
func (f *Filter) copyCmd(db int, args [][]byte) Decision {
	if len(args) < 3 {
		return Decision{Action: Keep, Args: args}
	}
	to, at := db, 0
	for i := 3; i+1 < len(args); i++ {
		if strings.EqualFold(string(args[i]), "DB") {
			n, err := strconv.Atoi(string(args[i+1]))
			if err != nil {
				return Decision{Action: Keep, Args: args}
			}
			to, at = n, i+1
			break
		}
	}
	var repl map[int]int
	if at > 0 {
		repl = map[int]int{at: f.MapDB(to)}
	}
	return f.twoPlaces(args, db, args[1], to, args[2], repl)
}

// twoPlaces judges a command reading key a of database dbA and writing
// key b of database dbB, whose database arguments repl maps.
func (f *Filter) twoPlaces(args [][]byte, dbA int, a []byte, dbB int, b []byte, repl map[int]int) Decision {
	var s sides
	for _, k := range []struct {
		db  int
		key []byte
	}{{dbA, a}, {dbB, b}} {
		if f.KeepKey(k.db, k.key) {
			s.kept = append(s.kept, k.key)
		} else {
			s.dropped = append(s.dropped, k.key)
		}
	}
	d := f.byKeys(args, s)
	switch {
	case d.Action == Keep:
		d.Args = mapArgs(args, repl)
	case !f.KeepDB(dbA) || !f.KeepDB(dbB):
		d.Reason = ReasonDB
	}
	return d
}

// mapArgs returns args with the database numbers at the positions of repl
// replaced; args itself when nothing changes.
func mapArgs(args [][]byte, repl map[int]int) [][]byte {
	var out [][]byte
	for i, db := range repl {
		v := strconv.Itoa(db)
		if string(args[i]) == v {
			continue
		}
		if out == nil {
			out = slices.Clone(args)
		}
		out[i] = []byte(v)
	}
	if out == nil {
		return args
	}
	return out
}
