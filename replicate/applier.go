package replicate

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/replicant/replicant/forwarder"
	"github.com/replicant/replicant/resp"
	"github.com/replicant/replicant/spool"
)

// errTargetLostData means the target's checkpoint is gone or outside what
// the spool holds (the target restarted empty, or was flushed): only a full
// resync can make it equal to the source again.
var errTargetLostData = errors.New("the target no longer holds a checkpoint replicant can continue from")

// applier applies the spooled stream to the target in atomic batches, each
// with its checkpoint, and after a target outage reconnects and goes on
// from the checkpoint the target holds: nothing is applied twice, nothing
// is missed.
type applier struct {
	s      *replica
	cancel context.CancelFunc
	done   chan struct{}

	txn      atomic.Pointer[streamWriterBox]
	applied  atomic.Int64
	commands atomic.Int64 // applied by closed connections
	refused  atomic.Int64
	skip     map[int64]string       // commands the target refuses for good, by end offset
	problem  atomic.Pointer[string] // why applying stopped, until a session reads the checkpoint again
}

// Problem says why the target is not being applied to (unreachable, or
// applying failed and waits to be retried); "" while it is.
func (a *applier) Problem() string {
	if p := a.problem.Load(); p != nil {
		return *p
	}
	return ""
}

// keepCounts adds the counts of a stopped applier to the replica's, for the
// summary at exit.
func (a *applier) keepCounts() {
	applied, refused := a.Counts()
	a.s.pastCommands.Add(applied)
	a.s.pastRefused.Add(refused)
}

// startApplier starts applying from the target's checkpoint. It runs until
// stop, not until ctx ends: on a stop request the spool is applied first.
func (s *replica) startApplier(ctx context.Context, from int64) *applier {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a := &applier{s: s, cancel: cancel, done: make(chan struct{}), skip: map[int64]string{}}
	a.applied.Store(from)
	s.filters.loadKeySpecs(ctx, s.target.kind != KindStandalone, s.sourceClientOptions)
	go a.run(ctx)
	return a
}

// stopGrace is how long stop waits for the applier before it closes the
// target's connection: a target that stopped reading (SIGSTOP, a host gone
// without a reset) would hold a Commit forever.
const stopGrace = 5 * time.Second

// exitGrace is stopGrace at exit: enough for a target that answers to
// answer what is in flight.
const exitGrace = 2 * time.Second

// stop ends the applier and waits for it: after stopGrace the target's
// connection is closed, which ends a blocked Commit within the writer's
// close wait.
func (a *applier) stop() {
	a.cancel()
	if !a.wait(stopGrace) {
		a.closeTarget()
		<-a.done
	}
	a.keepCounts()
}

// stopForExit is stop for a process about to exit, which has waited for
// the target already (finish): after exitGrace it closes the target's
// connection, waits a second more and returns, whether or not the applier
// ended. Nothing is lost: the target's checkpoint says what it holds, and
// the rest is in the spool.
func (a *applier) stopForExit() {
	defer a.keepCounts()
	a.cancel()
	if a.wait(exitGrace) {
		return
	}
	a.closeTarget()
	if !a.wait(time.Second) {
		if a.s.resume.temp {
			a.s.log.Warn().Msg("target: not answering; exiting without waiting for it (the target's checkpoint keeps where it stands; the temporary spool goes)")
		} else {
			a.s.log.Warn().Msg("target: not answering; exiting without waiting for it (the spool and the target's checkpoint keep where it stands)")
		}
	}
}

func (a *applier) wait(d time.Duration) bool {
	select {
	case <-a.done:
		return true
	case <-time.After(d):
		return false
	}
}

// closeTarget closes the current target connection, without waiting.
func (a *applier) closeTarget() {
	if t := a.txn.Load(); t != nil {
		go t.Close()
	}
}

// Applied returns the offset the target has confirmed.
func (a *applier) Applied() int64 {
	if t := a.txn.Load(); t != nil {
		if v := t.Applied(); v > a.applied.Load() {
			a.applied.Store(v)
		}
	}
	return a.applied.Load()
}

// Counts returns the commands applied and refused so far.
func (a *applier) Counts() (applied, refused int64) {
	applied, refused = a.commands.Load(), a.refused.Load()
	if t := a.txn.Load(); t != nil {
		ta, tr := t.Counts()
		applied, refused = applied+ta, refused+tr
	}
	return applied, refused
}

func (a *applier) run(ctx context.Context) {
	defer close(a.done)
	wait := 200 * time.Millisecond
	for ctx.Err() == nil {
		started := time.Now()
		err := a.session(ctx)
		if ctx.Err() != nil {
			return
		}
		var ae *forwarder.AbortError
		switch {
		case errors.Is(err, errTargetLostData), errors.Is(err, forwarder.ErrDiverged):
			a.s.requestFullResync(err)
			return
		case errors.Is(err, spool.ErrCorrupt):
			a.s.requestFullResync(err)
			return
		case errors.As(err, &ae) && ae.Redirect:
			a.s.log.Debug().Err(err).Msg("target: a slot moved; going on from the checkpoints with a fresh slot map")
			time.Sleep(20 * time.Millisecond) // an ASK lasts while the slot migrates
			continue
		case errors.As(err, &ae) && !ae.Transient:
			a.skipRefused(ae.Refused)
			continue // at once, without the refused commands
		}
		if time.Since(started) > time.Minute {
			wait = 200 * time.Millisecond
		}
		problem := "target: applying stopped: " + err.Error()
		a.problem.Store(&problem)
		a.s.log.Warn().Err(err).Str("retry_in", wait.String()).Msg("target: applying stopped; will go on from its checkpoint")
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, a.s.opts.RetryMax)
	}
}

// session connects to the target and applies from its checkpoint until
// something fails.
func (a *applier) session(ctx context.Context) error {
	t, err := a.s.target.dialStream(ctx)
	if err != nil {
		return err
	}
	box := &streamWriterBox{t}
	defer a.retire(box)
	cp, _, ok := t.Checkpoint()
	sp := a.s.spool
	if !ok || !a.s.resume.knows(cp.ReplID) || cp.Offset < sp.Start() || cp.Offset > sp.End() {
		return fmt.Errorf("%w (checkpoint %q, spool holds %d-%d)", errTargetLostData, cp.String(), sp.Start(), sp.End())
	}
	t.SetApplied(cp.Offset)
	a.txn.Store(box)
	a.problem.Store(nil)
	a.s.log.Info().Int64("offset", cp.Offset).Int("db", cp.DB).Msg("target: applying the stream from its checkpoint")
	err = a.applyFrom(ctx, t, cp)
	t.Close() // waits for the replies in flight: they may tell of a divergence
	if terr := t.Err(); errors.Is(terr, forwarder.ErrDiverged) {
		return terr
	}
	return err
}

// skipRefused adds the commands a target refused for good to those left
// out from now on, each counted once. Entries the target's checkpoint has
// passed are dropped, so the map holds only what may be replayed.
func (a *applier) skipRefused(refused map[int64]string) {
	applied := a.Applied()
	for off := range a.skip {
		if off <= applied {
			delete(a.skip, off)
		}
	}
	for off, what := range refused {
		if _, seen := a.skip[off]; !seen && off > applied {
			a.skip[off] = what
			a.refused.Add(1)
		}
	}
}

// retire closes t and keeps its counts.
func (a *applier) retire(t *streamWriterBox) {
	a.Applied()
	t.Close()
	if a.txn.CompareAndSwap(t, nil) {
		ta, tr := t.Counts()
		a.commands.Add(ta)
		a.refused.Add(tr)
	}
}

// streamWriterBox holds the stream writer of the current target connection, for
// other goroutines to read its counts.
type streamWriterBox struct{ forwarder.StreamWriter }

// batch bounds: a batch is committed when nothing more is waiting, or at
// these sizes, but never inside a transaction of the source.
const (
	batchMaxCommands = 2000
	batchMaxBytes    = 1 << 20
)

// applyFrom reads the spool from cp and applies it in batches.
func (a *applier) applyFrom(ctx context.Context, t forwarder.StreamWriter, cp forwarder.Checkpoint) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-t.Dead():
			cancel()
		case <-ctx.Done():
		}
	}()
	r := a.s.spool.NewReader(ctx, cp.Offset)
	defer r.Close()
	rd := resp.NewReader(r, 256<<10)
	b := batcher{a: a, t: t, off: cp.Offset, db: cp.DB}
	b.hold, _ = t.(holder)
	for {
		idle := rd.Buffered().Buffered() == 0 && r.Available() == 0
		if b.holds(idle) && ctx.Err() == nil {
			select { // what comes meanwhile is read at once after
			case <-b.hold.Answered():
			case <-ctx.Done():
			}
			continue
		}
		if b.due(idle) {
			if err := b.commit(); err != nil {
				return err
			}
		}
		if !b.open {
			if err := a.s.ctl.pause.wait(ctx); err != nil { // PAUSE on the admin endpoint
				return err
			}
		}
		args, size, err := rd.ReadCommand()
		if err != nil {
			if terr := t.Err(); terr != nil {
				return terr
			}
			return err
		}
		if a.s.shard != nil && isFlush(args) {
			if err := b.sweep(ctx, size); err != nil {
				return err
			}
			continue
		}
		b.add(args, size)
	}
}

// holder is a stream writer that tells when its batches are answered
// (forwarder.Txn): the batcher holds an idle batch back while another is in
// flight.
type holder interface {
	Pending() int
	Answered() <-chan struct{}
}

// batcher groups stream commands into checkpointed transactions.
type batcher struct {
	a       *applier
	t       forwarder.StreamWriter
	off     int64 // offset just after the last command read
	db      int   // the stream's db at off
	open    bool  // a batch is begun
	n       int
	inMulti bool // inside MULTI ... EXEC of the source
	trimmed time.Time
	hold    holder // t, when it tells of its batches in flight
}

// holds says a batch that is due only because the stream is idle waits
// instead: another batch is in flight, and this one is sent once the
// target answers that one, with what of the stream came meanwhile. The
// target runs batches in order, so this one would not run sooner; under
// load batches grow, and their fixed cost (the fence, the checkpoint, a
// write and a read on the target, a read of the spool, a wake-up) is
// shared by more commands. When the stream is quiet nothing is in flight
// and nothing waits. A batch at its size bounds never waits.
func (b *batcher) holds(idle bool) bool {
	return idle && b.hold != nil && !b.due(false) && b.due(true) && b.hold.Pending() > 0
}

func (b *batcher) due(idle bool) bool {
	return b.open && !b.inMulti && (idle || b.n >= batchMaxCommands || b.t.Size() >= batchMaxBytes)
}

func (b *batcher) add(args [][]byte, size int) {
	b.off += int64(size)
	if !b.open {
		b.t.Begin(b.a.s.filters.mapDB(b.db)) // the target's db; the checkpoint keeps the source's
		b.open, b.n = true, 0
	}
	b.n++
	if len(args) == 0 {
		return
	}
	switch name := args[0]; {
	case eq(name, "PING"), eq(name, "REPLCONF"):
	case eq(name, "MULTI"):
		b.inMulti = true // never committed inside: the batch holds it whole
		b.t.Add(args, b.off)
	case eq(name, "EXEC"):
		b.inMulti = false
		b.t.Add(args, b.off)
	case eq(name, "SELECT"):
		if len(args) == 2 {
			if db, err := strconv.Atoi(string(args[1])); err == nil {
				b.db = db
			}
		}
		b.t.Add(b.a.s.filters.selectArgs(args, b.db), b.off)
	default:
		if what, bad := b.a.skip[b.off]; bad {
			b.a.s.log.Warn().Int64("offset", b.off).Str("refused", what).Msg("target: command left out, the target refuses it")
			return
		}
		if b.a.s.snap.skipped.holdBack(b.db, args, b.a.s.filters.commandKeys, b.a.s.log) {
			return
		}
		b.a.s.ctl.hb.saw(b.a.s.opts.HeartbeatKey, b.db, args, b.off)
		if args = b.a.s.filters.command(b.db, b.off, args); args == nil {
			return // left out; the offset moved on all the same
		}
		b.t.Add(b.a.s.expiry.Command(args), b.off)
	}
}

// isFlush reports a FLUSHALL or FLUSHDB.
func isFlush(args [][]byte) bool {
	return len(args) > 0 && (eq(args[0], "FLUSHALL") || eq(args[0], "FLUSHDB"))
}

// sweep applies a FLUSHALL or FLUSHDB of one shard of a cluster source,
// which must not remove the other shards' keys on the target: what comes
// before it is committed, the shard's keys are removed from the target,
// and the checkpoint after it comes with the next batch. A crash in
// between replays the sweep, which is harmless.
func (b *batcher) sweep(ctx context.Context, size int) error {
	if b.inMulti {
		// The sweep is not a command of the batch: the source's
		// transaction is applied in two parts, around it.
		b.a.s.log.Warn().Int64("offset", b.off).Msg("a FLUSHALL or FLUSHDB inside a transaction of one shard of a cluster source: the transaction is applied in two parts, before and after the removal of the shard's keys")
	}
	if b.open {
		if err := b.commit(); err != nil {
			return err
		}
	}
	if err := b.t.Drain(ctx); err != nil {
		return err
	}
	if err := b.a.s.sweepTarget(ctx); err != nil {
		return err
	}
	b.off += int64(size)
	b.t.Begin(b.a.s.filters.mapDB(b.db))
	b.open, b.n = true, 0
	return nil
}

func (b *batcher) commit() error {
	cp := forwarder.Checkpoint{ReplID: b.a.s.resume.replID(), Offset: b.off, DB: b.db}
	b.open = false
	if err := b.t.Commit(cp, ""); err != nil {
		return err
	}
	if time.Since(b.trimmed) > time.Second {
		b.trimmed = time.Now()
		return b.a.s.spool.Trim(b.a.Applied())
	}
	return nil
}
