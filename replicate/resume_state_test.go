package replicate

import (
	"sync"
	"testing"
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
// resync from the end of the spool (here 1005) only when the saved state
// says the snapshot of a known stream is on the target and nothing asked
// for a full resync.
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
			var r resumeState
			r.set(c.state)
			r.needFull.Store(c.needFull)
			if got := r.next(1005); got != c.want {
				t.Errorf("next(1005) = %+v, want %+v", got, c.want)
			}
		})
	}
}

// TestKnowsReplIDWhileResuming: the applier asks whether it knows a
// replication id while a partial resync on the run goroutine records a new
// one. Run under -race it shows any read of the saved state that is not
// synchronised; it must also answer right for old and new ids.
func TestKnowsReplIDWhileResuming(t *testing.T) {
	var r resumeState
	r.set(savedState{ReplIDs: []string{"old"}})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // the run goroutine: partial resyncs with new ids
		defer wg.Done()
		for i := range 2000 {
			r.set(savedState{ReplIDs: []string{"new", "old"}, SnapshotDone: i%2 == 0})
		}
	}()
	go func() { // the applier: checkpoints read back from the target
		defer wg.Done()
		for range 2000 {
			if !r.knows("old") {
				t.Error("an id of the saved state is unknown")
				return
			}
			if r.knows("other") {
				t.Error("an id never seen is known")
				return
			}
		}
	}()
	wg.Wait()
	if !r.knows("new") || r.replID() != "new" {
		t.Fatal("the newest id is unknown")
	}
}
