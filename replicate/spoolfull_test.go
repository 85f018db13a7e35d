package replicate

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/replicant/replicant/spool"
)

// spoolAt gives s a spool in a temporary directory that starts at offset.
func spoolAt(t *testing.T, s *replica, offset int64, opts spool.Options) *spool.Spool {
	t.Helper()
	sp, err := spool.Open(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	if err := sp.Reset(offset); err != nil {
		t.Fatal(err)
	}
	s.spool = sp
	return sp
}

// TestSpoolFull: a stream that would pass --spool-max ends the run (a
// fatal error that names the flag, not a reconnect) and stores nothing of
// what did not fit.
func TestSpoolFull(t *testing.T) {
	s := testReplica(t, Config{})
	sp := spoolAt(t, s, 1000, spool.Options{MaxBytes: 100})
	if err := s.spoolAppend(bytes.Repeat([]byte("a"), 60), 1060); err != nil {
		t.Fatal(err)
	}
	err := s.spoolAppend(bytes.Repeat([]byte("b"), 50), 1110)
	if !errors.Is(err, spool.ErrFull) || !isFatal(err) || !giveUp(err, false) {
		t.Fatalf("append past the bound: %v; want a fatal ErrFull that ends the run", err)
	}
	if !strings.Contains(err.Error(), "--spool-max") {
		t.Errorf("%q does not say what to raise", err)
	}
	if sp.End() != 1060 {
		t.Errorf("spool ends at %d after a refused append, want 1060", sp.End())
	}
}

// TestSpoolFullTrimsApplied: before the spool counts as full, what the
// target holds already is trimmed (the applier trims only once a second),
// so a target that keeps up never fills it.
func TestSpoolFullTrimsApplied(t *testing.T) {
	s := testReplica(t, Config{})
	sp := spoolAt(t, s, 1000, spool.Options{MaxBytes: 100, SegmentBytes: 40})
	a := &applier{s: s}
	s.applier.Store(a)
	for _, end := range []int64{1040, 1080} { // two segments
		if err := s.spoolAppend(bytes.Repeat([]byte("a"), 40), end); err != nil {
			t.Fatal(err)
		}
	}
	a.applied.Store(1040) // the target holds the first segment
	if err := s.spoolAppend(bytes.Repeat([]byte("b"), 40), 1120); err != nil {
		t.Fatalf("append with the first segment applied: %v", err)
	}
	if sp.Start() != 1040 || sp.End() != 1120 {
		t.Errorf("spool holds %d-%d, want 1040-1120", sp.Start(), sp.End())
	}
	// What the target lacks is never trimmed: now the spool is full.
	if err := s.spoolAppend(bytes.Repeat([]byte("c"), 40), 1160); !errors.Is(err, spool.ErrFull) {
		t.Fatalf("append with 80 unapplied bytes of 100: %v, want ErrFull", err)
	}
	if sp.Start() != 1040 {
		t.Errorf("spool starts at %d, want 1040: unapplied bytes were trimmed", sp.Start())
	}
}

// TestSpoolAppendOffsets: the spool's end must be the stream's offset
// after each append; a gap is fatal.
func TestSpoolAppendOffsets(t *testing.T) {
	s := testReplica(t, Config{})
	spoolAt(t, s, 1000, spool.Options{})
	if err := s.spoolAppend(nil, 5000); err != nil {
		t.Fatalf("an empty append: %v", err)
	}
	if err := s.spoolAppend([]byte("abc"), 1003); err != nil {
		t.Fatal(err)
	}
	if err := s.spoolAppend([]byte("def"), 1007); !isFatal(err) {
		t.Fatalf("append ending at 1006 for a stream at 1007: %v, want a fatal error", err)
	}
}
