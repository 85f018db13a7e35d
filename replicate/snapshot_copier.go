package replicate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/replicant/replicant/forwarder"
	"github.com/replicant/replicant/psync"
	"github.com/replicant/replicant/rdbstream"
)

// snapshotCopier copies the source's snapshot to the target in a full
// sync: it marks the target (the snapshot marker; what an earlier copy
// left goes), decodes the RDB as it arrives and writes each key through a
// pipelined snapshot writer as the plan read from the target says
// (snapshot_plan.go), and writes the checkpoint at the snapshot's offset.
// It works for a replica s: its config, filters, target and status. Its
// fields are the run goroutine's, but for the counts and skipped, which
// other goroutines read.
type snapshotCopier struct {
	s        *replica
	fwd      forwarder.SnapshotWriter // the snapshot writer, during a copy
	plan     *applyPlan               // how snapshot keys are applied, read before each copy
	dec      *rdbstream.Decoder       // the RDB of the copy
	rewrites rewriteCounts            // snapshot keys rewritten or skipped as unrepresentable
	skipped  skippedKeys              // snapshot keys skipped: their live writes are held back (applier.go)
	restored atomic.Int64             // keys restored by finished snapshots

	// corrupt counts the snapshots in a row whose bytes arrived but did
	// not decode (failed).
	corrupt int
}

// run copies the snapshot that c streams: the marker goes on the target
// (and, if replicant wrote to it before, what the earlier copy holds goes,
// so that keys deleted on the source meanwhile do not linger), the keys
// are restored, and a checkpoint at the snapshot's offset is written.
func (sc *snapshotCopier) run(ctx context.Context, c *psync.Conn) error {
	t, err := sc.s.target.dialStream(ctx)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	defer t.Close()
	if err := sc.mark(ctx, t); err != nil {
		return err
	}
	if err := sc.restore(ctx, c); err != nil {
		return err
	}
	t.Begin(0)
	if err := t.Commit(forwarder.Checkpoint{ReplID: c.ReplID(), Offset: c.StartOffset()}, ""); err != nil {
		return err
	}
	return t.Drain(ctx)
}

// snapshotMarker is the checkpoint key's value while a snapshot is being
// restored: no checkpoint, so a crash now leads to a new full sync.
const snapshotMarker = "snapshot-in-progress"

// mark writes the marker. When replicant has written to this target
// before, what the earlier copy holds goes first: by a FLUSHALL when this
// sync owns the whole target, else by a sweep of the keys it copies
// (sweep.go). A target that lost replicant's checkpoint meanwhile is
// flushed only when it holds nothing else, or with --overwrite.
func (sc *snapshotCopier) mark(ctx context.Context, t forwarder.StreamWriter) error {
	s := sc.s
	_, found, _ := t.Checkpoint()
	earlier := found || s.everSynced
	flush := earlier && s.ownsWholeTarget()
	if flush && !found {
		if err := s.interlock.checkFlush(ctx); err != nil {
			return err
		}
	}
	t.Begin(0)
	if flush {
		s.log.Warn().Msg("full resync over an earlier copy: flushing the target so that keys deleted on the source do not linger")
		t.Add([][]byte{[]byte("FLUSHALL")}, 0)
	}
	if err := t.Commit(forwarder.Checkpoint{}, snapshotMarker); err != nil {
		return err
	}
	if err := t.Drain(ctx); err != nil {
		return err
	}
	if err := s.interlock.afterMarker(ctx, flush); err != nil {
		return err
	}
	if earlier && !flush {
		return s.sweepTarget(ctx)
	}
	return nil
}

// restore restores the snapshot through a pipelined writer and waits
// until the target confirmed every key.
func (sc *snapshotCopier) restore(ctx context.Context, c *psync.Conn) error {
	s := sc.s
	fwd, err := s.target.dialSnapshot(ctx)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	defer fwd.Close()
	sc.fwd = fwd
	sc.plan = sc.planApply(ctx)
	s.status.fwd.Store(&snapshotBox{fwd})
	defer s.status.fwd.Store(nil)
	s.status.setPhase(phaseSnapshot)
	defer sc.showProgress(ctx)()
	if err := sc.copyKeys(c); err != nil {
		return err
	}
	if err := fwd.Drain(ctx); err != nil {
		return err
	}
	st := fwd.Stats()
	sc.restored.Add(st.Restored)
	s.status.restoreErrors.Add(st.RestoreErrors)
	return nil
}

// copyKeys restores every key of the RDB that c streams on the target.
func (sc *snapshotCopier) copyKeys(c *psync.Conn) error {
	s := sc.s
	s.status.setPhase(phaseSnapshot)
	rdb, err := c.Snapshot()
	if err != nil {
		return err
	}
	// A key counts as expired only once its expiry plus the margin has
	// passed: until then the target keeps it too, so that writes the source
	// made to it before it expired there still find it (see expiry.go).
	margin := s.opts.ExpireMargin
	sc.dec = rdbstream.NewDecoder(rdb, rdbstream.Options{Now: func() time.Time { return time.Now().Add(-margin) },
		BigCount: sc.bigCount(), BigString: sc.bigString()})
	start := time.Now()
	var keys int64
	for {
		e, err := sc.dec.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return sc.failed(fmt.Errorf("snapshot: %w", err))
		}
		if err := sc.restoreEntry(e); err != nil {
			return sc.failed(err)
		}
		keys++
	}
	if err := sc.checkPayloadEnd(c); err != nil {
		return sc.failed(err)
	}
	sc.corrupt = 0
	for _, body := range sc.dec.Scripts() { // the "lua" fields of 4.0-6.2 sources
		if err := sc.fwd.LoadScript([]byte(body)); err != nil {
			return err
		}
	}
	if err := sc.fwd.Flush(); err != nil {
		return err
	}
	s.ctl.expired.Add(sc.dec.Expired())
	s.log.Info().Int64("entries", keys).Int64("expired_skipped", sc.dec.Expired()).
		Int64("rewritten", sc.rewrites.rewritten.Load()).Int64("streamed_big", sc.rewrites.big.Load()).Int64("unrepresentable_skipped", sc.rewrites.unrepresentable.Load()).Int64("field_ttls_dropped", sc.rewrites.fieldTTLsDropped.Load()).
		Int64("rdb_bytes", sc.dec.Offset()).Int("rdb_version", sc.dec.Version()).
		Str("took", time.Since(start).Round(time.Millisecond).String()).Msg("snapshot received")
	return nil
}

// restoreEntry writes one snapshot entry to the target: a key (filtered,
// renamed, then as MSET, RESTORE or rewritten commands) or a function.
func (sc *snapshotCopier) restoreEntry(e *rdbstream.Entry) error {
	s := sc.s
	switch e.Kind {
	case rdbstream.KindKey:
		if !s.filters.keepSnapshotKey(e.DB, e.Key) {
			return nil
		}
		e.Key = s.filters.targetKey(e.DB, e.Key)
		e.DB = s.filters.mapDB(e.DB)
		if e.Big {
			return sc.rewriteBig(e, s.expiry.Snapshot(e.ExpireAt))
		}
		if s.opts.SnapshotCommands == SnapshotAuto && sc.plan.mode != ApplyRestore && plainString(e) {
			return sc.setString(e)
		}
		if sc.plan.rewrites(sc.dec.Version(), len(e.Payload)) {
			return sc.rewriteKey(e, s.expiry.Snapshot(e.ExpireAt))
		}
		return sc.fwd.Restore(e.DB, e.Key, s.expiry.Snapshot(e.ExpireAt), e.Payload)
	case rdbstream.KindFunction:
		return sc.fwd.LoadFunction(e.Code)
	}
	return nil
}

// maxSetString bounds the values sent as plain strings: a larger one is
// sent compressed, as RESTORE, rather than decoded in memory here.
const maxSetString = 1 << 20

// plainString reports whether e is best sent as its plain value (SET, in
// MSET batches): a string key without expiry of at most maxSetString
// bytes. The target applies an MSET of small strings for about half the
// cost of as many RESTOREs, and a large LZF-compressed string for less
// than its RESTORE, whose decompression is slow. Everything else goes as
// RESTORE: a string with an expiry (SET ... PXAT saves the target little
// on small values, and needs Redis 6.2) and collections, which RESTORE
// loads in their compact encoding for less than commands that add their
// elements one by one.
func plainString(e *rdbstream.Entry) bool {
	if e.Type != rdbTypeString || e.ExpireAt != 0 {
		return false
	}
	n, err := e.StringLen()
	return err == nil && n <= maxSetString
}

// rdbTypeString is the RDB value type of a string.
const rdbTypeString = 0

// setString sends a string key as its plain value. A value that does not
// decode goes as RESTORE, for the target to judge.
func (sc *snapshotCopier) setString(e *rdbstream.Entry) error {
	v, err := e.StringValue()
	if err != nil {
		return sc.fwd.Restore(e.DB, e.Key, 0, e.Payload)
	}
	return sc.fwd.SetString(e.DB, e.Key, v)
}

// maxCorruptSnapshots bounds the full syncs tried in a row when the
// snapshot's bytes arrive but do not decode. One damaged on its way would
// come right on the next attempt; a source that writes a corrupt RDB
// writes it every time, and each attempt may flush the target.
const maxCorruptSnapshots = 3

// failed decides what a failed snapshot costs. A lost link (the payload
// ended before its declared length or end marker: psync.ErrLinkLost) or a
// target error is retried as any lost link is. A corrupt RDB is retried
// until maxCorruptSnapshots arrived corrupt in a row, and an RDB this
// build cannot read (rdbstream.ErrUnsupported) is not retried: both stop
// the sync, naming the offset.
func (sc *snapshotCopier) failed(err error) error {
	var ce *rdbstream.CorruptError
	if !errors.As(err, &ce) || errors.Is(err, psync.ErrLinkLost) {
		return err
	}
	if errors.Is(ce, rdbstream.ErrUnsupported) {
		return fatalError{err}
	}
	sc.corrupt++
	if sc.corrupt >= maxCorruptSnapshots {
		return fatalError{fmt.Errorf("%w (corrupt in %d snapshots in a row: giving up)", err, sc.corrupt)}
	}
	return corruptSnapshotError{err, sc.corrupt}
}

// corruptSnapshotError is a corrupt snapshot that will be asked for again.
type corruptSnapshotError struct {
	error
	attempt int
}

func (e corruptSnapshotError) Unwrap() error { return e.error }

// checkPayloadEnd checks, once the RDB c streams is decoded to its end,
// that it filled the payload: a length header longer than the RDB means
// the payload is not what the master meant to send (and the rest might
// never come).
func (sc *snapshotCopier) checkPayloadEnd(c *psync.Conn) error {
	size, end := c.SnapshotSize(), sc.dec.Offset()
	if size < 0 || size == end {
		return nil
	}
	return fmt.Errorf("snapshot: %w", &rdbstream.CorruptError{Offset: end,
		Err: fmt.Errorf("the RDB ends here but the payload header says %d bytes", size)})
}

// showProgress hands the snapshot's progress to Config.OnSnapshot until the
// returned function is called. While it shows it, the periodic status lines
// stand aside; without it they report the progress.
func (sc *snapshotCopier) showProgress(ctx context.Context) (stop func()) {
	s := sc.s
	if s.opts.OnSnapshot == nil {
		return func() {}
	}
	done := s.opts.OnSnapshot(ctx, sc.progress)
	if done == nil {
		return func() {}
	}
	s.status.barShown.Store(true)
	return func() {
		done()
		s.status.barShown.Store(false)
	}
}

// progress reads where the snapshot stands.
func (sc *snapshotCopier) progress() (f SnapshotProgress) {
	st := sc.s.status
	f.Total = -1
	if src := st.src.Load(); src != nil && src.FullResync() {
		f.Read, f.Total = src.SnapshotRead(), src.SnapshotSize()
	}
	if fwd := st.fwd.Load(); fwd != nil {
		f.Keys = fwd.Stats().Restored
	}
	return f
}
