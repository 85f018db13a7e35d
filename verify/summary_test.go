package verify

import (
	"testing"
	"time"
)

func TestSummary(t *testing.T) {
	r := &Result{Equal: true, Keys: 1000000, DBs: make([]DBResult, 4),
		FirstPass: 6100 * time.Millisecond, Elapsed: 6100 * time.Millisecond, Rounds: 1}
	if got := r.Summary(); got != "equal: 1000000 keys in 4 dbs compared in 6.1s (164k keys/s)" {
		t.Errorf("equal: %s", got)
	}
	r = &Result{Keys: 1000, Differing: 3, DBs: make([]DBResult, 2),
		ByKind:    map[DiffKind]int64{Missing: 2, Value: 1, Function: 1},
		Functions: true, Diffs: make([]Diff, 2), FirstPass: time.Second, Elapsed: 3 * time.Second, Rounds: 3}
	want := "DIFFERENT: 3 of 1000 keys differ (2 missing, 1 value) in 2 dbs compared in 1.0s (1k keys/s), 3 rounds in 3.0s; function libraries differ; 2 differences shown"
	if got := r.Summary(); got != want {
		t.Errorf("different:\n got %s\nwant %s", got, want)
	}
}

func TestFormatRate(t *testing.T) {
	for r, want := range map[float64]string{0: "0", 42.4: "42", 999: "999", 1000: "1k", 163412: "163k", 2.5e6: "2.50M"} {
		if got := FormatRate(r); got != want {
			t.Errorf("FormatRate(%v) = %q, want %q", r, got, want)
		}
	}
}
