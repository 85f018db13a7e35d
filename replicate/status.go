package replicate

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/replicant/replicant/forwarder"
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
	src     atomic.Pointer[psync.Conn]  // the current source link, once it answered PSYNC
	fwd     atomic.Pointer[snapshotBox] // the snapshot writer, during a full sync

	restoreErrors atomic.Int64 // of finished snapshots

	barShown atomic.Bool // Config.OnSnapshot's progress stands in for the status lines
}

func newStatus() *status {
	st := &status{started: time.Now()}
	st.current.Store("starting")
	return st
}

func (st *status) setPhase(p string) { st.current.Store(p) }
func (st *status) phase() string     { return st.current.Load().(string) }

func (st *status) loop(ctx context.Context, s *replica, every time.Duration) {
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
			if !st.barShown.Load() {
				st.log(s, "status")
			}
		}
	}
}

// log writes one status line.
func (st *status) log(s *replica, msg string) {
	ev := s.log.Info().Str("phase", st.phase())
	restored, restoreErrors := s.snap.restored.Load(), st.restoreErrors.Load()
	if fwd := st.fwd.Load(); fwd != nil {
		fs := fwd.Stats()
		restored, restoreErrors = restored+fs.Restored, restoreErrors+fs.RestoreErrors
	}
	ev = ev.Int64("keys_restored", restored).Int64("restore_errors", restoreErrors)
	if src := st.src.Load(); src != nil && src.FullResync() && st.phase() == phaseSnapshot {
		ev = ev.Int64("rdb_received", src.SnapshotRead())
		if total := src.SnapshotSize(); total >= 0 {
			ev = ev.Int64("rdb_total", total) // unknown until the end when diskless
		}
	}
	if a := s.applier.Load(); a != nil {
		applied, refused := a.Counts()
		received, done := s.spool.End(), a.Applied()
		ev = ev.Int64("commands", applied).Int64("command_errors", refused).
			Int64("offset", received).Int64("applied", done).Int64("lag_bytes", max(0, received-done))
		if held := s.snap.skipped.held.Load(); held > 0 {
			ev = ev.Int64("commands_held_back", held) // writes to keys the snapshot skipped
		}
	}
	ev = s.filters.logStats(ev)
	ev.Str("uptime", time.Since(st.started).Round(time.Second).String()).Msg(msg)
}

// snapshotBox holds the snapshot writer of a full sync, for other
// goroutines to read its counts.
type snapshotBox struct{ forwarder.SnapshotWriter }

// summaryCounts are the totals of a sync for its summary line.
type summaryCounts struct {
	restored, restoreErrors, commands, refused int64
}

func (s *replica) summaryCounts() summaryCounts {
	st := s.status
	c := summaryCounts{restored: s.snap.restored.Load(), restoreErrors: st.restoreErrors.Load(),
		commands: s.pastCommands.Load(), refused: s.pastRefused.Load()}
	if fwd := st.fwd.Load(); fwd != nil {
		fs := fwd.Stats()
		c.restored, c.restoreErrors = c.restored+fs.Restored, c.restoreErrors+fs.RestoreErrors
	}
	if a := s.applier.Load(); a != nil {
		applied, refused := a.Counts()
		c.commands, c.refused = c.commands+applied, c.refused+refused
	}
	return c
}

// logSummary writes the last line of a sync: what it did in all, and how
// it ended (err nil: stopped cleanly).
func (s *replica) logSummary(err error) {
	logSummary(s.log, s.summaryCounts(), s.status.started, err, s.filters.logStats)
}

// logSummary writes the last line of a sync from a cluster source: the
// totals of every shard.
func (f *fleet) logSummary(err error) {
	var c summaryCounts
	for _, s := range f.shards {
		one := s.summaryCounts()
		c.restored, c.restoreErrors = c.restored+one.restored, c.restoreErrors+one.restoreErrors
		c.commands, c.refused = c.commands+one.commands, c.refused+one.refused
	}
	logSummary(f.log, c, f.shards[0].status.started, err, func(ev *zerolog.Event) *zerolog.Event { return ev })
}

func logSummary(log zerolog.Logger, c summaryCounts, started time.Time, err error, more func(*zerolog.Event) *zerolog.Event) {
	ended := "stopped"
	if err != nil {
		ended = "failed"
	}
	more(log.Info().Str("ended", ended).Int64("keys_restored", c.restored).
		Int64("commands_applied", c.commands).Int64("errors", c.restoreErrors+c.refused).
		Int64("restore_errors", c.restoreErrors).Int64("command_errors", c.refused)).
		Str("duration", time.Since(started).Round(time.Millisecond).String()).Msg("sync ended")
}
