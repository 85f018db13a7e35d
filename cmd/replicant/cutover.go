package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/replicant/replicant/admin"
)

// Cutover implements admin.Provider: CLIENT PAUSE <timeout> WRITE on the
// source, read its master_repl_offset, wait until the target holds it.
// On success the source stays paused (until the pause expires) unless
// keepSyncing, which unpauses it; the caller then stops the run. Without
// keepSyncing the target is marked as cut over first (interlock.go). When the
// target does not catch up in time the source is unpaused and the sync
// goes on.
func (s *syncer) Cutover(ctx context.Context, timeout time.Duration, keepSyncing bool) (res admin.CutoverResult, err error) {
	if !s.ctl.cutover.TryLock() {
		return res, errors.New("a cutover is already running")
	}
	defer s.ctl.cutover.Unlock()
	if p := s.status.phase(); p != phaseStreaming || s.applier.Load() == nil {
		return res, fmt.Errorf("not streaming yet (phase %s): try again once the snapshot is applied", p)
	}
	if s.ctl.pause.paused() {
		return res, errors.New("applying is paused: RESUME first")
	}
	c := redis.NewClient(s.sourceClientOptions())
	defer c.Close()
	hbOff := s.ctl.noHeartbeat.Swap(true) // no write of ours waits in the pause
	defer func() {
		if err != nil || keepSyncing {
			s.ctl.noHeartbeat.Store(hbOff)
		}
	}()
	start := time.Now()
	if err = c.Do(ctx, "CLIENT", "PAUSE", strconv.FormatInt(timeout.Milliseconds(), 10), "WRITE").Err(); err != nil {
		return res, fmt.Errorf("source: CLIENT PAUSE ... WRITE (Redis 6.2 or newer): %w", err)
	}
	res.PausedUntil = start.Add(timeout)
	if err = checkCutoverSource(ctx, c, s.sourceAddr()); err != nil {
		return res, s.unpause(c, err)
	}
	s.log.Info().Str("timeout", timeout.String()).Msg("cutover: writes paused on the source")
	off, err := masterOffset(ctx, c)
	if err != nil {
		return res, s.unpause(c, fmt.Errorf("source: %w", err))
	}
	res.SourceOffset = off
	if err = s.waitApplied(ctx, off, res.PausedUntil); err != nil {
		return res, s.unpause(c, err)
	}
	if !keepSyncing { // a sync started into the target again refuses
		if err = s.markCutover(ctx, off); err != nil {
			return res, s.unpause(c, err)
		}
	}
	res.WritesPaused = time.Since(start)
	res.AppliedOffset = s.appliedOffset()
	res.LagSeconds = 0
	res.KeepSyncing = keepSyncing
	if keepSyncing {
		if err = s.unpause(c, nil); err != nil {
			return res, err
		}
		res.WritesPaused = time.Since(start)
	}
	s.log.Info().Int64("source_offset", off).Int64("applied", res.AppliedOffset).
		Str("writes_paused", res.WritesPaused.Round(time.Millisecond).String()).Bool("keep_syncing", keepSyncing).
		Msg("cutover: the target holds every write of the source")
	return res, nil
}

// waitApplied waits until the target holds offset off, or until deadline.
func (s *syncer) waitApplied(ctx context.Context, off int64, deadline time.Time) error {
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

// unpause ends the source's pause after a failed cutover (cause) or a
// successful one with --keep-syncing (nil cause).
func (s *syncer) unpause(c *redis.Client, cause error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := c.Do(ctx, "CLIENT", "UNPAUSE").Err()
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

// cutoverOptions are the flags of "replicant cutover".
type cutoverOptions struct {
	Admin         string
	AdminPassword string
	Timeout       time.Duration
	KeepSyncing   bool
}

func cutoverFlags(o *cutoverOptions) *flag.FlagSet {
	fs := flag.NewFlagSet("cutover", flag.ContinueOnError)
	fs.StringVar(&o.Admin, "admin", "", "`address` of the running sync's admin endpoint (its --admin) (required)")
	fs.StringVar(&o.AdminPassword, "admin-password", "", "the sync's --admin-password")
	fs.DurationVar(&o.Timeout, "timeout", 30*time.Second, "longest pause of the source's writes while the target catches up")
	fs.BoolVar(&o.KeepSyncing, "keep-syncing", false, "after the cutover, unpause the source and keep syncing instead of stopping")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: replicant cutover --admin ADDR [flags]

Asks a running "replicant sync --admin ADDR" to cut over: it pauses writes
on the source (CLIENT PAUSE <timeout> WRITE), waits until the target holds
every write, marks the target as cut over (a later "replicant sync" into
it refuses, unless --after-cutover-ok), reports the final lag and how
long writes were paused, and stops; the source's writes stay paused until
the timeout, for clients to move to the target. With --keep-syncing the
source is unpaused and the sync goes on. If the target does not catch up
in time, the source is unpaused and the sync goes on; the exit status is
then 1.

Flags:
`)
		fs.PrintDefaults()
	}
	return fs
}

// runCutover is "replicant cutover": a client of a running sync's admin
// endpoint.
func runCutover(args []string, stdout, stderr io.Writer) int {
	var o cutoverOptions
	fs := cutoverFlags(&o)
	if code, stop := parseFlags(fs, args, stdout, stderr); stop {
		return code
	}
	if o.Admin == "" || o.Timeout <= 0 {
		fmt.Fprintln(stderr, "replicant cutover: --admin is required and --timeout must be positive")
		return exitUsage
	}
	c := redis.NewClient(&redis.Options{Addr: o.Admin, Password: o.AdminPassword, Protocol: 2, DisableIndentity: true,
		MaxRetries: -1, DialTimeout: 5 * time.Second, ReadTimeout: o.Timeout + 30*time.Second})
	defer c.Close()
	cmd := []any{"CUTOVER", "TIMEOUT", strconv.FormatFloat(o.Timeout.Seconds(), 'f', -1, 64)}
	if o.KeepSyncing {
		cmd = append(cmd, "KEEPSYNCING")
	}
	out, err := c.Do(context.Background(), cmd...).Text()
	if err != nil {
		fmt.Fprintf(stderr, "replicant cutover: %v\n", err)
		return exitError
	}
	fmt.Fprint(stdout, out)
	return exitOK
}
