package replicate

import (
	"errors"
	"fmt"

	"github.com/replicant/replicant/psync"
	"github.com/replicant/replicant/rdbstream"
)

// maxCorruptSnapshots bounds the full syncs tried in a row when the
// snapshot's bytes arrive but do not decode. One damaged on its way would
// come right on the next attempt; a source that writes a corrupt RDB
// writes it every time, and each attempt may flush the target.
const maxCorruptSnapshots = 3

// snapshotFailed decides what a failed snapshot costs. A lost link (the
// payload ended before its declared length or end marker: psync.
// ErrLinkLost) or a target error is retried as any lost link is. A corrupt
// RDB is retried until maxCorruptSnapshots arrived corrupt in a row, and
// an RDB this build cannot read (rdbstream.ErrUnsupported) is not retried:
// both stop the sync, naming the offset.
func (s *replica) snapshotFailed(err error) error {
	var ce *rdbstream.CorruptError
	if !errors.As(err, &ce) || errors.Is(err, psync.ErrLinkLost) {
		return err
	}
	if errors.Is(ce, rdbstream.ErrUnsupported) {
		return fatalError{err}
	}
	s.corruptSnapshots++
	if s.corruptSnapshots >= maxCorruptSnapshots {
		return fatalError{fmt.Errorf("%w (corrupt in %d snapshots in a row: giving up)", err, s.corruptSnapshots)}
	}
	return corruptSnapshotError{err, s.corruptSnapshots}
}

// corruptSnapshotError is a corrupt snapshot that will be asked for again.
type corruptSnapshotError struct {
	error
	attempt int
}

func (e corruptSnapshotError) Unwrap() error { return e.error }

// checkPayloadEnd checks, once the RDB is decoded to its end, that it
// filled the payload: a length header longer than the RDB means the
// payload is not what the master meant to send (and the rest might never
// come).
func (s *replica) checkPayloadEnd() error {
	size, end := s.src.SnapshotSize(), s.dec.Offset()
	if size < 0 || size == end {
		return nil
	}
	return fmt.Errorf("snapshot: %w", &rdbstream.CorruptError{Offset: end,
		Err: fmt.Errorf("the RDB ends here but the payload header says %d bytes", size)})
}
