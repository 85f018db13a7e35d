package verify

import (
	"fmt"
	"time"
)

// DiffKind says what differs.
type DiffKind string

// The kinds of difference. A key has one: misplaced if a copy sits on a
// server of a twemproxy pool that is not its own (the Detail then says what
// its own server holds), else the first of missing, extra, type, value and
// ttl that applies (a value difference mentions a TTL difference of the
// same key in its Detail).
const (
	Missing  DiffKind = "missing"  // on the source, not on the target
	Extra    DiffKind = "extra"    // on the target, not on the source
	Type     DiffKind = "type"     // the types differ
	Value    DiffKind = "value"    // same type, different content
	TTL      DiffKind = "ttl"      // expiries differ by more than the tolerance
	Function DiffKind = "function" // function libraries differ (DB is -1)
	// Misplaced: on a server of a twemproxy pool that its routing does not
	// name for the key (a Pool target, or a Proxy target with its pool).
	Misplaced DiffKind = "misplaced"
)

// Diff is one difference between source and target.
type Diff struct {
	DB     int    // source database; -1 for functions
	Key    string // "" for functions
	Kind   DiffKind
	Detail string // "source vs target" where it shows both
}

// String renders the difference on one line:
//
//	db 0 key "user:1": value: field "name": "ann" vs "bob"
func (d Diff) String() string {
	if d.DB < 0 {
		return fmt.Sprintf("%s: %s", d.Kind, d.Detail)
	}
	return fmt.Sprintf("db %d key %q: %s: %s", d.DB, d.Key, d.Kind, d.Detail)
}

// DBResult counts one database (of the source: a Cluster or Proxy target
// is counted under the source database compared with it).
type DBResult struct {
	DB        int
	Keys      int64 // keys compared in the first round
	Differing int64 // keys still differing after the last round
	Missing   int64 // of Differing: on the source only
	Extra     int64 // of Differing: on the target only
}

// Result is the outcome of Run.
type Result struct {
	Equal     bool  // no key and no function library differs
	Keys      int64 // keys compared in the first round
	Differing int64 // keys still differing after the last round
	Missing   int64 // of Differing: on the source only
	Extra     int64 // of Differing: on the target only
	ByKind    map[DiffKind]int64
	Functions bool // the function libraries differ
	DBs       []DBResult
	// Diffs are the differences found by the last round that checked
	// each key, at most Config.MaxDiffs.
	Diffs     []Diff
	Rounds    int           // rounds run
	FirstPass time.Duration // the first round
	Elapsed   time.Duration // every round and pause
	// Notes say what could not be compared (e.g. functions before 7.0,
	// keys only on a proxy target).
	Notes []string
}

// KeysPerSecond is the speed of the first round.
func (r *Result) KeysPerSecond() float64 {
	if r.FirstPass <= 0 {
		return 0
	}
	return float64(r.Keys) / r.FirstPass.Seconds()
}

// Round reports one finished round to Config.OnRound.
type Round struct {
	N         int   // 1 for the first round
	Keys      int64 // keys compared in this round
	Differing int64 // of them, those that differ
	Functions bool  // the function libraries differ
	Elapsed   time.Duration
}
