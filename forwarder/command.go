package forwarder

import "strconv"

// Command forwards one command of the replication stream; endOffset is the
// stream offset just after it. args may alias the caller's buffer: they are
// encoded before Command returns.
//
//   - PING and REPLCONF are not sent; their offset counts once the commands
//     before them are answered.
//   - SELECT is sent only when it changes the connection's db.
//   - MULTI, the commands in it and EXEC or DISCARD are sent as they come;
//     their offsets count when the reply to EXEC or DISCARD comes.
//   - Everything else is sent as is.
//
// It blocks while the window is full. An error reply is logged and counted,
// not returned; the error returned is the sticky one (connection lost,
// closed, or a SELECT the target refused).
func (f *Standalone) Command(args [][]byte, endOffset int64) error {
	if err := f.Err(); err != nil {
		return err
	}
	if err := f.flushStrings(); err != nil {
		return err
	}
	if len(args) == 0 {
		return f.skip(endOffset)
	}
	e := entry{kind: kindCommand, offset: endOffset, hold: f.inMulti}
	switch name := args[0]; {
	case is(name, "PING"), is(name, "REPLCONF"):
		return f.skip(endOffset)
	case is(name, "SELECT"):
		return f.liveSelect(args, endOffset)
	case is(name, "MULTI"):
		f.inMulti, f.multiSelect = true, false
		e.kind, e.hold = kindMulti, true
	case is(name, "EXEC"), is(name, "DISCARD"):
		e.kind, e.hold = kindExec, false
		if is(name, "DISCARD") {
			e.kind = kindDiscard
		}
		f.endMulti()
	}
	return f.send(e, args)
}

// is reports whether name equals upper (an upper-case ASCII word),
// ignoring case.
func is(name []byte, upper string) bool {
	if len(name) != len(upper) {
		return false
	}
	for i, c := range name {
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c != upper[i] {
			return false
		}
	}
	return true
}

// endMulti forgets the MULTI state. A SELECT inside it may or may not have
// run (EXECABORT, DISCARD), so the db becomes unknown.
func (f *Standalone) endMulti() {
	if f.multiSelect {
		f.db = -1
	}
	f.inMulti, f.multiSelect = false, false
}

// liveSelect sends a SELECT of the stream unless the connection is in that
// db already (outside MULTI).
func (f *Standalone) liveSelect(args [][]byte, endOffset int64) error {
	db := -1
	if len(args) == 2 {
		if n, err := strconv.Atoi(string(args[1])); err == nil && n >= 0 {
			db = n
		}
	}
	if db >= 0 && db == f.db && !f.inMulti {
		return f.skip(endOffset)
	}
	e := entry{kind: kindSelect, offset: endOffset, hold: f.inMulti}
	if err := f.send(e, args); err != nil {
		return err
	}
	f.db = db
	if f.inMulti {
		f.multiSelect = true
	}
	return nil
}

// skip accounts for a live command that is not sent: its offset becomes
// the applied one when everything before it is answered.
func (f *Standalone) skip(endOffset int64) error {
	f.stats.skipped.Add(1)
	if f.inMulti {
		return nil // the EXEC's offset covers it
	}
	f.mu.Lock()
	if last := f.ring.last(); last != nil {
		if !last.hold {
			last.offset = endOffset
		}
	} else {
		f.applied.Store(endOffset)
	}
	f.mu.Unlock()
	return nil
}
