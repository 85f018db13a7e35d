package replicate

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"

	"github.com/rs/zerolog"

	"github.com/replicant/replicant/forwarder"
	"github.com/replicant/replicant/spool"
)

// resumeState is a run's state dir and the resume decision taken from it:
// the dir (Config.StateDir, or a temporary one), the saved state in its
// state.json, the replication ids that state names (published for the
// applier goroutine), and whether a full resync is needed; from these it
// decides where the source's stream is asked for, at a start and after a
// lost link. The spool lives in the dir too: open opens it, and the
// replica holds it (the stream is written to it and applied from it).
// Its fields are the run goroutine's; replIDs and needFull are atomic.
type resumeState struct {
	log      zerolog.Logger
	dir      string
	temp     bool                     // dir was made for this run: removed at exit
	saved    savedState               // as in dir's state.json
	replIDs  atomic.Pointer[[]string] // saved's ids, newest first, for other goroutines
	needFull atomic.Bool              // the target lost its checkpoint, or the spool was damaged
}

// resumePoint says how to ask the source for its stream: a partial resync
// from Offset of ReplID, or a full resync when ReplID is "".
type resumePoint struct {
	ReplID string
	Offset int64
}

// open opens dir (a temporary one when it is "") and the spool in it,
// spoolMax bytes at most.
func (r *resumeState) open(dir string, spoolMax int64) (*spool.Spool, error) {
	r.dir = dir
	if r.dir == "" {
		dir, err := os.MkdirTemp("", "replicant-state-")
		if err != nil {
			return nil, err
		}
		r.dir, r.temp = dir, true
	}
	if err := os.MkdirAll(r.dir, 0o700); err != nil { // it holds the data
		return nil, fmt.Errorf("--state-dir: %w", err)
	}
	st, err := loadState(r.dir)
	if err != nil {
		return nil, err
	}
	r.set(st)
	spoolDir, opts := filepath.Join(r.dir, "spool"), spool.Options{MaxBytes: spoolMax}
	sp, err := spool.Open(spoolDir, opts)
	if errors.Is(err, spool.ErrCorrupt) {
		// Damaged, or written by an older replicant: what it holds cannot
		// be trusted, so it goes, and a full resync replaces it.
		r.log.Error().Err(err).Msg("spool: damaged or of an older format; discarding it, a full resync follows")
		r.needFull.Store(true)
		if err := os.RemoveAll(spoolDir); err != nil {
			return nil, fmt.Errorf("spool: %w", err)
		}
		sp, err = spool.Open(spoolDir, opts)
	}
	if err != nil {
		return nil, err
	}
	return sp, nil
}

// close removes a temporary dir, once its spool is closed.
func (r *resumeState) close() {
	if r.temp {
		os.RemoveAll(r.dir)
	}
}

// set takes st as the saved state, without writing it.
func (r *resumeState) set(st savedState) {
	r.saved = st
	ids := append([]string(nil), st.ReplIDs...)
	r.replIDs.Store(&ids)
}

// save takes st as the saved state and writes it to the dir.
func (r *resumeState) save(st savedState) error {
	r.set(st)
	return st.save(r.dir)
}

// replID is the newest replication id of the saved state, "" if none. Any
// goroutine may ask.
func (r *resumeState) replID() string {
	if ids := r.replIDs.Load(); ids != nil && len(*ids) > 0 {
		return (*ids)[0]
	}
	return ""
}

// knows reports an id of the saved state. The applier asks it while a
// partial resync on the run goroutine records a new id: it reads the copy
// of the ids set publishes, never r.saved.
func (r *resumeState) knows(id string) bool {
	ids := r.replIDs.Load()
	return ids != nil && slices.Contains(*ids, id)
}

// startAt decides where a run starts from the target's checkpoint cp (ok:
// it names an offset) and the spool sp. When the spool cannot replay from
// cp, it restarts empty at cp's offset and the state names cp's id. The
// zero point is a full resync.
func (r *resumeState) startAt(cp forwarder.Checkpoint, ok bool, sp *spool.Spool) (resumePoint, error) {
	p, reset := resumeAt(r.saved, cp, ok && !r.needFull.Load(), sp.Start(), sp.End())
	if p.ReplID == "" {
		return p, nil
	}
	if reset {
		if err := sp.Reset(cp.Offset); err != nil {
			return resumePoint{}, err
		}
		if err := r.save(savedState{SnapshotDone: true}.withReplID(cp.ReplID)); err != nil {
			return resumePoint{}, err
		}
	}
	r.log.Info().Str("replid", cp.ReplID).Int64("checkpoint", cp.Offset).Int64("spooled_to", sp.End()).
		Msg("target holds a checkpoint: asking the source to continue from it")
	return p, nil
}

// resumeAt decides where a run starts, from the target's checkpoint cp
// (valid: it names an offset, and nothing asked for a full resync), the
// saved state and the spool, which holds start to end. The zero point is
// a full resync. When the spool cannot replay from cp, reset is true: the
// spool is to restart empty at cp's offset, to be asked of the source's
// backlog, with cp's id as the state's.
func resumeAt(st savedState, cp forwarder.Checkpoint, valid bool, start, end int64) (p resumePoint, reset bool) {
	switch {
	case !valid:
		return resumePoint{}, false
	case !st.covers(cp, start, end):
		return resumePoint{ReplID: cp.ReplID, Offset: cp.Offset}, true
	}
	return resumePoint{ReplID: st.ReplIDs[0], Offset: end}, false
}

// next is where to resume after a lost link, with the spool ending at
// spoolEnd.
func (r *resumeState) next(spoolEnd int64) resumePoint {
	if r.needFull.Load() || !r.saved.SnapshotDone || r.replID() == "" {
		return resumePoint{}
	}
	return resumePoint{ReplID: r.replID(), Offset: spoolEnd}
}

// fullResyncNeeded records that the target lost its checkpoint, or that
// the spool is damaged: the next resume point is a full resync.
func (r *resumeState) fullResyncNeeded(cause error) {
	if errors.Is(cause, spool.ErrCorrupt) {
		r.log.Error().Err(cause).Msg("spool: damaged; a full resync is needed")
	} else {
		r.log.Warn().Err(cause).Msg("target: a full resync is needed")
	}
	r.needFull.Store(true)
}

// continued records a partial resync of replID that the source began at
// offset at, the spool ending at spoolEnd (savedState.continued).
func (r *resumeState) continued(replID string, at, spoolEnd int64) error {
	st, err := r.saved.continued(replID, at, spoolEnd)
	if err != nil {
		return err
	}
	if err := r.save(st); err != nil {
		return err
	}
	r.needFull.Store(false)
	return nil
}

// snapshotStarted records a full resync of replID whose snapshot is not
// on the target yet.
func (r *resumeState) snapshotStarted(replID string) error {
	return r.save(savedState{}.withReplID(replID))
}

// snapshotDone records that the snapshot of replID is on the target, with
// its checkpoint.
func (r *resumeState) snapshotDone(replID string) error {
	r.needFull.Store(false)
	if err := r.save(r.saved.withReplID(replID)); err != nil {
		return err
	}
	st := r.saved
	st.SnapshotDone = true
	return r.save(st)
}

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
