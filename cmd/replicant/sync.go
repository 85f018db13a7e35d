package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/rs/zerolog"

	"github.com/replicant/replicant/forwarder"
	"github.com/replicant/replicant/psync"
	"github.com/replicant/replicant/rdbstream"
)

// runSync is "replicant sync": parse flags, then copy and follow until a
// signal or an error.
func runSync(args []string, stdout, stderr io.Writer) int {
	var o syncOptions
	if code, stop := parseFlags(syncFlags(&o), args, stdout, stderr); stop {
		return code
	}
	log, err := newLogger(stderr, o.LogFormat, o.LogLevel)
	if err == nil {
		err = o.validate()
	}
	if err != nil {
		fmt.Fprintf(stderr, "replicant sync: %v\n", err)
		return exitUsage
	}
	s, err := newSyncer(o, log)
	if err != nil {
		fmt.Fprintf(stderr, "replicant sync: %v\n", err)
		return exitUsage
	}
	ctx, stop := signalContext()
	defer stop()
	if err := s.run(ctx); err != nil {
		log.Error().Err(err).Msg("sync failed")
		if !isTerminal(stderr) || o.LogFormat == "json" {
			fmt.Fprintf(stderr, "replicant: %v\n", err)
		}
		return exitError
	}
	return exitOK
}

// syncer joins a source link, the RDB decoder and a target writer.
type syncer struct {
	opts   syncOptions
	log    zerolog.Logger
	srcCfg psync.Config
	dstCfg forwarder.Config
	src    *psync.Conn
	fwd    *forwarder.Standalone
	dec    *rdbstream.Decoder
	expiry *expiryRewriter
	status *status
}

func newSyncer(o syncOptions, log zerolog.Logger) (*syncer, error) {
	src, err := parseEndpoint(o.Source)
	if err != nil {
		return nil, fmt.Errorf("--source: %w", err)
	}
	dst, err := parseEndpoint(o.Target)
	if err != nil {
		return nil, fmt.Errorf("--target: %w", err)
	}
	s := &syncer{opts: o, log: log, status: newStatus(), expiry: newExpiryRewriter(o.ExpireMargin)}
	s.srcCfg = psync.Config{
		Addr: src.Addr, Username: src.Username, Password: src.Password,
		ListeningPort: o.ReplicaPort, DialTimeout: o.ConnectTimeout,
		Logger: log.With().Str("side", "source").Logger(),
	}
	s.dstCfg = forwarder.Config{
		Addr: dst.Addr, Username: dst.Username, Password: dst.Password,
		DialTimeout: o.ConnectTimeout, Window: o.Window,
		Logger: log.With().Str("side", "target").Logger(),
	}
	if src.TLS {
		if s.srcCfg.TLS, err = o.TLS.config(src.Addr); err != nil {
			return nil, err
		}
	}
	if dst.TLS {
		if s.dstCfg.TLS, err = o.TLS.config(dst.Addr); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// run connects both sides, copies the snapshot and follows the stream until
// ctx is done (a clean stop: nil) or something fails.
func (s *syncer) run(ctx context.Context) error {
	s.log.Info().Str("source", redact(s.opts.Source)).Str("target", redact(s.opts.Target)).Msg("replicant starting")
	fwd, err := forwarder.Dial(ctx, s.dstCfg)
	if err != nil {
		return s.stopped(ctx, fmt.Errorf("target: %w", err))
	}
	s.fwd = fwd
	defer fwd.Close()
	s.status.setPhase(phaseHandshake)
	go s.status.loop(ctx, s, s.opts.StatusInterval)
	if err := s.connectSource(ctx); err != nil {
		return s.stopped(ctx, err)
	}
	defer s.src.Close()
	stopOnCancel := context.AfterFunc(ctx, func() { s.src.Close() })
	defer stopOnCancel()
	if s.src.FullResync() {
		if err := s.copySnapshot(); err != nil {
			return s.stopped(ctx, err)
		}
	}
	err = s.follow()
	return s.finish(ctx, err)
}

// stopped turns an error caused by a stop request into a clean stop.
func (s *syncer) stopped(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		s.log.Info().Str("phase", s.status.phase()).Msg("stopped before the sync was complete")
		return nil
	}
	return err
}

// connectSource dials the source, retrying with backoff while it is not
// ready (loading, or a replica whose link to its master is down).
func (s *syncer) connectSource(ctx context.Context) error {
	wait := 500 * time.Millisecond
	for {
		s.srcCfg.Applied = s.fwd.Applied
		c, err := psync.Dial(ctx, s.srcCfg)
		if err == nil {
			s.src = c
			s.status.src.Store(c)
			s.fwd.SetApplied(c.StartOffset())
			return nil
		}
		if !errors.Is(err, psync.ErrRetryLater) || ctx.Err() != nil {
			return err
		}
		s.log.Warn().Err(err).Dur("retry_in", wait).Msg("source not ready")
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, s.opts.RetryMax)
	}
}

// copySnapshot restores every key of the streamed RDB on the target.
func (s *syncer) copySnapshot() error {
	s.status.setPhase(phaseSnapshot)
	rdb, err := s.src.Snapshot()
	if err != nil {
		return err
	}
	s.dec = rdbstream.NewDecoder(rdb, rdbstream.Options{})
	start := time.Now()
	var keys int64
	for {
		e, err := s.dec.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("snapshot: %w", err)
		}
		if err := s.apply(e); err != nil {
			return err
		}
		keys++
	}
	if err := s.fwd.Flush(); err != nil {
		return err
	}
	s.log.Info().Int64("entries", keys).Int64("expired_skipped", s.dec.Expired()).
		Int64("rdb_bytes", s.dec.Offset()).Int("rdb_version", s.dec.Version()).
		Str("took", time.Since(start).Round(time.Millisecond).String()).Msg("snapshot received")
	return nil
}

func (s *syncer) apply(e *rdbstream.Entry) error {
	switch e.Kind {
	case rdbstream.KindKey:
		return s.fwd.Restore(e.DB, e.Key, s.expiry.snapshot(e.ExpireAt), e.Payload)
	case rdbstream.KindFunction:
		return s.fwd.LoadFunction(e.Code)
	}
	return nil
}

// follow forwards the live stream until the source link ends. Commands are
// flushed to the target whenever nothing more is waiting in the socket
// buffer, so a burst goes out in large writes and a lone write at once.
func (s *syncer) follow() error {
	s.status.setPhase(phaseStreaming)
	s.log.Info().Int64("offset", s.src.StartOffset()).Msg("streaming")
	for {
		args, end, err := s.src.ReadCommand()
		if err != nil {
			return err
		}
		if err := s.fwd.Command(s.expiry.rewrite(args), end); err != nil {
			return err
		}
		if s.src.Buffered() == 0 {
			if err := s.fwd.Flush(); err != nil {
				return err
			}
		}
	}
}

// finish ends a run: on a stop request, what was read is applied before the
// process exits.
func (s *syncer) finish(ctx context.Context, err error) error {
	if ctx.Err() == nil {
		return err
	}
	drainCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if derr := s.fwd.Drain(drainCtx); derr != nil {
		return fmt.Errorf("stopping: target did not confirm every command: %w", derr)
	}
	s.status.log(s, "stopped")
	return nil
}
