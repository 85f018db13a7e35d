package replicate

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
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
