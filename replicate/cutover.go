package replicate

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/replicant/replicant/admin"
)

// Cutover implements admin.Provider for one source: pauseAndDrain, then
// finishCutover.
func (s *replica) Cutover(ctx context.Context, timeout time.Duration, keepSyncing bool) (admin.CutoverResult, error) {
	p, err := s.pauseAndDrain(ctx, timeout)
	if err != nil {
		return admin.CutoverResult{}, err
	}
	return s.finishCutover(ctx, p, keepSyncing)
}

// pausedSource is a cutover between its two halves: the source's writes
// paused and the target holding every write made before the pause. It
// holds the replica's cutover lock until finishCutover or abort.
type pausedSource struct {
	s        *replica
	c        *redis.Client
	start    time.Time // just before CLIENT PAUSE: the clients' pause begins no sooner
	until    time.Time // when the pause expires on its own
	caughtUp time.Time
	off      int64 // the source's master_repl_offset, read once paused
	hbOff    bool  // the heartbeat's setting before the cutover
}

// pauseAndDrain runs CLIENT PAUSE <timeout> WRITE on the source, reads its
// master_repl_offset and waits until the target holds it. On an error the
// source is unpaused and the sync goes on.
func (s *replica) pauseAndDrain(ctx context.Context, timeout time.Duration) (*pausedSource, error) {
	if !s.ctl.cutover.TryLock() {
		return nil, errors.New("a cutover is already running")
	}
	if p := s.status.phase(); p != phaseStreaming || s.applier.Load() == nil {
		s.ctl.cutover.Unlock()
		return nil, fmt.Errorf("not streaming yet (phase %s): try again once the snapshot is applied", p)
	}
	if s.ctl.pause.paused() {
		s.ctl.cutover.Unlock()
		return nil, errors.New("applying is paused: RESUME first")
	}
	p := &pausedSource{s: s, c: redis.NewClient(s.sourceClientOptions())}
	p.hbOff = s.ctl.noHeartbeat.Swap(true) // no write of ours waits in the pause
	p.start = time.Now()
	if err := p.c.Do(ctx, "CLIENT", "PAUSE", strconv.FormatInt(timeout.Milliseconds(), 10), "WRITE").Err(); err != nil {
		p.release(true)
		return nil, fmt.Errorf("source: CLIENT PAUSE ... WRITE (Redis 6.2 or newer): %w", err)
	}
	p.until = p.start.Add(timeout)
	if err := checkCutoverSource(ctx, p.c, s.sourceAddr()); err != nil {
		return nil, p.abort(err)
	}
	s.log.Info().Str("timeout", timeout.String()).Msg("cutover: writes paused on the source")
	off, err := masterOffset(ctx, p.c)
	if err != nil {
		return nil, p.abort(fmt.Errorf("source: %w", err))
	}
	p.off = off
	if err = s.waitApplied(ctx, off, p.until); err != nil {
		return nil, p.abort(err)
	}
	p.caughtUp = time.Now()
	return p, nil
}

// abort unpauses the source after a failed cutover and lets the sync go
// on; the error is cause with what became of the pause.
func (p *pausedSource) abort(cause error) error {
	defer p.release(true)
	return p.s.unpause(p.c, cause)
}

// release ends the cutover's hold on the replica: with restore (a failed
// cutover or --keep-syncing) the heartbeat goes on as before.
func (p *pausedSource) release(restore bool) {
	if restore {
		p.s.ctl.noHeartbeat.Store(p.hbOff)
	}
	p.c.Close()
	p.s.ctl.cutover.Unlock()
}

// finishCutover ends a cutover whose target holds every write. With
// keepSyncing (a rehearsal) it unpauses the source and the sync goes on.
// Otherwise, in this order, all while the source is still paused:
//
//  1. fence the source (fenceSource): from now on it refuses every write,
//     whenever and from whichever client it comes, those waiting in the
//     pause included once they are released;
//  2. mark the target as cut over (interlock.go);
//  3. cut off the source's clients (killClients): the writes waiting in
//     the pause fail with a connection error, never run and never confirmed,
//     and the clients reconnect, to the target once they are moved;
//  4. CLIENT UNPAUSE: the pause the clients see ends here. A write that
//     reached the source after step 3 is refused with -NOREPLICAS.
//
// A failure in 1 or 2 undoes what was done and unpauses the source: the
// sync goes on. A failure in 3 or 4 is logged: the fence holds either way.
func (s *replica) finishCutover(ctx context.Context, p *pausedSource, keepSyncing bool) (res admin.CutoverResult, err error) {
	res = admin.CutoverResult{SourceOffset: p.off, AppliedOffset: s.appliedOffset(), KeepSyncing: keepSyncing,
		CaughtUp: p.caughtUp.Sub(p.start), PausedUntil: p.until}
	if keepSyncing {
		defer p.release(true)
		if err = s.unpause(p.c, nil); err != nil {
			return res, err
		}
		res.WritesPaused = time.Since(p.start)
		s.logCutover(res)
		return res, nil
	}
	f, err := fenceSource(ctx, p.c)
	if err != nil {
		return res, p.abort(fmt.Errorf("source %s: %w", s.sourceAddr(), err))
	}
	if err = s.interlock.markCutover(ctx, p.off); err != nil {
		if uerr := f.lift(p.c); uerr != nil {
			err = fmt.Errorf("%w; and lifting the fence failed (%v): run %s on the source", err, uerr, f.rollback())
		}
		return res, p.abort(err)
	}
	defer p.release(false)
	res.Rollback = []string{s.sourceAddr() + ": " + f.rollback()}
	res.ClientsKilled, err = killClients(ctx, p.c)
	if err != nil {
		s.log.Warn().Err(err).Msg("cutover: cutting off the source's clients failed; the source refuses their writes all the same")
	}
	if err = unpauseSource(p.c); err != nil {
		res.WritesPaused = p.until.Sub(p.start)
		s.log.Warn().Err(err).Time("paused_until", p.until).
			Msg("cutover: CLIENT UNPAUSE failed; writes wait in the pause until it expires, then the source refuses them")
	} else {
		res.WritesPaused = time.Since(p.start)
	}
	s.logCutover(res)
	return res, nil
}

func (s *replica) logCutover(res admin.CutoverResult) {
	s.log.Info().Int64("source_offset", res.SourceOffset).Int64("applied", res.AppliedOffset).
		Str("writes_paused", res.WritesPaused.Round(time.Millisecond).String()).
		Str("caught_up", res.CaughtUp.Round(time.Millisecond).String()).
		Int64("clients_killed", res.ClientsKilled).Strs("rollback", res.Rollback).
		Bool("keep_syncing", res.KeepSyncing).Msg("cutover: the target holds every write of the source")
}

// fenceWrites is min-replicas-to-write while a source is fenced: more
// replicas than a server can have (INT_MAX, the setting's bound).
const fenceWrites = "2147483647"

// fence is what fenceSource changed, to lift it.
type fence struct {
	toWrite string // min-replicas-to-write before
	maxLag  string // min-replicas-max-lag before, if it was changed
}

// fenceSource makes the source refuse every write with -NOREPLICAS:
// min-replicas-to-write set higher than any count of replicas (and
// min-replicas-max-lag, which must be non-zero for the check to apply, to
// 10 if it was 0). Why this and not only CLIENT KILL or a longer pause:
// Redis checks it for every write command (MULTI/EXEC and scripts
// included) each time one is processed, a write released from a CLIENT
// PAUSE included; it holds for clients that reconnect or come later, and
// it lasts beyond replicant, until an operator lifts it (rollback). A
// pause alone ends at its timeout, and a kill alone leaves the writes
// of clients that reconnect during the pause waiting to run after it.
// Reads, replication to the source's replicas and key expiry go on.
// PUBLISH is not a write and is not refused (see killClients).
func fenceSource(ctx context.Context, c *redis.Client) (fence, error) {
	var f fence
	cfg, err := c.ConfigGet(ctx, "min-replicas-*").Result()
	if err != nil {
		return f, fmt.Errorf("CONFIG GET min-replicas-* (to make the source refuse writes once the target took over): %w", err)
	}
	f.toWrite = cfg["min-replicas-to-write"]
	if f.toWrite == "" || cfg["min-replicas-max-lag"] == "" {
		return f, fmt.Errorf("CONFIG GET min-replicas-*: no min-replicas-to-write or min-replicas-max-lag in %v", cfg)
	}
	if cfg["min-replicas-max-lag"] == "0" {
		if err := c.ConfigSet(ctx, "min-replicas-max-lag", "10").Err(); err != nil {
			return f, fmt.Errorf("CONFIG SET min-replicas-max-lag 10: %w", err)
		}
		f.maxLag = "0"
	}
	if err := c.ConfigSet(ctx, "min-replicas-to-write", fenceWrites).Err(); err != nil {
		err = fmt.Errorf("CONFIG SET min-replicas-to-write %s (to make the source refuse writes once the target took over): %w", fenceWrites, err)
		if lerr := f.lift(c); lerr != nil {
			err = fmt.Errorf("%w; and setting min-replicas-max-lag back failed: %v", err, lerr)
		}
		return f, err
	}
	return f, nil
}

// lift undoes fenceSource.
func (f fence) lift(c *redis.Client) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if f.toWrite != "" {
		if err := c.ConfigSet(ctx, "min-replicas-to-write", f.toWrite).Err(); err != nil {
			return err
		}
	}
	if f.maxLag != "" {
		return c.ConfigSet(ctx, "min-replicas-max-lag", f.maxLag).Err()
	}
	return nil
}

// rollback is the command that lifts the fence: the source takes writes
// again.
func (f fence) rollback() string {
	cmd := "CONFIG SET min-replicas-to-write " + f.toWrite
	if f.maxLag != "" {
		cmd += "; CONFIG SET min-replicas-max-lag " + f.maxLag
	}
	return cmd
}

// killClients closes the source's client connections but the one it is
// sent on: type normal (RESP3 subscribers too) and pubsub (RESP2
// subscribers), never replicas, so replicant's own link and the source's
// replicas stay. The writes waiting in the pause fail with a connection
// error and are never run. Subscribers are cut off too: PUBLISH goes on
// only on the target now, and a subscriber left on the source would wait
// for messages with no error to tell it; reconnecting, it subscribes again
// where its configuration now points. replicant's own status connection
// is among the normal ones: it reconnects, and the sync stops anyway.
func killClients(ctx context.Context, c *redis.Client) (int64, error) {
	var n int64
	for _, typ := range []string{"normal", "pubsub"} {
		k, err := c.Do(ctx, "CLIENT", "KILL", "TYPE", typ, "SKIPME", "yes").Int64()
		if err != nil {
			return n, fmt.Errorf("source: CLIENT KILL TYPE %s SKIPME yes: %w", typ, err)
		}
		n += k
	}
	return n, nil
}

// waitApplied waits until the target holds offset off, or until deadline.
func (s *replica) waitApplied(ctx context.Context, off int64, deadline time.Time) error {
	for {
		applied := s.appliedOffset()
		if applied >= off {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the target did not catch up in time: it holds offset %d of %d (%d bytes behind)", applied, off, off-applied)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// unpauseSource runs CLIENT UNPAUSE.
func unpauseSource(c *redis.Client) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return c.Do(ctx, "CLIENT", "UNPAUSE").Err()
}

// unpause ends the source's pause after a failed cutover (cause) or a
// successful one with --keep-syncing (nil cause).
func (s *replica) unpause(c *redis.Client, cause error) error {
	err := unpauseSource(c)
	switch {
	case err != nil && cause != nil:
		return fmt.Errorf("%w; and CLIENT UNPAUSE failed (%v): the source stays paused until the timeout", cause, err)
	case err != nil:
		return fmt.Errorf("source: CLIENT UNPAUSE: %w", err)
	case cause != nil:
		s.log.Warn().Err(cause).Msg("cutover failed: the source is unpaused and the sync goes on")
		return fmt.Errorf("%w; the source is unpaused and the sync goes on", cause)
	}
	s.log.Info().Msg("cutover: the source is unpaused; the sync goes on")
	return nil
}
