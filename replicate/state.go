package replicate

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/replicant/replicant/forwarder"
)

// savedState is what replicant keeps in --state-dir between runs, beside
// the spool. The checkpoint of what the target holds lives on the target
// itself (the checkpoint key); this says which source stream the spool
// belongs to.
type savedState struct {
	ReplIDs      []string `json:"replids"`       // the source's replication ids, newest first
	SnapshotDone bool     `json:"snapshot_done"` // the snapshot of ReplIDs[0] is on the target
}

const stateFile = "state.json"

func loadState(dir string) (savedState, error) {
	var st savedState
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if os.IsNotExist(err) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("state: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("state %s: %w", filepath.Join(dir, stateFile), err)
	}
	return st, nil
}

// save writes the state atomically (a new file renamed over the old).
func (st savedState) save(dir string) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, stateFile+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600) // it names the source's stream
	if err != nil {
		return fmt.Errorf("state: %w", err)
	}
	if err := f.Chmod(0o600); err != nil { // a file left by an older version
		f.Close()
		return fmt.Errorf("state: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("state: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("state: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("state: %w", err)
	}
	return os.Rename(tmp, filepath.Join(dir, stateFile))
}

// withReplID puts id first, keeping the three newest ids.
func (st savedState) withReplID(id string) savedState {
	ids := []string{id}
	for _, old := range st.ReplIDs {
		if old != id && len(ids) < 3 {
			ids = append(ids, old)
		}
	}
	st.ReplIDs = ids
	return st
}

func (st savedState) knows(id string) bool { return slices.Contains(st.ReplIDs, id) }

// covers reports whether the spool, which holds the stream of st from
// start to end, can replay the stream from the target's checkpoint cp on:
// the snapshot of st's stream is on the target, cp names one of its ids,
// and cp's offset is in the spool.
func (st savedState) covers(cp forwarder.Checkpoint, start, end int64) bool {
	return st.SnapshotDone && st.knows(cp.ReplID) && cp.Offset >= start && cp.Offset <= end
}

// continued is the state after the source accepted a partial resync of
// replID at offset at: that id first, the older ones kept (after a
// failover, +CONTINUE names a new id, and the target's checkpoint still
// names the old one). The source must go on where the spool ends.
func (st savedState) continued(replID string, at, spoolEnd int64) (savedState, error) {
	if at != spoolEnd {
		return st, fmt.Errorf("source continued at offset %d but the spool ends at %d", at, spoolEnd)
	}
	return st.withReplID(replID), nil
}
