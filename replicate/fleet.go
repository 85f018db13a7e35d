package replicate

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/replicant/replicant/admin"
	"github.com/replicant/replicant/forwarder"
)

// fleet syncs a cluster source: one replica per master (a shard), each with
// its own replica link, offsets, state (a subdirectory of --state-dir),
// checkpoint key and heartbeat key, all writing to the one target.
type fleet struct {
	log    zerolog.Logger
	shards []*replica
}

// newFleet discovers the masters of the cluster source and builds a replica
// for each.
func newFleet(ctx context.Context, o Config, log zerolog.Logger) (*fleet, error) {
	masters, err := discoverShards(ctx, o.Source, o.ConnectTimeout)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	o.OnSnapshot = nil // one progress per shard would garble a terminal: status lines report it
	f := &fleet{log: log}
	for _, m := range masters {
		s, err := newReplica(o, log)
		if err != nil {
			return nil, err
		}
		s.joinFleet(m)
		f.shards = append(f.shards, s)
	}
	log.Info().Int("shards", len(f.shards)).Msg("cluster source: one replica link per master")
	return f, nil
}

// joinFleet makes s the replica of one shard.
func (s *replica) joinFleet(m shardInfo) {
	name := "slot" + strconv.Itoa(m.first)
	s.shard = &shard{id: name, addr: m.addrs[0], slots: m.slots}
	s.srcAddrs = m.addrs
	s.srcCfg.Addr = m.addrs[0]
	s.log = s.log.With().Str("shard", name).Logger()
	s.srcCfg.Logger = s.srcCfg.Logger.With().Str("shard", name).Logger()
	s.target.cfg.Logger = s.target.cfg.Logger.With().Str("shard", name).Logger()
	s.target.log = s.log
	s.filters.log = s.log
	s.resume.log = s.log
	s.opts.CheckpointKey += ":" + name
	s.target.checkpointKey = s.opts.CheckpointKey
	if s.opts.HeartbeatKey != "" { // on the source: must hash to the shard's slots
		s.opts.HeartbeatKey += "{" + forwarder.SlotTag(m.first) + "}"
	}
	if s.opts.StateDir != "" {
		s.opts.StateDir += "/" + name
	}
}

// shardInfo is one master of a cluster source as discovered.
type shardInfo struct {
	addrs []string // the master first, then its replicas
	slots []bool
	first int // its lowest slot, which names the shard
}

// discoverShards reads the masters, their replicas and slots with
// CLUSTER SLOTS from the first seed that answers.
func discoverShards(ctx context.Context, src Endpoint, timeout time.Duration) ([]shardInfo, error) {
	var errs []error
	for _, addr := range src.Addrs {
		opt := &redis.Options{Addr: addr, Username: src.Username, Password: src.Password,
			DialTimeout: timeout, MaxRetries: -1, TLSConfig: src.tlsFor(addr)}
		c := redis.NewClient(opt)
		cctx, cancel := context.WithTimeout(ctx, timeout+5*time.Second)
		slots, err := c.ClusterSlots(cctx).Result()
		cancel()
		c.Close()
		if err == nil {
			return shardsOf(slots)
		}
		errs = append(errs, fmt.Errorf("%s: CLUSTER SLOTS: %w", addr, err))
	}
	return nil, errors.Join(errs...)
}

// shardsOf groups slot ranges by master.
func shardsOf(ranges []redis.ClusterSlot) ([]shardInfo, error) {
	byMaster := map[string]*shardInfo{}
	var order []string
	for _, r := range ranges {
		if len(r.Nodes) == 0 {
			continue
		}
		master := r.Nodes[0].Addr
		sh := byMaster[master]
		if sh == nil {
			sh = &shardInfo{slots: make([]bool, forwarder.SlotCount), first: r.Start}
			for _, n := range r.Nodes {
				sh.addrs = append(sh.addrs, n.Addr)
			}
			byMaster[master] = sh
			order = append(order, master)
		}
		for i := r.Start; i <= r.End && i < forwarder.SlotCount; i++ {
			sh.slots[i] = true
		}
		sh.first = min(sh.first, r.Start)
	}
	if len(order) == 0 {
		return nil, errors.New("CLUSTER SLOTS lists no master")
	}
	out := make([]shardInfo, 0, len(order))
	for _, m := range order {
		out = append(out, *byMaster[m])
	}
	return out, nil
}

// run runs every shard until ctx ends or one fails; a failure stops the
// others.
func (f *fleet) run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(f.shards))
	var wg sync.WaitGroup
	for i, s := range f.shards {
		sctx := s.startPolling(ctx)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if errs[i] = s.run(sctx); errs[i] != nil {
				cancel()
			}
		}()
	}
	wg.Wait()
	cancel() // the shards' pollers stop: wait for them
	for _, s := range f.shards {
		s.bg.Wait()
	}
	return errors.Join(errs...)
}

// Snapshot implements admin.Provider: the shards side by side.
func (f *fleet) Snapshot() admin.Status {
	var st admin.Status
	for i, s := range f.shards {
		one := s.Snapshot()
		if i == 0 {
			st = one
			st.Shards = nil
		}
		st.Shards = append(st.Shards, one.Shards...)
		st.ApplyingPaused = st.ApplyingPaused || one.ApplyingPaused
		if one.Phase != st.Phase && one.Phase != phaseStreaming {
			st.Phase = one.Phase // the fleet is as far as its slowest shard
		}
		if !one.Healthy {
			st.Healthy, st.Problem = false, strings.TrimSpace(st.Problem+" "+one.Problem)
		}
	}
	return st
}

// Cutover implements admin.Provider: every shard pauses its master and
// waits for its target to catch up, at the same time. Only once every
// shard caught up does each finish (fence its master, mark, cut off its
// clients, unpause); if one did not, every master is unpaused and the
// sync goes on. Offsets, lag in bytes and clients add up; times are the
// longest.
func (f *fleet) Cutover(ctx context.Context, timeout time.Duration, keepSyncing bool) (admin.CutoverResult, error) {
	paused := make([]*pausedSource, len(f.shards))
	errs := make([]error, len(f.shards))
	f.each(func(i int, s *replica) { paused[i], errs[i] = s.pauseAndDrain(ctx, timeout) })
	if err := errors.Join(errs...); err != nil {
		for _, p := range paused {
			if p != nil {
				err = errors.Join(err, p.abort(errors.New("another shard's cutover failed")))
			}
		}
		return admin.CutoverResult{}, err
	}
	results := make([]admin.CutoverResult, len(f.shards))
	f.each(func(i int, s *replica) { results[i], errs[i] = s.finishCutover(ctx, paused[i], keepSyncing) })
	res := results[0]
	for _, r := range results[1:] {
		res.SourceOffset += r.SourceOffset
		res.AppliedOffset += r.AppliedOffset
		res.LagBytes += r.LagBytes
		res.LagSeconds = max(res.LagSeconds, r.LagSeconds)
		res.WritesPaused = max(res.WritesPaused, r.WritesPaused)
		res.CaughtUp = max(res.CaughtUp, r.CaughtUp)
		res.ClientsKilled += r.ClientsKilled
		res.Rollback = append(res.Rollback, r.Rollback...)
		if r.PausedUntil.Before(res.PausedUntil) {
			res.PausedUntil = r.PausedUntil
		}
	}
	return res, errors.Join(errs...)
}

// each runs fn for every shard at once and waits for them all.
func (f *fleet) each(fn func(i int, s *replica)) {
	var wg sync.WaitGroup
	for i, s := range f.shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(i, s)
		}()
	}
	wg.Wait()
}

// PauseApplying implements admin.Provider.
func (f *fleet) PauseApplying() {
	for _, s := range f.shards {
		s.PauseApplying()
	}
}

// ResumeApplying implements admin.Provider.
func (f *fleet) ResumeApplying() {
	for _, s := range f.shards {
		s.ResumeApplying()
	}
}

// Shutdown implements admin.Provider.
func (f *fleet) Shutdown() {
	for _, s := range f.shards {
		s.Shutdown()
	}
}
