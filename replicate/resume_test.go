package replicate

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/replicant/replicant/forwarder"
	"github.com/replicant/replicant/spool"
)

// TestResumeAt: where a run starts, from the target's checkpoint, the
// saved state and what the spool holds. The spool here holds 1000 to 1500
// of the stream "r2" (before it, "r1").
func TestResumeAt(t *testing.T) {
	done := savedState{SnapshotDone: true}.withReplID("r1").withReplID("r2")
	cases := []struct {
		name  string
		st    savedState
		cp    forwarder.Checkpoint
		valid bool
		want  resumePoint
		reset bool
	}{
		{"no checkpoint: full resync", done, forwarder.Checkpoint{}, false, resumePoint{}, false},
		{"full resync asked for, checkpoint or not", done, forwarder.Checkpoint{ReplID: "r2", Offset: 1200}, false, resumePoint{}, false},
		{"in the spool: ask from its end", done, forwarder.Checkpoint{ReplID: "r2", Offset: 1200}, true, resumePoint{"r2", 1500}, false},
		{"an older id of the spool's stream", done, forwarder.Checkpoint{ReplID: "r1", Offset: 1000}, true, resumePoint{"r2", 1500}, false},
		{"at the spool's end", done, forwarder.Checkpoint{ReplID: "r2", Offset: 1500}, true, resumePoint{"r2", 1500}, false},
		{"before the spool", done, forwarder.Checkpoint{ReplID: "r2", Offset: 999}, true, resumePoint{"r2", 999}, true},
		{"past the spool", done, forwarder.Checkpoint{ReplID: "r2", Offset: 1501}, true, resumePoint{"r2", 1501}, true},
		{"another stream", done, forwarder.Checkpoint{ReplID: "x", Offset: 1200}, true, resumePoint{"x", 1200}, true},
		{"no saved state", savedState{}, forwarder.Checkpoint{ReplID: "r2", Offset: 1200}, true, resumePoint{"r2", 1200}, true},
		{"snapshot not done", savedState{}.withReplID("r2"), forwarder.Checkpoint{ReplID: "r2", Offset: 1200}, true, resumePoint{"r2", 1200}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, reset := resumeAt(c.st, c.cp, c.valid, 1000, 1500)
			if got != c.want || reset != c.reset {
				t.Errorf("resumeAt = %+v, reset %v; want %+v, reset %v", got, reset, c.want, c.reset)
			}
		})
	}
}

// TestContinued: after +CONTINUE the saved state names the source's id
// first and keeps the older ones (+CONTINUE <newid> after a failover: the
// target's checkpoint still names the old id); a source that continues
// anywhere but at the spool's end is an error, the state unchanged.
func TestContinued(t *testing.T) {
	st := savedState{SnapshotDone: true}.withReplID("old")
	same, err := st.continued("old", 500, 500)
	if err != nil || !same.SnapshotDone || len(same.ReplIDs) != 1 || same.ReplIDs[0] != "old" {
		t.Fatalf("+CONTINUE: %+v, %v; want the state as it was", same, err)
	}
	moved, err := st.continued("new", 500, 500)
	if err != nil || !moved.SnapshotDone || len(moved.ReplIDs) != 2 || moved.ReplIDs[0] != "new" || !moved.knows("old") {
		t.Fatalf("+CONTINUE new: %+v, %v; want ids [new old], snapshot done", moved, err)
	}
	if !moved.covers(forwarder.Checkpoint{ReplID: "old", Offset: 400}, 300, 500) {
		t.Error("the target's checkpoint of the old id is no longer covered after +CONTINUE new")
	}
	bad, err := st.continued("new", 501, 500)
	if err == nil || len(bad.ReplIDs) != 1 || bad.ReplIDs[0] != "old" {
		t.Fatalf("continued past the spool: %+v, %v; want an error, the state unchanged", bad, err)
	}
}

// TestGiveUp: which failures of a session end the run and which dial the
// source again.
func TestGiveUp(t *testing.T) {
	full := fatalError{fmt.Errorf("%w: the target is too far behind", spool.ErrFull)}
	cases := []struct {
		name        string
		err         error
		neverLinked bool
		want        bool
	}{
		{"link lost", io.ErrUnexpectedEOF, false, false},
		{"corrupt snapshot", corruptSnapshotError{error: errors.New("bad rdb"), attempt: 1}, false, false},
		{"first session, source never answered", errors.New("connection refused"), true, true},
		{"spool full", full, false, true},
		{"spool full, not marked fatal", spool.ErrFull, false, true},
		{"fatal", fatalError{errors.New("spool ends at 1 but the stream is at 2")}, false, true},
		{"fatal, wrapped", fmt.Errorf("session: %w", fatalError{io.EOF}), false, true},
	}
	for _, c := range cases {
		if got := giveUp(c.err, c.neverLinked); got != c.want {
			t.Errorf("%s: giveUp = %v, want %v", c.name, got, c.want)
		}
	}
}
