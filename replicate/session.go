package replicate

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/replicant/replicant/psync"
	"github.com/replicant/replicant/spool"
)

// run copies and follows until ctx ends (a clean stop: nil) or a fault that
// retrying cannot mend. Each turn of its loop is one source link: a link
// lost while streaming is dialled again and resumed with a partial resync.
func (s *replica) run(ctx context.Context) error {
	s.log.Info().Str("source", s.opts.Source.name()).Str("target", s.opts.Target.name()).Msg("replicant starting")
	sp, err := s.resume.open(s.opts.StateDir, s.opts.SpoolMax)
	if err != nil {
		return err
	}
	s.spool = sp
	defer s.closeState()
	ctx, release, err := s.interlock.engage(ctx)
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
		resume = s.resume.next(s.spool.End())
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

// closeState ends what run opened, in order: the applier stops, the lease
// goes once nothing writes any more, then the spool and a temporary state
// dir.
func (s *replica) closeState() {
	if a := s.applier.Swap(nil); a != nil {
		a.stopForExit()
	}
	if s.interlock.lease != nil { // once nothing writes any more
		s.interlock.lease.release()
	}
	s.spool.Close()
	s.resume.close()
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
		if err := s.interlock.checkFirstSync(ctx); err != nil {
			return resumePoint{}, err
		}
	}
	if s.interlock.forceFull {
		s.log.Warn().Msg("--after-cutover-ok: a full sync replaces what the target holds")
		return resumePoint{}, nil
	}
	return s.resume.startAt(cp, ok, s.spool)
}

// requestFullResync is called by the applier when the target lost its
// checkpoint, or the spool is damaged: the source link is closed so that
// run asks for a full resync.
func (s *replica) requestFullResync(cause error) {
	s.resume.fullResyncNeeded(cause)
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
	if err := s.resume.continued(c.ReplID(), c.StartOffset(), s.spool.End()); err != nil {
		return err
	}
	if s.applier.Load() == nil {
		s.applier.Store(s.startApplier(ctx, s.spool.End()))
	}
	return nil
}

// fullSync replaces what the target holds with the source's snapshot: the
// applier stops, the spool restarts at the snapshot's offset, the snapshot
// copier copies the snapshot (snapshot_copier.go), and the applier starts
// again from its checkpoint.
func (s *replica) fullSync(ctx context.Context, c *psync.Conn) error {
	if a := s.applier.Swap(nil); a != nil {
		a.stop()
	}
	s.fullSyncs++
	if err := s.spool.Reset(c.StartOffset()); err != nil {
		return err
	}
	if err := s.resume.snapshotStarted(c.ReplID()); err != nil {
		return err
	}
	if err := s.snap.run(ctx, c); err != nil {
		return err
	}
	s.everSynced = true
	if err := s.resume.snapshotDone(c.ReplID()); err != nil {
		return err
	}
	s.applier.Store(s.startApplier(ctx, c.StartOffset()))
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
	if a := s.applier.Load(); a != nil && s.resume.saved.SnapshotDone {
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
	if s.resume.temp {
		ev.Msg("stopping before the target applied everything; the stream it has not applied is discarded with the temporary state dir: the next start goes on from the target's checkpoint (offset " +
			strconv.FormatInt(applied, 10) + ") by a partial resync while the source's backlog still holds that offset, else by a full sync (--state-dir keeps the spool across restarts)")
		return
	}
	ev.Str("state_dir", s.resume.dir).Msg("stopping before the target applied everything; the rest is in the spool in --state-dir " +
		s.resume.dir + ", applied from the target's checkpoint at the next start with the same --state-dir")
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
