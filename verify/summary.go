package verify

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Summary is r on one line, as "replicant verify" ends with it:
//
//	equal: 1000 keys in 4 dbs compared in 0.1s (10k keys/s)
//	DIFFERENT: 3 of 1000 keys differ (2 missing, 1 value) in 2 dbs compared in 1.0s (1k keys/s), 3 rounds in 3.0s
func (r *Result) Summary() string {
	took := fmt.Sprintf("in %d dbs compared in %s (%s keys/s)", len(r.DBs), fmtSeconds(r.FirstPass), FormatRate(r.KeysPerSecond()))
	if r.Rounds > 1 {
		took += fmt.Sprintf(", %d rounds in %s", r.Rounds, fmtSeconds(r.Elapsed))
	}
	if r.Equal {
		return fmt.Sprintf("equal: %d keys %s", r.Keys, took)
	}
	var kinds []string
	for _, k := range []DiffKind{Missing, Extra, Misplaced, Type, Value, TTL} {
		if n := r.ByKind[k]; n > 0 {
			kinds = append(kinds, fmt.Sprintf("%d %s", n, k))
		}
	}
	s := fmt.Sprintf("DIFFERENT: %d of %d keys differ", r.Differing, r.Keys)
	if len(kinds) > 0 {
		s += " (" + strings.Join(kinds, ", ") + ")"
	}
	s += " " + took
	if r.Functions {
		s += "; function libraries differ"
	}
	if shown := len(r.Diffs); int64(shown) < r.Differing+r.ByKind[Function] {
		s += fmt.Sprintf("; %d differences shown", shown)
	}
	return s
}

func fmtSeconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
}

// FormatRate renders a rate per second in three digits or so, as Summary
// shows keys/s: 163412 as "163k", 2.5e6 as "2.50M", 42 as "42".
func FormatRate(r float64) string {
	switch {
	case r >= 1e6:
		return strconv.FormatFloat(r/1e6, 'f', 2, 64) + "M"
	case r >= 1e3:
		return strconv.FormatFloat(r/1e3, 'f', 0, 64) + "k"
	}
	return strconv.FormatFloat(r, 'f', 0, 64)
}
