package replicate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/replicant/replicant/forwarder"
	"github.com/replicant/replicant/psync"
	"github.com/replicant/replicant/spool"
)

// resumePoint says how to ask the source for its stream: a partial resync
// from Offset of ReplID, or a full resync when ReplID is "".
type resumePoint struct {
	ReplID string
	Offset int64
}

// run copies and follows until ctx ends (a clean stop: nil) or a fault that
// retrying cannot mend. Each turn of its loop is one source link: a link
// lost while streaming is dialled again and resumed with a partial resync.
func (s *replica) run(ctx context.Context) error {
	s.log.Info().Str("source", s.opts.Source.name()).Str("target", s.opts.Target.name()).Msg("replicant starting")
	if err := s.openState(); err != nil {
		return err
	}
	defer s.closeState()
	ctx, release, err := s.interlocks(ctx)
	if err != nil {
		return s.stopped(ctx, s.target.explainTargetEOF(ctx, err))
	}
	defer release()
	resume, err := s.startingPoint(ctx)
	if err != nil {
		return s.stopped(ctx, s.target.explainTargetEOF(ctx, err))
	}
	statusCtx, stopStatus := context.WithCancel(ctx)
	defer stopStatus()
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		s.status.loop(statusCtx, s, s.opts.StatusInterval)
	}()
	checkSourceLimits(ctx, s.sourceClientOptions(), s.log.With().Str("side", "source").Logger())
	wait := 500 * time.Millisecond
	for first := true; ; first = false {
		started := time.Now()
		err := s.session(ctx, resume, first)
		if ctx.Err() != nil {
			return s.finish(ctx)
		}
		if giveUp(err, first && s.src == nil) {
			return err
		}
		resume = s.nextResumePoint()
		if time.Since(started) > time.Minute {
			wait = 500 * time.Millisecond // the link was up a while: reconnect at once
		}
		if ce := (corruptSnapshotError{}); errors.As(err, &ce) {
			s.log.Error().Err(err).Int("attempt", ce.attempt).Int("max_attempts", maxCorruptSnapshots).
				Str("retry_in", wait.String()).Msg("corrupt snapshot; asking the source for a new one")
		} else {
			s.log.Warn().Err(err).Str("resume", fmt.Sprintf("%s %d", resume.ReplID, resume.Offset)).
				Str("retry_in", wait.String()).Msg("source link lost; reconnecting")
		}
		select {
		case <-ctx.Done():
			return s.finish(ctx)
		case <-time.After(wait):
		}
		wait = min(2*wait, s.opts.RetryMax)
	}
}

// fatalError marks a failure that retrying cannot mend.
type fatalError struct{ error }

func (e fatalError) Unwrap() error { return e.error }

func isFatal(err error) bool {
	var fe fatalError
	return errors.As(err, &fe)
}

// giveUp reports whether run ends on the error of a session instead of
// dialling the source again: a fault that retrying cannot mend (a full
// spool among them), or any failure of the first session before the source
// answered, which the operator wants to see at once.
func giveUp(err error, neverLinked bool) bool {
	return neverLinked || errors.Is(err, spool.ErrFull) || isFatal(err)
}

// stopped turns an error caused by a stop request into a clean stop.
func (s *replica) stopped(ctx context.Context, err error) error {
	if lost := leaseLost(ctx); lost != nil {
		return lost
	}
	if ctx.Err() != nil {
		s.log.Info().Str("phase", s.status.phase()).Msg("stopped before the sync was complete")
		return nil
	}
	return err
}

// openState opens --state-dir (or a temporary one) and its spool.
func (s *replica) openState() error {
	s.stateDir = s.opts.StateDir
	if s.stateDir == "" {
		dir, err := os.MkdirTemp("", "replicant-state-")
		if err != nil {
			return err
		}
		s.stateDir, s.tempState = dir, true
	}
	if err := os.MkdirAll(s.stateDir, 0o700); err != nil { // it holds the data
		return fmt.Errorf("--state-dir: %w", err)
	}
	st, err := loadState(s.stateDir)
	if err != nil {
		return err
	}
	s.setState(st)
	dir, opts := filepath.Join(s.stateDir, "spool"), spool.Options{MaxBytes: s.opts.SpoolMax}
	sp, err := spool.Open(dir, opts)
	if errors.Is(err, spool.ErrCorrupt) {
		// Damaged, or written by an older replicant: what it holds cannot
		// be trusted, so it goes, and a full resync replaces it.
		s.log.Error().Err(err).Msg("spool: damaged or of an older format; discarding it, a full resync follows")
		s.needFull.Store(true)
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		sp, err = spool.Open(dir, opts)
	}
	if err != nil {
		return err
	}
	s.spool = sp
	return nil
}

func (s *replica) closeState() {
	if a := s.applier.Swap(nil); a != nil {
		a.stopForExit()
	}
	if s.lease != nil { // once nothing writes any more
		s.lease.release()
	}
	s.spool.Close()
	if s.tempState {
		os.RemoveAll(s.stateDir)
	}
}

func (s *replica) setState(st savedState) {
	s.state = st
	ids := append([]string(nil), st.ReplIDs...)
	s.replIDs.Store(&ids)
}

func (s *replica) saveState(st savedState) error {
	s.setState(st)
	return st.save(s.stateDir)
}

func (s *replica) replID() string {
	if ids := *s.replIDs.Load(); len(ids) > 0 {
		return ids[0]
	}
	return ""
}

// knowsReplID reports an id of the saved state. The applier asks it while a
// partial resync on the run goroutine records a new id: it reads the copy
// of the ids setState publishes, never s.state.
func (s *replica) knowsReplID(id string) bool {
	ids := s.replIDs.Load()
	return ids != nil && slices.Contains(*ids, id)
}

// startingPoint reads the target's checkpoint: where the target stands
// decides between a partial and a full resync. An unreachable target is an
// error here: at start, the operator wants to hear it at once.
func (s *replica) startingPoint(ctx context.Context) (resumePoint, error) {
	t, err := s.target.dialStream(ctx)
	if err != nil {
		return resumePoint{}, fmt.Errorf("target: %w", err)
	}
	defer t.Close()
	cp, found, ok := t.Checkpoint()
	s.everSynced = found
	if !found {
		if err := s.checkFirstSync(ctx); err != nil {
			return resumePoint{}, err
		}
	}
	if s.forceFull {
		s.log.Warn().Msg("--after-cutover-ok: a full sync replaces what the target holds")
		return resumePoint{}, nil
	}
	p, reset := resumeAt(s.state, cp, ok && !s.needFull.Load(), s.spool.Start(), s.spool.End())
	if p.ReplID == "" {
		return p, nil
	}
	if reset {
		if err := s.spool.Reset(cp.Offset); err != nil {
			return resumePoint{}, err
		}
		if err := s.saveState(savedState{SnapshotDone: true}.withReplID(cp.ReplID)); err != nil {
			return resumePoint{}, err
		}
	}
	s.log.Info().Str("replid", cp.ReplID).Int64("checkpoint", cp.Offset).Int64("spooled_to", s.spool.End()).
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

// nextResumePoint is where to resume after a lost link.
func (s *replica) nextResumePoint() resumePoint {
	if s.needFull.Load() || !s.state.SnapshotDone || s.replID() == "" {
		return resumePoint{}
	}
	return resumePoint{ReplID: s.replID(), Offset: s.spool.End()}
}

// requestFullResync is called by the applier when the target lost its
// checkpoint, or the spool is damaged: the source link is closed so that
// run asks for a full resync.
func (s *replica) requestFullResync(cause error) {
	if errors.Is(cause, spool.ErrCorrupt) {
		s.log.Error().Err(cause).Msg("spool: damaged; a full resync is needed")
	} else {
		s.log.Warn().Err(cause).Msg("target: a full resync is needed")
	}
	s.needFull.Store(true)
	if c := s.status.src.Load(); c != nil {
		c.Close()
	}
}

// session runs one source link: connect, full sync if the source says so,
// then spool its stream until the link ends.
func (s *replica) session(ctx context.Context, resume resumePoint, first bool) error {
	s.status.setPhase(phaseHandshake)
	c, err := s.connectSource(ctx, resume, first)
	if err != nil {
		return err
	}
	s.src = c
	s.status.src.Store(c)
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if c.FullResync() {
		if err := s.fullSync(ctx, c); err != nil {
			return err
		}
	} else if err := s.continueFrom(ctx, c); err != nil {
		return err
	}
	s.status.setPhase(phaseStreaming)
	return s.pump(c)
}

// connectSource dials the source until it answers. At the first start only
// a source that is not ready yet is waited for; every other failure is the
// operator's to see. Later, after a link was lost, every failure is retried.
func (s *replica) connectSource(ctx context.Context, resume resumePoint, first bool) (*psync.Conn, error) {
	wait := 500 * time.Millisecond
	var addrs []string
	for attempt := 0; ; attempt++ {
		if attempt%len(s.srcAddrs) == 0 {
			addrs = s.mastersFirst(ctx)
		}
		cfg := s.srcCfg
		cfg.Addr = addrs[attempt%len(addrs)]
		cfg.ReplID, cfg.Offset = resume.ReplID, resume.Offset
		cfg.Applied = s.appliedOffset
		c, err := psync.Dial(ctx, cfg)
		if err == nil {
			s.srcAddr.Store(&cfg.Addr)
			return c, nil
		}
		if ctx.Err() != nil || (first && !errors.Is(err, psync.ErrRetryLater)) {
			return nil, err
		}
		s.log.Warn().Err(err).Str("retry_in", wait.String()).Msg("source not ready")
		if (attempt+1)%len(s.srcAddrs) != 0 {
			continue // try the next address at once
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, s.opts.RetryMax)
	}
}

// appliedOffset is the offset acknowledged to the source: what the target
// holds.
func (s *replica) appliedOffset() int64 {
	if a := s.applier.Load(); a != nil {
		return a.Applied()
	}
	if c := s.status.src.Load(); c != nil {
		return c.StartOffset()
	}
	return 0
}

// continueFrom handles a partial resync: the spool goes on where it ended.
func (s *replica) continueFrom(ctx context.Context, c *psync.Conn) error {
	st, err := s.state.continued(c.ReplID(), c.StartOffset(), s.spool.End())
	if err != nil {
		return err
	}
	if err := s.saveState(st); err != nil {
		return err
	}
	s.needFull.Store(false)
	if s.applier.Load() == nil {
		s.applier.Store(s.startApplier(ctx, s.spool.End()))
	}
	return nil
}

// fullSync replaces what the target holds with the source's snapshot: the
// applier stops, the target is flushed if replicant wrote to it before (so
// that keys deleted on the source meanwhile do not linger), the snapshot is
// restored, and a checkpoint at the snapshot's offset is written.
func (s *replica) fullSync(ctx context.Context, c *psync.Conn) error {
	if a := s.applier.Swap(nil); a != nil {
		a.stop()
	}
	s.fullSyncs++
	if err := s.spool.Reset(c.StartOffset()); err != nil {
		return err
	}
	if err := s.saveState(savedState{}.withReplID(c.ReplID())); err != nil {
		return err
	}
	t, err := s.target.dialStream(ctx)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	defer t.Close()
	if err := s.markSnapshot(ctx, t); err != nil {
		return err
	}
	if err := s.restoreSnapshot(ctx, c); err != nil {
		return err
	}
	t.Begin(0)
	if err := t.Commit(forwarder.Checkpoint{ReplID: c.ReplID(), Offset: c.StartOffset()}, ""); err != nil {
		return err
	}
	if err := t.Drain(ctx); err != nil {
		return err
	}
	s.everSynced = true
	s.needFull.Store(false)
	if err := s.saveState(s.state.withReplID(c.ReplID())); err != nil {
		return err
	}
	st := s.state
	st.SnapshotDone = true
	if err := s.saveState(st); err != nil {
		return err
	}
	s.applier.Store(s.startApplier(ctx, c.StartOffset()))
	return nil
}

// snapshotMarker is the checkpoint key's value while a snapshot is being
// restored: no checkpoint, so a crash now leads to a new full sync.
const snapshotMarker = "snapshot-in-progress"

// markSnapshot writes the marker. When replicant has written to this
// target before, what the earlier copy holds goes first: by a FLUSHALL
// when this sync owns the whole target, else by a sweep of the keys it
// copies (sweep.go). A target that lost replicant's checkpoint meanwhile
// is flushed only when it holds nothing else, or with --overwrite.
func (s *replica) markSnapshot(ctx context.Context, t forwarder.StreamWriter) error {
	_, found, _ := t.Checkpoint()
	earlier := found || s.everSynced
	flush := earlier && s.ownsWholeTarget()
	if flush && !found {
		if err := s.checkFlush(ctx); err != nil {
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
	if err := s.afterMarker(ctx, flush); err != nil {
		return err
	}
	if earlier && !flush {
		return s.sweepTarget(ctx)
	}
	return nil
}

// restoreSnapshot restores the snapshot through a pipelined writer and
// waits until the target confirmed every key.
func (s *replica) restoreSnapshot(ctx context.Context, c *psync.Conn) error {
	fwd, err := s.target.dialSnapshot(ctx)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	defer fwd.Close()
	s.fwd = fwd
	s.plan = s.planApply(ctx)
	s.status.fwd.Store(&snapshotBox{fwd})
	defer s.status.fwd.Store(nil)
	s.status.setPhase(phaseSnapshot)
	defer s.showProgress(ctx)()
	if err := s.copySnapshot(); err != nil {
		return err
	}
	if err := fwd.Drain(ctx); err != nil {
		return err
	}
	st := fwd.Stats()
	s.restored.Add(st.Restored)
	s.status.restoreErrors.Add(st.RestoreErrors)
	return nil
}

// pump reads the stream into the spool at network speed until the link
// ends. The spool keeps each command's bytes as received, so spool offsets
// are stream offsets.
func (s *replica) pump(c *psync.Conn) error {
	s.log.Info().Int64("offset", c.StartOffset()).Msg("streaming")
	buf := make([]byte, 0, 256<<10)
	var end int64
	for {
		var err error
		buf, end, err = c.AppendCommand(buf)
		if err != nil {
			if ferr := s.spoolAppend(buf, end); ferr != nil {
				return ferr
			}
			return err
		}
		if c.Buffered() == 0 || len(buf) >= 128<<10 {
			if err := s.spoolAppend(buf, end); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
}

func (s *replica) spoolAppend(buf []byte, end int64) error {
	if len(buf) == 0 {
		return nil
	}
	err := s.spool.Append(buf)
	if a := s.applier.Load(); errors.Is(err, spool.ErrFull) && a != nil {
		// The applier trims what the target holds once a second only:
		// trim now, so that only what the target lacks fills the spool.
		if err := s.spool.Trim(a.Applied()); err != nil {
			return fatalError{err}
		}
		err = s.spool.Append(buf)
	}
	if err != nil {
		if errors.Is(err, spool.ErrFull) {
			return fatalError{fmt.Errorf("%w: the target is too far behind; raise --spool-max or mend the target, then start again with the same --state-dir", err)}
		}
		return fatalError{err}
	}
	if got := s.spool.End(); end != 0 && got != end {
		return fatalError{fmt.Errorf("spool ends at %d but the stream is at %d", got, end)}
	}
	return nil
}

// finish ends a run on a stop request: what the spool holds is applied
// (for a bounded time) before the process exits. A run whose lease was
// lost stops writing at once, with that error.
func (s *replica) finish(ctx context.Context) error {
	if lost := leaseLost(ctx); lost != nil {
		if a := s.applier.Swap(nil); a != nil {
			a.stop()
		}
		return lost
	}
	if a := s.applier.Load(); a != nil && s.state.SnapshotDone {
		deadline := time.Now().Add(30 * time.Second)
		for a.Applied() < s.spool.End() && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if a.Applied() < s.spool.End() {
			s.warnUnapplied(a.Applied())
		}
	}
	s.status.log(s, "stopped")
	return nil
}

// warnUnapplied says, at a stop before the target applied everything,
// what becomes of the rest and where the next start goes on from.
func (s *replica) warnUnapplied(applied int64) {
	ev := s.log.Warn().Int64("applied", applied).Int64("spooled", s.spool.End()).Int64("unapplied_bytes", s.spool.End()-applied)
	if s.tempState {
		ev.Msg("stopping before the target applied everything; the stream it has not applied is discarded with the temporary state dir: the next start goes on from the target's checkpoint (offset " +
			strconv.FormatInt(applied, 10) + ") by a partial resync while the source's backlog still holds that offset, else by a full sync (--state-dir keeps the spool across restarts)")
		return
	}
	ev.Str("state_dir", s.stateDir).Msg("stopping before the target applied everything; the rest is in the spool in --state-dir " +
		s.stateDir + ", applied from the target's checkpoint at the next start with the same --state-dir")
}

// sourceAddr is the address of the source the link is (or was last)
// connected to: after a failover, the promoted replica.
func (s *replica) sourceAddr() string {
	if p := s.srcAddr.Load(); p != nil {
		return *p
	}
	return s.srcAddrs[0]
}

// sourceClientOptions are the options of a plain client of the source.
func (s *replica) sourceClientOptions() *redis.Options {
	return &redis.Options{
		Addr: s.sourceAddr(), Username: s.srcCfg.Username, Password: s.srcCfg.Password,
		TLSConfig: s.srcCfg.TLS, DialTimeout: s.srcCfg.DialTimeout, MaxRetries: -1,
	}
}
