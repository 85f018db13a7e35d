package forwarder

import (
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/replicant/replicant/resp"
	"github.com/rs/zerolog"
)

var (
	argRestore  = []byte("RESTORE")
	argReplace  = []byte("REPLACE")
	argAbsTTL   = []byte("ABSTTL")
	argSelect   = []byte("SELECT")
	argFunction = []byte("FUNCTION")
	argLoad     = []byte("LOAD")
	argScript   = []byte("SCRIPT")
)

// Standalone writes to one standalone Redis server over one connection.
//
// Restore, SetString, LoadFunction, Command, Flush, Drain and SetApplied
// must be called from one goroutine. Applied, Stats, Err and Close may be called from any.
type Standalone struct {
	addr string
	log  zerolog.Logger
	conn net.Conn
	rd   *resp.Reader

	// Owned by the caller's goroutine.
	cur         *chunk    // chunk being filled
	db          int       // db of the connection once all encoded commands ran; -1 = unknown
	inMulti     bool      // a MULTI was sent and its EXEC or DISCARD not yet
	multiSelect bool      // a SELECT was sent inside the current MULTI
	args        [6][]byte // scratch for Restore's arguments
	num         [20]byte  // scratch for a number argument

	strs stringBatch // SetString's keys not yet sent

	mu       sync.Mutex
	ring     ring     // commands encoded and not yet answered
	free     []*chunk // recycled chunks of chunkSize
	maxFree  int
	ready    func() bool // set while the caller waits: wake it when true
	maxBytes int         // WindowBytes

	wake   chan struct{} // capacity 1: a reply freed space
	done   chan struct{} // closed when the reply reader ends
	sticky               // the error that ended it

	applied atomic.Int64
	stats   counters

	// vet, when set before the reader starts, sees each reply before it is
	// accounted for; an error fails the writer (the reader goroutine's).
	vet func(rep *resp.Reply) error

	queued []label // reader goroutine only: commands queued in the current MULTI
}

type counters struct {
	restored, restoreErrors, functions, functionErrors atomic.Int64
	commands, commandErrors, skipped, pending, peak    atomic.Int64
}

func newStandalone(cfg Config, conn net.Conn, rd *resp.Reader) *Standalone {
	return &Standalone{
		addr:     cfg.Addr,
		log:      cfg.Logger.With().Str("target", cfg.Addr).Logger(),
		conn:     conn,
		rd:       rd,
		ring:     newRing(cfg.Window),
		maxFree:  cfg.WindowBytes/chunkSize + 2,
		maxBytes: cfg.WindowBytes,
		strs:     stringBatch{maxKeys: cfg.StringBatch, maxBytes: cfg.StringBatchBytes},
		wake:     make(chan struct{}, 1),
		sticky:   newSticky(),
		done:     make(chan struct{}),
	}
}

// Restore sends SELECT db when the connection is in another db, then
// RESTORE key ttl payload REPLACE, with ABSTTL and ttl = expireAtMs when
// expireAtMs is not 0 (a Unix time in milliseconds), else ttl 0. It copies
// key and payload before it returns. It blocks while the window is full. A
// refusal by the target is logged and counted, not returned.
func (f *Standalone) Restore(db int, key []byte, expireAtMs int64, payload []byte) error {
	if err := f.flushStrings(); err != nil {
		return err
	}
	if err := f.selectDB(db); err != nil {
		return err
	}
	ttl := strconv.AppendInt(f.num[:0], expireAtMs, 10)
	args := append(f.args[:0], argRestore, key, ttl, payload, argReplace)
	if expireAtMs != 0 {
		args = append(args, argAbsTTL)
	}
	return f.send(entry{kind: kindRestore, offset: noOffset}, args)
}

// selectDB sends SELECT db before a snapshot command when needed.
func (f *Standalone) selectDB(db int) error {
	if db == f.db {
		return nil
	}
	n := strconv.AppendInt(f.num[:0], int64(db), 10)
	if err := f.send(entry{kind: kindSelect, offset: noOffset}, [][]byte{argSelect, n}); err != nil {
		return err
	}
	f.db = db
	return nil
}

// Rewrite sends one command rebuilding a snapshot key, after SELECT db
// when needed. A refusal is logged and counted in Stats.RestoreErrors.
func (f *Standalone) Rewrite(db int, args [][]byte, first bool) error {
	if err := f.flushStrings(); err != nil {
		return err
	}
	if err := f.selectDB(db); err != nil {
		return err
	}
	k := kindRewrite
	if first {
		k = kindRewriteFirst
	}
	return f.send(entry{kind: k, offset: noOffset}, args)
}

// LoadScript sends SCRIPT LOAD body.
func (f *Standalone) LoadScript(body []byte) error {
	if err := f.flushStrings(); err != nil {
		return err
	}
	args := append(f.args[:0], argScript, argLoad, body)
	return f.send(entry{kind: kindFunction, offset: noOffset}, args)
}

// LoadFunction sends FUNCTION LOAD REPLACE code (Redis 7.0+).
func (f *Standalone) LoadFunction(code []byte) error {
	if err := f.flushStrings(); err != nil {
		return err
	}
	args := append(f.args[:0], argFunction, argLoad, argReplace, code)
	return f.send(entry{kind: kindFunction, offset: noOffset}, args)
}

// SetApplied sets the offset Applied reports until a live command is
// answered: the offset of +FULLRESYNC or of the resumed stream.
func (f *Standalone) SetApplied(off int64) { f.applied.Store(off) }

// Applied returns the stream offset just after the newest live command such
// that it and every command before it were answered by the target (error
// replies included). Commands not sent (PING, REPLCONF) count as answered
// once the commands before them are. A MULTI and the commands queued in it
// count only when the reply to its EXEC comes.
func (f *Standalone) Applied() int64 { return f.applied.Load() }

// Stats returns the counters.
func (f *Standalone) Stats() Stats {
	c := &f.stats
	return Stats{
		Restored: c.restored.Load(), RestoreErrors: c.restoreErrors.Load(),
		Functions: c.functions.Load(), FunctionErrors: c.functionErrors.Load(),
		Commands: c.commands.Load(), CommandErrors: c.commandErrors.Load(),
		Skipped: c.skipped.Load(), Pending: c.pending.Load(), PeakPending: c.peak.Load(),
	}
}

// Close closes the connection without waiting for replies (call Drain
// first to keep them) and waits for the reply reader to end. Every later
// call returns an error. It may be called from any goroutine, and unblocks
// a call waiting for the window or a write.
func (f *Standalone) Close() error {
	f.fail(fmt.Errorf("forwarder: target %s: %w", f.addr, ErrClosed))
	<-f.done
	return nil
}

// fail sets the sticky error once and closes the connection. It reports
// whether err was the first.
func (f *Standalone) fail(err error) bool {
	if !f.set(err) {
		return false
	}
	f.conn.Close()
	return true
}
