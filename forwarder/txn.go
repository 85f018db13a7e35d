package forwarder

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/replicant/replicant/resp"
)

// Txn applies the live stream to a standalone target in atomic batches:
//
//	WATCH <key>, EVAL <fence> <key> <previous checkpoint>,
//	MULTI, SELECT <db>, the batch's commands, SELECT 0, SET <key> "<replid> <offset>", EXEC
//
// so that the checkpoint key always names exactly the offset the target
// holds: after any crash or outage, applying again from the checkpoint
// applies nothing twice and misses nothing.
//
// Batches are pipelined, so the server runs batch n+1 before the writer
// reads batch n's reply. When batch n is not applied (EXECABORT), the
// checkpoint key still holds batch n-1's value; the fence script of batch
// n+1 sees that it is not batch n's and touches the watched key, so EXEC
// of n+1 discards it too, and so on down the pipeline: no batch after one
// that did not apply is applied, and the checkpoint never passes it.
//
// Commands the target does not know, or sent with a count of arguments it
// refuses (its COMMAND table, read on connecting), would abort a whole
// batch: they are left out alone, counted and logged.
//
// Begin, Add, Commit and Drain must be called from one goroutine; Applied,
// Stats, Err and Close from any.
type Txn struct {
	addr  string
	key   []byte
	log   zerolog.Logger
	conn  net.Conn
	rd    *resp.Reader
	table *commandTable // nil: the target refused COMMAND
	prev  []byte        // what the checkpoint key holds once every batch sent applied

	cur     *txnBatch
	batches chan *txnBatch // committed, awaiting EXEC's reply; bounds the pipeline
	free    chan *txnBatch // answered, for Begin to reuse
	idle    sync.WaitGroup // one per batch in flight
	pending atomic.Int32   // batches in flight
	answer  chan struct{}  // a token after each batch answered (or given up)

	checkpoint Checkpoint
	found      bool // the key exists
	valid      bool // and holds a checkpoint
	applied    atomic.Int64
	sending    atomic.Int32 // Commit is writing a batch
	commands   atomic.Int64
	errors     atomic.Int64

	sticky               // the error that ended it
	wake     sync.Mutex  // guards the two below (awaitReply)
	waiting  bool        // the reader waits for a reply with no batch taken
	woken    bool        // fail set a read deadline to wake it
	diverged atomic.Bool // a batch applied after one that did not

	fenceWarned bool // the reader logged a failed fence
	done        chan struct{}
}

// Checkpoint is what the checkpoint key says the target holds: the
// stream up to Offset of the source ReplID, with DB the stream's selected
// db at that point.
type Checkpoint struct {
	ReplID string
	Offset int64
	DB     int
}

// String encodes the checkpoint as stored: "<replid> <offset> <db>".
func (c Checkpoint) String() string {
	return c.ReplID + " " + strconv.FormatInt(c.Offset, 10) + " " + strconv.Itoa(c.DB)
}

// appendTo appends what String returns.
func (c Checkpoint) appendTo(b []byte) []byte {
	b = append(append(b, c.ReplID...), ' ')
	b = append(strconv.AppendInt(b, c.Offset, 10), ' ')
	return strconv.AppendInt(b, int64(c.DB), 10)
}

// AbortError is a batch the target refused whole (EXECABORT): nothing of it
// was applied. Transient says the cause may pass (LOADING, BUSY, OOM...);
// otherwise Refused names the commands the target will never take, by the
// stream offset just after each.
type AbortError struct {
	Transient bool
	Redirect  bool             // a cluster slot moved (MOVED, ASK): send again at once
	Fenced    bool             // discarded because a batch before it was not applied
	Cause     string           // the target's first error of a transient refusal (OOM, READONLY...)
	Refused   map[int64]string // end offset → "COMMAND key: error"
}

func (e *AbortError) Error() string {
	if e.Fenced {
		return "target discarded a batch: the checkpoint key was not as the batches before it left it"
	}
	if e.Transient && e.Cause != "" {
		return "target refused a batch for now (" + e.Cause + "); it will be sent again"
	}
	if e.Transient {
		return "target refused a batch for now (EXECABORT); it will be sent again"
	}
	parts := make([]string, 0, len(e.Refused))
	for _, v := range e.Refused {
		parts = append(parts, v)
	}
	return "target refused commands in a batch (EXECABORT): " + strings.Join(parts, "; ")
}

type txnBatch struct {
	buf    []byte  // WATCH ... EXEC, encoded
	starts []int   // where each of the caller's commands starts in buf
	offs   []int64 // the stream offset just after each
	end    int64
	errs   []queuedError // the error replies to MULTI's queued commands
}

// queuedError is the error reply to the i-th command queued in a batch's
// MULTI: 0 is SELECT db, 1 to len(starts) the caller's commands, then
// SELECT 0 and SET.
type queuedError struct {
	i   int
	rep resp.Reply
}

// Batch buffers are reused: one of batchBufSize to start, and one grown
// past maxKeptBatch (a huge command) is not kept.
const (
	batchBufSize = 64 << 10
	maxKeptBatch = 4 << 20
	maxBatches   = 16 // batches committed and not yet answered
)

// DialTxn connects, authenticates and reads the checkpoint key (in db 0).
func DialTxn(ctx context.Context, cfg Config, key string) (*Txn, error) {
	cfg = cfg.withDefaults()
	conn, rd, err := connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	t := &Txn{
		addr: cfg.Addr, key: []byte(key), conn: conn, rd: rd,
		log:     cfg.Logger.With().Str("target", cfg.Addr).Logger(),
		batches: make(chan *txnBatch, maxBatches),
		free:    make(chan *txnBatch, maxBatches+1),
		answer:  make(chan struct{}, 1),
		sticky:  newSticky(),
		done:    make(chan struct{}),
	}
	if err := t.readCheckpoint(); err != nil {
		conn.Close()
		return nil, err
	}
	if t.table, err = readCommandTable(conn, rd, cfg.Addr); err != nil {
		conn.Close()
		return nil, err
	}
	if t.table == nil {
		t.log.Warn().Msg("target refuses COMMAND: a command it does not know aborts its whole batch, which is then sent again without it")
	}
	go t.readLoop()
	return t, nil
}

func (t *Txn) readCheckpoint() error {
	t.conn.SetDeadline(time.Now().Add(10 * time.Second))
	defer t.conn.SetDeadline(time.Time{})
	cmds := resp.AppendCommandString(nil, "SELECT", "0")
	cmds = resp.AppendCommand(cmds, []byte("GET"), t.key)
	if _, err := t.conn.Write(cmds); err != nil {
		return fmt.Errorf("forwarder: target %s: %w", t.addr, netCause(err))
	}
	var reps [2]resp.Reply
	for i := range reps {
		rep, err := t.rd.ReadReply()
		if err != nil {
			return fmt.Errorf("forwarder: target %s: read checkpoint: %w", t.addr, netCause(err))
		}
		if err := rep.Err(); err != nil {
			return fmt.Errorf("forwarder: target %s: read checkpoint: %w", t.addr, err)
		}
		reps[i] = rep
	}
	if !reps[1].IsNil {
		t.found = true
		t.prev = append([]byte(nil), reps[1].Str...)
		t.checkpoint, t.valid = ParseCheckpoint(string(reps[1].Str))
	}
	return nil
}

// ParseCheckpoint parses "<replid> <offset> <db>"; ok is false for
// anything else (such as the marker of a snapshot in progress).
func ParseCheckpoint(s string) (Checkpoint, bool) {
	f := strings.Fields(s)
	if len(f) != 3 || len(f[0]) != 40 {
		return Checkpoint{}, false
	}
	off, err1 := strconv.ParseInt(f[1], 10, 64)
	db, err2 := strconv.Atoi(f[2])
	if err1 != nil || err2 != nil || off < 0 || db < 0 {
		return Checkpoint{}, false
	}
	return Checkpoint{ReplID: f[0], Offset: off, DB: db}, true
}

// Checkpoint returns what the checkpoint key said when the Txn connected:
// found is false when the key was absent, ok is false when it held no
// valid checkpoint (absent, or a snapshot was in progress).
func (t *Txn) Checkpoint() (cp Checkpoint, found, ok bool) { return t.checkpoint, t.found, t.valid }

// Begin starts a batch whose first command runs in db.
func (t *Txn) Begin(db int) {
	var b *txnBatch
	select {
	case b = <-t.free:
		b.buf, b.starts, b.offs, b.errs = b.buf[:0], b.starts[:0], b.offs[:0], b.errs[:0]
	default:
		b = &txnBatch{buf: make([]byte, 0, batchBufSize)}
	}
	b.buf = resp.AppendCommand(b.buf, []byte("WATCH"), t.key)
	b.buf = resp.AppendCommand(b.buf, []byte("EVAL"), fenceScript, []byte("1"), t.key, t.prev)
	b.buf = resp.AppendCommandString(b.buf, "MULTI")
	b.buf = resp.AppendCommandString(b.buf, "SELECT", strconv.Itoa(db))
	t.cur = b
}

// Add appends one command of the stream; endOffset is the offset just after
// it. args are copied. A command the target would refuse when queued is
// left out, counted and logged.
func (t *Txn) Add(args [][]byte, endOffset int64) {
	if len(args) > 0 && (is(args[0], "MULTI") || is(args[0], "EXEC")) {
		return // the batch is one transaction already
	}
	if why := t.table.refuses(args); why != "" {
		t.errors.Add(1)
		t.log.Warn().Str("cmd", labelOfArgs(args).String()).Str("error", why).Int64("offset", endOffset).
			Msg("target refused a command; left out, the rest of its batch goes on")
		return
	}
	b := t.cur
	b.starts = append(b.starts, len(b.buf))
	b.offs = append(b.offs, endOffset)
	b.buf = resp.AppendCommand(b.buf, args...)
}

// Size returns the encoded bytes of the batch so far.
func (t *Txn) Size() int { return len(t.cur.buf) }

// Commit closes the batch with the checkpoint write and sends it. The value
// written is cp.String(), or marker when it is not empty (a value that is
// no checkpoint, e.g. to say a snapshot is in progress). It blocks while 16
// batches are unanswered.
func (t *Txn) Commit(cp Checkpoint, marker string) error {
	b := t.cur
	t.cur = nil
	b.end = cp.Offset
	if marker != "" { // t.prev: what the next batch's fence expects
		t.prev = append(t.prev[:0], marker...)
	} else {
		t.prev = cp.appendTo(t.prev[:0])
	}
	b.buf = resp.AppendCommandString(b.buf, "SELECT", "0")
	b.buf = resp.AppendCommand(b.buf, []byte("SET"), t.key, t.prev)
	b.buf = resp.AppendCommandString(b.buf, "EXEC")
	t.sending.Add(1)
	defer t.sending.Add(-1)
	t.idle.Add(1)
	t.pending.Add(1)
	select {
	case t.batches <- b:
	case <-t.dead:
		t.answered()
		return t.Err()
	}
	if _, err := t.conn.Write(b.buf); err != nil {
		t.fail(fmt.Errorf("forwarder: target %s: connection lost: %w", t.addr, netCause(err)))
		return t.Err()
	}
	return nil
}

// answered counts a batch as no longer in flight.
func (t *Txn) answered() {
	t.pending.Add(-1)
	t.idle.Done()
	select {
	case t.answer <- struct{}{}:
	default:
	}
}

// Pending returns how many committed batches are not answered yet.
func (t *Txn) Pending() int { return int(t.pending.Load()) }

// Answered receives a token after a batch is answered: a caller holding
// back a batch while another is in flight (Pending above 0) waits on it.
// A token may be stale: check Pending again.
func (t *Txn) Answered() <-chan struct{} { return t.answer }

// Drain waits until every committed batch is answered.
func (t *Txn) Drain(ctx context.Context) error {
	return waitIdle(ctx, &t.idle, t.dead, t.Err)
}

// waitIdle waits until wg is done, dead is closed or ctx ends, and
// returns the writer's error (err), or ctx's.
func waitIdle(ctx context.Context, wg *sync.WaitGroup, dead <-chan struct{}, err func() error) error {
	ch := make(chan struct{})
	go func() { wg.Wait(); close(ch) }()
	select {
	case <-ch:
	case <-dead:
	case <-ctx.Done():
		return ctx.Err()
	}
	return err()
}

// Applied returns the offset of the last batch the target applied.
func (t *Txn) Applied() int64 { return t.applied.Load() }

// SetApplied sets the offset Applied reports before any batch.
func (t *Txn) SetApplied(off int64) { t.applied.Store(off) }

// Counts returns the commands applied and those the target refused.
func (t *Txn) Counts() (applied, refused int64) { return t.commands.Load(), t.errors.Load() }

// ErrDiverged means a batch was applied after one that was not, so the
// target misses the commands of that one and the checkpoint says it holds
// them. The fence of each batch prevents it; should the fence itself fail,
// only a full resync makes the target equal to the source again.
var ErrDiverged = errors.New("a batch was applied after one that was not: the target misses writes")

// Err returns the sticky error, nil while healthy. Once the writer is
// closed it wraps ErrDiverged if a batch applied after one that did not.
func (t *Txn) Err() error {
	err := t.sticky.Err()
	if err != nil && t.diverged.Load() {
		return fmt.Errorf("forwarder: target %s: %w (after: %v)", t.addr, ErrDiverged, err)
	}
	return err
}

// fail sets the sticky error; the reader then reads the replies of what is
// in flight and closes the connection.
func (t *Txn) fail(err error) {
	if !t.set(err) {
		return
	}
	t.wake.Lock()
	defer t.wake.Unlock()
	if t.waiting { // wake the reader (awaitReply)
		t.woken = true
		t.conn.SetReadDeadline(time.Now())
	}
}

// Close ends the connection; the reader goroutine ends.
func (t *Txn) Close() error {
	t.fail(fmt.Errorf("forwarder: target %s: %w", t.addr, ErrClosed))
	select {
	case <-t.done:
	case <-time.After(closeWait): // a server that does not answer: stop waiting
		t.conn.Close()
		<-t.done
	}
	return nil
}

// readLoop reads the replies of each batch. Once the Txn has failed, it
// still reads those of every batch already written while the connection
// holds: the server applies them, and the checkpoint must be read again
// only once it has. Then it closes the connection.
func (t *Txn) readLoop() {
	defer close(t.done)
	defer t.conn.Close()
	defer func() { // release Drain waiters of batches never answered
		for {
			select {
			case <-t.batches:
				t.answered()
			default:
				return
			}
		}
	}()
	for {
		var b *txnBatch
		select {
		case b = <-t.batches:
		case <-t.dead:
			t.drain(false)
			return
		default:
			if err := t.awaitReply(); err != nil {
				t.fail(err)
				return
			}
			select {
			case b = <-t.batches:
			case <-t.dead:
				t.drain(false)
				return
			}
		}
		err := t.readBatch(b)
		if err != nil {
			t.fail(err) // before Done: a Drain that wakes must see the error
		}
		t.recycle(b)
		t.answered()
		var ae *AbortError
		switch {
		case errors.As(err, &ae):
			t.drain(true) // the connection is sound
			return
		case err != nil:
			return
		}
	}
}

// awaitReply waits, with no batch in flight, until the target sends
// something or the Txn fails. A batch committed meanwhile is queued before
// it is written, so it is there once its reply is. Waiting on the
// connection rather than on the queue spares a wake-up per batch: Commit
// queues without waking anyone, and only the reply does. fail wakes a
// reader waiting here by a read deadline, cleared here before the replies
// in flight are read.
func (t *Txn) awaitReply() error {
	t.wake.Lock()
	if t.sticky.Err() != nil { // set before fail takes the lock
		t.wake.Unlock()
		return nil
	}
	t.waiting = true
	t.wake.Unlock()
	_, err := t.rd.Buffered().Peek(1)
	t.wake.Lock()
	defer t.wake.Unlock()
	t.waiting = false
	if t.woken {
		t.woken = false
		t.conn.SetReadDeadline(time.Time{})
		return nil
	}
	if err != nil {
		return t.lost(err)
	}
	return nil
}

// recycle hands an answered batch back to Begin. Commit has written it
// whole by then: the reader reads its replies after Commit queued it, and
// Begin, which takes it back, runs on Commit's goroutine.
func (t *Txn) recycle(b *txnBatch) {
	if cap(b.buf) > maxKeptBatch {
		return
	}
	clear(b.errs) // the error texts are not kept alive
	b.errs = b.errs[:0]
	select {
	case t.free <- b:
	default:
	}
}

// drain reads the replies of the batches written before the Txn failed,
// and of one a Commit still writing adds, until none is left. lost says a
// batch before them was not applied: none of them may be.
func (t *Txn) drain(lost bool) {
	drainInFlight(t.batches, &t.sending, func(b *txnBatch) error {
		err := t.readBatch(b)
		t.recycle(b)
		t.answered()
		if err == nil && lost {
			t.diverged.Store(true)
			t.log.Error().Int64("offset", b.end).Msg("target applied a batch after one it did not: " + ErrDiverged.Error())
		}
		if err != nil {
			lost = true
		}
		return err
	})
}

// drainInFlight reads, with read, each item queued for the reader of a
// failed writer, and those a writer still sending (sending above 0) adds,
// until none is left or read says the connection is gone (an error other
// than an *AbortError: nothing more lands).
func drainInFlight[T any](queue chan T, sending *atomic.Int32, read func(T) error) {
	for {
		select {
		case it := <-queue:
			var ae *AbortError
			if err := read(it); err != nil && !errors.As(err, &ae) {
				return
			}
		default:
			if sending.Load() == 0 && len(queue) == 0 {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}
}

// readBatch reads the replies of WATCH, of the fence, of MULTI, one QUEUED
// (or error) per queued command, then EXEC's. Only the outcome of each is
// kept (resp.ReadStatus): an error's text, nothing for a success.
func (t *Txn) readBatch(b *txnBatch) error {
	fenced, err := t.readFence()
	if err != nil {
		return err
	}
	n := len(b.starts) + 3 // SELECT db, the commands, SELECT 0, SET
	for i := -1; i < n; i++ {
		if k := t.rd.SkipSuccesses(n - i); k > 0 { // MULTI's +OK, then +QUEUED each
			i += k - 1
			continue
		}
		rep, err := t.rd.ReadStatus()
		if err != nil {
			return t.lost(err)
		}
		if !isError(&rep) {
			continue
		}
		if i < 0 {
			return fmt.Errorf("forwarder: target %s: MULTI refused: %w", t.addr, rep.Err())
		}
		b.errs = append(b.errs, queuedError{i, rep})
	}
	exec, err := t.rd.ReadHead()
	if err != nil {
		return t.lost(err)
	}
	if exec.Kind == resp.Array && !exec.IsNil {
		if err := t.results(b, exec.Int); err != nil {
			return err
		}
		t.applied.Store(b.end)
		return nil
	}
	if exec.Aggregate() && !exec.IsNil { // not EXEC's: read it to stay in step
		for range exec.Int {
			if _, err := t.rd.ReadStatus(); err != nil {
				return t.lost(err)
			}
		}
	}
	if exec.IsNil { // WATCH fired: the fence, or a write to the key in between
		if !fenced {
			t.log.Warn().Msg("target: the checkpoint key changed while a batch was queued; the batch is discarded and sent again")
		}
		return &AbortError{Transient: true, Fenced: true}
	}
	return t.aborted(b, &exec)
}

func (t *Txn) lost(err error) error {
	return fmt.Errorf("forwarder: target %s: connection lost: %w", t.addr, netCause(err))
}

func isError(rep *resp.Reply) bool { return rep.Kind == resp.Error || rep.Kind == resp.BulkError }

// fenceScript touches the watched checkpoint key (KEYS[1]) unless it holds
// ARGV[1], what the batches sent before this one wrote: then EXEC discards
// this batch. Modifying the key by a TTL set and removed needs no memory,
// so it works on a target at its maxmemory. Returns 1 when it touched.
var fenceScript = []byte(`local v = redis.call('GET', KEYS[1]) or ''
if v == ARGV[1] then return 0 end
if v == '' then
  redis.call('SET', KEYS[1], '')
  redis.call('DEL', KEYS[1])
else
  redis.call('PEXPIRE', KEYS[1], '1000000000000')
  redis.call('PERSIST', KEYS[1])
end
return 1`)

// readFence reads the replies of WATCH and of the fence script: fenced
// is true when the script found the checkpoint not as the batches before
// left it (one of them was not applied, or someone else wrote the key).
func (t *Txn) readFence() (fenced bool, err error) {
	for i := range 2 {
		rep, err := t.rd.ReadReply()
		if err != nil {
			return false, fmt.Errorf("forwarder: target %s: connection lost: %w", t.addr, netCause(err))
		}
		if err := rep.Err(); err != nil {
			// The batch goes on unfenced; drain notices if it applied
			// after one that did not.
			if !t.fenceWarned {
				t.fenceWarned = true
				t.log.Warn().Err(err).Msg("target: the checkpoint fence failed (WATCH or EVAL refused); a batch applied after one that was not makes a full resync")
			}
			continue
		}
		fenced = i == 1 && rep.Int == 1
	}
	return fenced, nil
}

// results reads the n replies of EXEC's array, and counts and logs the
// outcome of each of the caller's commands.
func (t *Txn) results(b *txnBatch, n int64) error {
	var applied, refused int64
	for i := 0; i < int(n); i++ {
		if k := t.rd.SkipSuccesses(int(n) - i); k > 0 {
			// replies 1 to len(starts) are the caller's commands'
			applied += int64(max(0, min(i+k, len(b.starts)+1)-max(i, 1)))
			i += k - 1
			continue
		}
		rep, err := t.rd.ReadStatus()
		if err != nil {
			return t.lost(err)
		}
		c := i - 1 // the first reply is SELECT's
		if c < 0 || c >= len(b.starts) {
			continue
		}
		if !isError(&rep) {
			applied++
			continue
		}
		refused++
		t.log.Warn().Str("cmd", t.label(b, c).String()).Str("error", rep.Err().Error()).
			Int64("offset", b.offs[c]).Msg("target refused a command")
	}
	t.commands.Add(applied)
	t.errors.Add(refused)
	return nil
}

func (t *Txn) label(b *txnBatch, i int) label {
	end := len(b.buf)
	if i+1 < len(b.starts) {
		end = b.starts[i+1]
	}
	return labelOf(b.buf[b.starts[i]:end])
}

// aborted builds the AbortError of a batch the target discarded.
func (t *Txn) aborted(b *txnBatch, exec *resp.Reply) error {
	ae := &AbortError{Transient: true, Refused: map[int64]string{}}
	for _, q := range b.errs {
		i, err := q.i, q.rep.Err()
		var se *resp.ServerError
		if errors.As(err, &se) && transient(se.Prefix()) && ae.Cause == "" {
			ae.Cause = se.Msg
		}
		if i == 0 || i > len(b.starts) || (se != nil && transient(se.Prefix())) {
			continue // our own SELECT/SET, or a cause that passes
		}
		ae.Transient = false
		ae.Refused[b.offs[i-1]] = t.label(b, i-1).String() + ": " + err.Error()
	}
	if !ae.Transient {
		t.log.Warn().Str("exec", exec.String()).Msg(ae.Error())
	} else {
		t.log.Warn().Str("exec", exec.String()).Str("cause", ae.Cause).Msg("target refused a batch for now")
	}
	return ae
}

// transient reports error codes that may pass: the same batch can be sent
// again later.
func transient(code string) bool {
	switch code {
	case "LOADING", "BUSY", "OOM", "MASTERDOWN", "TRYAGAIN", "NOREPLICAS", "MISCONF", "READONLY", "CLUSTERDOWN":
		return true
	}
	return false
}
