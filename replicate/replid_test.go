package replicate

import (
	"sync"
	"testing"
)

// TestKnowsReplIDWhileResuming: the applier asks whether it knows a
// replication id while a partial resync on the run goroutine records a new
// one. Run under -race it shows any read of the saved state that is not
// synchronised; it must also answer right for old and new ids.
func TestKnowsReplIDWhileResuming(t *testing.T) {
	s := testReplica(t, Config{})
	s.setState(savedState{ReplIDs: []string{"old"}})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // the run goroutine: partial resyncs with new ids
		defer wg.Done()
		for i := range 2000 {
			s.setState(savedState{ReplIDs: []string{"new", "old"}, SnapshotDone: i%2 == 0})
		}
	}()
	go func() { // the applier: checkpoints read back from the target
		defer wg.Done()
		for range 2000 {
			if !s.knowsReplID("old") {
				t.Error("an id of the saved state is unknown")
				return
			}
			if s.knowsReplID("other") {
				t.Error("an id never seen is known")
				return
			}
		}
	}()
	wg.Wait()
	if !s.knowsReplID("new") {
		t.Fatal("the newest id is unknown")
	}
}
