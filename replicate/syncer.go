package replicate

import (
	"context"
	"sync"
	"time"

	"github.com/replicant/replicant/admin"
)

// Status is one reading of a sync's figures: what the admin endpoint's
// INFO, the Prometheus metrics and the status lines show. A cluster
// source has one Shard per master.
type Status = admin.Status

// CutoverResult reports a cutover: offsets, how long writes were paused,
// and the command that lets the source take writes again.
type CutoverResult = admin.CutoverResult

// CutoverOptions shape a cutover.
type CutoverOptions struct {
	// Timeout is the longest the source's writes stay paused while the
	// target catches up. Required: above 0.
	Timeout time.Duration
	// KeepSyncing unpauses the source after the target caught up and lets
	// the sync go on (a rehearsal). Without it the source is fenced and the
	// caller stops the sync (Shutdown, or the end of Run's context) once
	// it has the result.
	KeepSyncing bool
}

// engine is what a Syncer drives: one replica of a source master, or a
// fleet of them for a cluster source.
type engine interface {
	admin.Provider
	run(ctx context.Context) error
	logSummary(err error)
}

// Syncer copies a source to a target and keeps it in sync. Make one with
// New, then call Run; the other methods may be called from any goroutine
// while Run runs.
type Syncer struct {
	e engine

	mu       sync.Mutex
	stop     context.CancelFunc // ends Run's context; nil before Run
	stopping bool               // Shutdown came before Run
}

// New checks cfg and makes a Syncer. For a cluster source
// (cfg.Source.Cluster) it reads the cluster's masters with CLUSTER SLOTS,
// bounded by ctx and cfg.ConnectTimeout; otherwise it does no I/O.
func New(ctx context.Context, cfg Config) (*Syncer, error) {
	cfg = cfg.withDefaults()
	if err := cfg.check(); err != nil {
		return nil, err
	}
	var e engine
	var err error
	if cfg.Source.Cluster {
		e, err = newFleet(ctx, cfg, cfg.Logger)
	} else {
		e, err = newStandalone(cfg)
	}
	if err != nil {
		return nil, err
	}
	return &Syncer{e: e}, nil
}

// Run copies and follows until ctx ends or Shutdown is called (a clean
// stop: nil) or a fault that retrying cannot mend (its error). A full sync
// or a resume is chosen from the state in Config.StateDir and the target's
// checkpoint. It logs a summary line as it returns. Call it once.
func (s *Syncer) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.mu.Lock()
	s.stop = cancel
	if s.stopping {
		cancel()
	}
	s.mu.Unlock()
	err := s.e.run(ctx)
	s.e.logSummary(err)
	return err
}

// Status reads the sync's figures. It is cheap and does no I/O.
func (s *Syncer) Status() Status { return s.e.Snapshot() }

// Pause stops committing to the target; the stream is still read and
// spooled. Resume goes on.
func (s *Syncer) Pause() { s.e.PauseApplying() }

// Resume undoes Pause.
func (s *Syncer) Resume() { s.e.ResumeApplying() }

// Shutdown asks Run to stop cleanly, as the end of its context does.
func (s *Syncer) Shutdown() {
	s.e.Shutdown()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopping = true
	if s.stop != nil {
		s.stop()
	}
}

// Cutover pauses writes on the source, waits up to opts.Timeout until the
// target holds every write, then either fences the source and marks the
// target as cut over, or with opts.KeepSyncing unpauses it and lets the
// sync go on. A cutover that fails unpauses the source; the sync goes on.
func (s *Syncer) Cutover(ctx context.Context, opts CutoverOptions) (CutoverResult, error) {
	return s.e.Cutover(ctx, opts.Timeout, opts.KeepSyncing)
}

// Provider is s as the admin package serves it (admin.Listen,
// admin.ListenMetrics).
func (s *Syncer) Provider() admin.Provider { return provider{s} }

// provider adapts a Syncer to admin.Provider.
type provider struct{ s *Syncer }

func (p provider) Snapshot() admin.Status { return p.s.Status() }
func (p provider) PauseApplying()         { p.s.Pause() }
func (p provider) ResumeApplying()        { p.s.Resume() }
func (p provider) Shutdown()              { p.s.Shutdown() }
func (p provider) Cutover(ctx context.Context, timeout time.Duration, keepSyncing bool) (admin.CutoverResult, error) {
	return p.s.Cutover(ctx, CutoverOptions{Timeout: timeout, KeepSyncing: keepSyncing})
}

// standalone is the engine of a source that is not a cluster: one replica,
// with its source poller (heartbeat, offset) running while it runs.
type standalone struct{ *replica }

func newStandalone(cfg Config) (standalone, error) {
	r, err := newReplica(cfg, cfg.Logger)
	return standalone{r}, err
}

func (e standalone) run(ctx context.Context) error {
	defer e.bg.Wait() // once the poller is told to stop, below
	ctx = e.startPolling(ctx)
	defer e.ctl.shutdown()
	return e.replica.run(ctx)
}
