package main

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/replicant/replicant/psync"
)

// Phases of a sync, as shown in the status line.
const (
	phaseHandshake = "handshake"
	phaseSnapshot  = "snapshot"
	phaseStreaming = "streaming"
)

// status holds what the periodic status line reports.
type status struct {
	current atomic.Value // string
	started time.Time
	src     atomic.Pointer[psync.Conn] // set once the source answered PSYNC
}

func newStatus() *status {
	st := &status{started: time.Now()}
	st.current.Store("starting")
	return st
}

func (st *status) setPhase(p string) { st.current.Store(p) }
func (st *status) phase() string     { return st.current.Load().(string) }

func (st *status) loop(ctx context.Context, s *syncer, every time.Duration) {
	if every <= 0 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			st.log(s, "status")
		}
	}
}

// log writes one status line.
func (st *status) log(s *syncer, msg string) {
	ev := s.log.Info().Str("phase", st.phase())
	if s.fwd != nil {
		fs := s.fwd.Stats()
		ev = ev.Int64("keys_restored", fs.Restored).Int64("restore_errors", fs.RestoreErrors).
			Int64("commands", fs.Commands).Int64("command_errors", fs.CommandErrors)
	}
	if src := st.src.Load(); src != nil {
		received, applied := src.Received(), s.fwd.Applied()
		if src.FullResync() {
			ev = ev.Int64("rdb_received", src.SnapshotRead())
			if total := src.SnapshotSize(); total >= 0 {
				ev = ev.Int64("rdb_total", total) // unknown until the end when diskless
			}
		}
		ev = ev.Int64("offset", received).Int64("applied", applied).Int64("lag_bytes", max(0, received-applied))
	}
	ev.Str("uptime", time.Since(st.started).Round(time.Second).String()).Msg(msg)
}
