package replicate

import (
	"testing"

	"github.com/replicant/replicant/spool"
)

// TestStateRoundTrip: the saved state reads back as written, and keeps
// the three newest replication ids, newest first.
func TestStateRoundTrip(t *testing.T) {
	dir := t.TempDir()
	if st, err := loadState(dir); err != nil || st.SnapshotDone || len(st.ReplIDs) != 0 {
		t.Fatalf("no file: %+v, %v; want the zero state", st, err)
	}
	st := savedState{SnapshotDone: true}.withReplID("a").withReplID("b").withReplID("c").withReplID("d").withReplID("c")
	if err := st.save(dir); err != nil {
		t.Fatal(err)
	}
	got, err := loadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !got.SnapshotDone || len(got.ReplIDs) != 3 || got.ReplIDs[0] != "c" || got.ReplIDs[1] != "d" || got.ReplIDs[2] != "b" {
		t.Fatalf("loaded %+v, want snapshot done, ids [c d b]", got)
	}
	if !got.knows("b") || got.knows("a") {
		t.Error("knows: want b known, a forgotten")
	}
}

// TestNextResumePoint: after a lost link the sync asks for a partial
// resync from the end of the spool only when the saved state says the
// snapshot of a known stream is on the target and nothing asked for a
// full resync.
func TestNextResumePoint(t *testing.T) {
	cases := []struct {
		name     string
		state    savedState
		needFull bool
		want     resumePoint
	}{
		{"fresh", savedState{}, false, resumePoint{}},
		{"snapshot not done", savedState{}.withReplID("r1"), false, resumePoint{}},
		{"snapshot done", savedState{SnapshotDone: true}.withReplID("r1"), false, resumePoint{ReplID: "r1", Offset: 1005}},
		{"newest id", savedState{SnapshotDone: true}.withReplID("r1").withReplID("r2"), false, resumePoint{ReplID: "r2", Offset: 1005}},
		{"target lost its checkpoint", savedState{SnapshotDone: true}.withReplID("r1"), true, resumePoint{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := testReplica(t, Config{})
			sp, err := spool.Open(t.TempDir(), spool.Options{MaxBytes: 1 << 20})
			if err != nil {
				t.Fatal(err)
			}
			defer sp.Close()
			if err := sp.Reset(1000); err != nil {
				t.Fatal(err)
			}
			if err := sp.Append([]byte("hello")); err != nil {
				t.Fatal(err)
			}
			s.spool = sp
			s.setState(c.state)
			s.needFull.Store(c.needFull)
			if got := s.nextResumePoint(); got != c.want {
				t.Errorf("nextResumePoint() = %+v, want %+v", got, c.want)
			}
		})
	}
}
