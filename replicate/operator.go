package replicate

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/replicant/replicant/admin"
)

// operator is the replica's state for its operator: the admin endpoints,
// pausing the applier, the heartbeat that measures lag in seconds, and
// cutover.
type operator struct {
	shutdown     context.CancelFunc // stops the run, as SIGTERM does
	pause        pauser
	cutover      sync.Mutex // one cutover at a time
	noHeartbeat  atomic.Bool
	sourceOffset atomic.Int64 // the source's master_repl_offset, -1 unknown
	expired      atomic.Int64 // snapshot keys skipped because their expiry passed
	opsPerSec    atomic.Uint64
	hb           heartbeats
}

// startPolling starts the heartbeat and the source's offset reads; the
// context returned ends on Shutdown.
func (s *replica) startPolling(ctx context.Context) context.Context {
	ctx, cancel := context.WithCancel(ctx)
	s.ctl.shutdown = cancel
	s.ctl.sourceOffset.Store(-1)
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		s.pollSource(ctx)
	}()
	return ctx
}

// pollSource writes the heartbeat key on the source and reads its offset
// once a second, and measures the rate of work. A failure of either is
// logged once; a refused heartbeat (no permission, read-only) stops it.
func (s *replica) pollSource(ctx context.Context) {
	addr := s.sourceAddr()
	c := redis.NewClient(s.sourceClientOptions())
	defer func() { c.Close() }()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var hbWarned, offWarned bool
	var lastOps int64
	lastAt := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if a := s.sourceAddr(); a != addr { // the link moved to a promoted replica
			c.Close()
			addr, c = a, redis.NewClient(s.sourceClientOptions())
		}
		ops := s.workDone()
		now := time.Now()
		s.ctl.opsPerSec.Store(uint64(float64(ops-lastOps) / now.Sub(lastAt).Seconds()))
		lastOps, lastAt = ops, now
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		if key := s.opts.HeartbeatKey; key != "" && !s.ctl.noHeartbeat.Load() {
			err := c.Set(cctx, key, strconv.FormatInt(time.Now().UnixMilli(), 10), time.Minute).Err()
			if err != nil && ctx.Err() == nil && !hbWarned {
				hbWarned = true
				ev := s.log.Warn().Err(err).Str("key", key)
				if isRefusal(err) {
					s.ctl.noHeartbeat.Store(true)
					ev.Msg("source: cannot write the heartbeat key; running without lag in seconds")
				} else {
					ev.Msg("source: heartbeat failed; will keep trying")
				}
			}
		}
		off, err := masterOffset(cctx, c)
		if role, rerr := replRole(cctx, c); rerr == nil && s.followMaster(ctx, role) {
			hbWarned = false // the new master takes the heartbeat again
			s.ctl.noHeartbeat.Store(false)
		}
		cancel()
		if err != nil {
			if ctx.Err() == nil && !offWarned {
				offWarned = true
				s.log.Warn().Err(err).Msg("source: cannot read INFO replication; the source offset is unknown")
			}
			off = -1
		}
		s.ctl.sourceOffset.Store(off)
	}
}

// isRefusal reports an error reply that retrying will not mend.
func isRefusal(err error) bool {
	var re redis.Error
	if !errors.As(err, &re) {
		return false
	}
	msg := re.Error()
	return strings.HasPrefix(msg, "NOPERM") || strings.HasPrefix(msg, "READONLY") ||
		strings.HasPrefix(msg, "NOAUTH") || strings.HasPrefix(msg, "WRONGPASS") || strings.Contains(msg, "unknown command")
}

// masterOffset reads master_repl_offset from INFO replication.
func masterOffset(ctx context.Context, c *redis.Client) (int64, error) {
	info, err := c.Info(ctx, "replication").Result()
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "master_repl_offset:"); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, errors.New("INFO replication has no master_repl_offset")
}

// workDone is keys restored plus commands applied.
func (s *replica) workDone() int64 {
	n := s.snap.restored.Load()
	if fwd := s.status.fwd.Load(); fwd != nil {
		n += fwd.Stats().Restored
	}
	if a := s.applier.Load(); a != nil {
		applied, _ := a.Counts()
		n += applied
	}
	return n
}

// Snapshot implements admin.Provider.
func (s *replica) Snapshot() admin.Status {
	st := s.status
	sh := admin.Shard{
		Phase: st.phase(), Source: strings.Join(s.srcAddrs, ","), SourceOffset: s.ctl.sourceOffset.Load(),
		KeysRestored: s.snap.restored.Load(), RestoreErrors: st.restoreErrors.Load(), LagSeconds: -1,
		OpsPerSec: float64(s.ctl.opsPerSec.Load()), ReplID: s.resume.replID(),
	}
	if fwd := st.fwd.Load(); fwd != nil {
		fs := fwd.Stats()
		sh.KeysRestored, sh.RestoreErrors = sh.KeysRestored+fs.Restored, sh.RestoreErrors+fs.RestoreErrors
	}
	sh.KeysSkipped = map[string]int64{"expired": s.ctl.expired.Load(), "refused": sh.RestoreErrors,
		"unrepresentable": s.snap.rewrites.unrepresentable.Load()}
	if f := s.filters; f.active() {
		sh.KeysSkipped["filtered"] = f.filtered.keys.Load()
		sh.CommandsSkipped = map[string]int64{"filtered": f.filtered.commands.Load(), "mixed": f.filtered.mixed.Load()}
	}
	if src := st.src.Load(); src != nil {
		sh.ReceivedOffset = src.Received()
	}
	healthy, problem := true, ""
	if a := s.applier.Load(); a != nil {
		problem = a.Problem()
		healthy = problem == ""
		sh.Commands, sh.CommandErrors = a.Counts()
		sh.AppliedOffset = a.Applied()
		sh.ReceivedOffset = s.spool.End()
		sh.LagBytes = max(0, max(sh.ReceivedOffset, sh.SourceOffset)-sh.AppliedOffset)
		sh.LagSeconds = s.ctl.hb.age(sh.AppliedOffset, time.Now())
	}
	return admin.Status{
		Version: s.opts.Version, Phase: sh.Phase, Uptime: time.Since(st.started), Target: s.target.cfg.Addr,
		ApplyingPaused: s.ctl.pause.paused(), Healthy: healthy, Problem: problem, Shards: []admin.Shard{sh},
	}
}

// PauseApplying implements admin.Provider.
func (s *replica) PauseApplying() {
	s.ctl.pause.pause()
	s.log.Info().Msg("applying paused (RESUME to go on); the stream is still spooled")
}

// ResumeApplying implements admin.Provider.
func (s *replica) ResumeApplying() {
	s.ctl.pause.resume()
	s.log.Info().Msg("applying resumed")
}

// Shutdown implements admin.Provider.
func (s *replica) Shutdown() {
	s.log.Info().Msg("shutdown requested on the admin endpoint")
	if s.ctl.shutdown != nil {
		s.ctl.shutdown()
	}
}

// pauser holds the applier between batches while paused.
type pauser struct {
	mu sync.Mutex
	ch chan struct{} // non-nil while paused; closed on resume
}

func (p *pauser) pause() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ch == nil {
		p.ch = make(chan struct{})
	}
}

func (p *pauser) resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ch != nil {
		close(p.ch)
		p.ch = nil
	}
}

func (p *pauser) paused() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ch != nil
}

// wait returns at once unless paused, else once resumed or ctx ends.
func (p *pauser) wait(ctx context.Context) error {
	p.mu.Lock()
	ch := p.ch
	p.mu.Unlock()
	if ch == nil {
		return nil
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// heartbeats tracks the heartbeat values seen in the stream, by offset,
// until the target holds them.
type heartbeats struct {
	mu      sync.Mutex
	pending []heartbeat // ascending offsets, bounded
	applied int64       // unix ms of the newest heartbeat the target holds; 0 none
}

type heartbeat struct{ off, ms int64 }

const maxPendingHeartbeats = 256

// saw records a command of the stream ending at off: a SET of key in db 0
// is a heartbeat.
func (h *heartbeats) saw(key string, db int, args [][]byte, off int64) {
	if key == "" || db != 0 || len(args) < 3 || !eq(args[0], "SET") || string(args[1]) != key {
		return
	}
	ms, err := strconv.ParseInt(string(args[2]), 10, 64)
	if err != nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for len(h.pending) > 0 && h.pending[len(h.pending)-1].off >= off {
		h.pending = h.pending[:len(h.pending)-1] // applied again after a reconnect
	}
	if len(h.pending) == maxPendingHeartbeats {
		h.pending = h.pending[1:]
	}
	h.pending = append(h.pending, heartbeat{off, ms})
}

// age is the lag in seconds: now minus the newest heartbeat at or below
// applied; -1 when none is known.
func (h *heartbeats) age(applied int64, now time.Time) float64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	i := 0
	for ; i < len(h.pending) && h.pending[i].off <= applied; i++ {
		h.applied = h.pending[i].ms
	}
	h.pending = h.pending[i:]
	if h.applied == 0 {
		return -1
	}
	return max(0, float64(now.UnixMilli()-h.applied)/1000)
}
