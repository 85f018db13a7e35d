package forwarder

import (
	"fmt"
	"sync/atomic"

	"github.com/replicant/replicant/resp"
)

// readLoop reads the target's replies and matches each to the oldest entry
// of the ring, until the connection fails or is closed.
func (f *Standalone) readLoop() {
	defer close(f.done)
	for {
		rep, err := f.rd.ReadReply()
		if err != nil {
			f.fail(f.lost(err))
			return
		}
		if f.vet != nil {
			if err := f.vet(&rep); err != nil {
				f.fail(err)
				return
			}
		}
		if err := f.handle(&rep); err != nil {
			f.fail(err)
			return
		}
	}
}

// handle accounts for the oldest entry with its reply, then retires it.
// The entry stays in the ring (and counts as pending) until its reply is
// counted and logged, so that Stats and logs are final when Drain returns.
func (f *Standalone) handle(rep *resp.Reply) error {
	failed := rep.Kind == resp.Error || rep.Kind == resp.BulkError
	e, lbl, ok := f.peek(failed)
	if !ok {
		return fmt.Errorf("forwarder: target %s: %w: reply %q with no command pending",
			f.addr, resp.ErrProtocol, rep.String())
	}
	err := f.account(&e, lbl, rep, failed)
	f.retire()
	return err
}

// peek returns a copy of the oldest entry and, when the reply needs it for
// a log line, the command's label.
func (f *Standalone) peek(failed bool) (e entry, lbl label, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ring.n == 0 {
		return e, lbl, false
	}
	e = f.ring.buf[f.ring.head]
	if failed || (e.hold && e.kind != kindMulti) {
		lbl = labelOf(e.bytes())
	}
	return e, lbl, true
}

// retire removes the oldest entry, advances the applied offset and wakes a
// waiting caller. The offset is read now: skip may have raised it.
func (f *Standalone) retire() {
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.ring.pop()
	f.release(e.ch)
	if !e.hold && e.offset != noOffset {
		f.applied.Store(e.offset)
	}
	f.stats.pending.Store(int64(f.ring.n))
	if f.ready != nil && f.ready() {
		f.ready = nil
		select {
		case f.wake <- struct{}{}:
		default:
		}
	}
}

// release drops one reference to c (f.mu held).
func (f *Standalone) release(c *chunk) {
	c.refs--
	if c.refs == 0 && c.sealed {
		f.recycle(c)
	}
}

// account counts and logs one reply. Only a refused SELECT is an error:
// the commands after it would land in the wrong db.
func (f *Standalone) account(e *entry, lbl label, rep *resp.Reply, failed bool) error {
	c := &f.stats
	switch e.kind {
	case kindRestore:
		count(failed, &c.restored, &c.restoreErrors)
	case kindFunction:
		count(failed, &c.functions, &c.functionErrors)
	case kindRewriteFirst:
		count(failed, &c.restored, &c.restoreErrors)
	case kindRewrite:
		if failed {
			c.restoreErrors.Add(1)
		}
	case kindStrings:
		f.stringsReplied(e, lbl, rep, failed)
		return nil
	case kindSelect:
		return f.selected(e, lbl, rep, failed)
	case kindMulti:
		f.queued = f.queued[:0]
		count(failed, &c.commands, &c.commandErrors)
	case kindCommand:
		count(failed, &c.commands, &c.commandErrors)
		if e.hold && !failed {
			f.queued = append(f.queued, lbl)
		}
	case kindExec, kindDiscard:
		count(failed, &c.commands, &c.commandErrors)
		var err error
		if e.kind == kindExec && !failed {
			err = f.execResults(rep)
		}
		f.queued = f.queued[:0]
		if failed {
			f.warn(lbl, rep) // EXECABORT, EXEC without MULTI
		}
		return err
	}
	if failed {
		f.warn(lbl, rep)
	}
	return nil
}

// count adds one to ok or to bad.
func count(failed bool, ok, bad *atomic.Int64) {
	if failed {
		bad.Add(1)
	} else {
		ok.Add(1)
	}
}

// selected handles the reply to a SELECT.
func (f *Standalone) selected(e *entry, lbl label, rep *resp.Reply, failed bool) error {
	if e.offset != noOffset {
		count(failed, &f.stats.commands, &f.stats.commandErrors)
	}
	if e.hold && !failed {
		f.queued = append(f.queued, lbl)
	}
	if !failed {
		return nil
	}
	return fmt.Errorf("forwarder: target %s refused %s: %w", f.addr, lbl, rep.Err())
}

// execResults logs and counts the failed commands inside an EXEC reply.
func (f *Standalone) execResults(rep *resp.Reply) error {
	for i := range rep.Elems {
		el := &rep.Elems[i]
		if el.Kind != resp.Error && el.Kind != resp.BulkError {
			continue
		}
		f.stats.commandErrors.Add(1)
		var lbl label
		if i < len(f.queued) {
			lbl = f.queued[i]
		}
		if is(lbl.name, "SELECT") {
			return fmt.Errorf("forwarder: target %s refused %s in MULTI: %w", f.addr, lbl, el.Err())
		}
		f.warn(lbl, el)
	}
	return nil
}

// warn logs one error reply with the command it answers.
func (f *Standalone) warn(lbl label, rep *resp.Reply) {
	f.log.Warn().Bytes("cmd", lbl.name).Bytes("key", lbl.arg).Bytes("error", rep.Str).
		Msg("target refused a command")
}
