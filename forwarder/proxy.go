package forwarder

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/replicant/replicant/filter"
	"github.com/replicant/replicant/resp"
)

// This file holds the twemproxy (nutcracker) writers: ProxySnapshot for
// the keys of a snapshot and ProxyStream for the live stream. Both wrap a
// Standalone connected to the proxy, which never sends SELECT while the
// connection is in db 0, the only db the proxy has.
//
// twemproxy shards keys over backend Redis servers by a hash of each key.
// It closes the client's connection on any command it does not know
// (SELECT, MULTI, INFO, FLUSHALL, SCRIPT, FUNCTION, PUBLISH, HELLO, CLIENT,
// every stream command...), on a known one with arguments its parser does
// not expect, and on a key longer than one of its buffers (mbuf). So the
// writers send only what it takes (proxy_commands.go); everything else is
// logged and counted, never sent.

// DefaultMbufSize is nutcracker's default mbuf size (its -m flag).
const DefaultMbufSize = 16384

// proxyMbufSlack is the part of an mbuf a key cannot use: nutcracker 0.5.0
// takes keys of up to MbufSize-49 bytes (16335 with the default size) and
// closes the connection on a longer one, as tried on the real proxy.
const proxyMbufSlack = 49

// proxyCallTimeout bounds one synchronous command to the proxy or a
// backend (the checkpoint's GET, an emulation's steps, a FLUSHALL) and
// the wait for what is in flight before it.
const proxyCallTimeout = 30 * time.Second

var (
	_ SnapshotWriter = (*ProxySnapshot)(nil)
	_ StreamWriter   = (*ProxyStream)(nil)
)

// ErrProxyDB is wrapped by the error of a snapshot key in a database other
// than 0: twemproxy has database 0 only.
var ErrProxyDB = errors.New("twemproxy has database 0 only")

// ProxyConfig describes a twemproxy target.
type ProxyConfig struct {
	// Config is the proxy's address and the pipeline's bounds. Password is
	// the pool's redis_auth, if any; Username must be empty (the proxy
	// takes AUTH <password> only); ClientName is ignored (the proxy closes
	// the connection on CLIENT).
	Config
	// MbufSize is the proxy's mbuf size (nutcracker -m); default 16384. A
	// key longer than the proxy takes is not sent.
	MbufSize int
	// Keys returns the keys of a stream command (the source's key
	// positions); nil: filter.Builtin's. A command whose keys it does not
	// know has its first argument as its only key.
	Keys func(args [][]byte) ([][]byte, bool)
	// KeyIndexes returns the positions of a command's keys; nil: store
	// commands (SUNIONSTORE...) are not emulated.
	KeyIndexes func(args [][]byte) ([]int, bool)
	// Backends are the addresses of the pool's servers (from the proxy's
	// nutcracker.yml), which take FLUSHALL and FLUSHDB directly, with
	// Password. Empty: unknown, and those are not applied.
	Backends []string
}

func (c ProxyConfig) withDefaults() (ProxyConfig, error) {
	if c.Username != "" {
		return c, fmt.Errorf("forwarder: twemproxy %s takes AUTH <password> only, not a user name", c.Addr)
	}
	c.ClientName = ""
	c.Config = c.Config.withDefaults()
	if c.MbufSize <= 0 {
		c.MbufSize = DefaultMbufSize
	}
	if c.Keys == nil {
		c.Keys = filter.Builtin().Keys
	}
	return c, nil
}

// maxKeyLen is the longest key the proxy takes.
func (c *ProxyConfig) maxKeyLen() int { return c.MbufSize - proxyMbufSlack }

// firstArgKey takes the first argument of a command as its only key.
func firstArgKey(args [][]byte) ([][]byte, bool) {
	if len(args) < 2 {
		return nil, false
	}
	return args[1:2], true
}

// proxyFaults are the texts of the error replies nutcracker makes itself
// when it cannot reach or lost a backend: "-ERR " and strerror(errno).
var proxyFaults = map[string]bool{
	"Connection refused": true, "Connection timed out": true, "Connection reset by peer": true,
	"Broken pipe": true, "No route to host": true, "Network is unreachable": true,
	"Host is down": true, "Software caused connection abort": true,
	"Transport endpoint is not connected": true, "Cannot allocate memory": true,
	"Resource temporarily unavailable": true, "unknown": true,
}

// proxyFault returns the error of a reply nutcracker made because a
// backend was out of reach, nil for any other reply. The command may or
// may not have run on the backend.
func proxyFault(addr string, rep *resp.Reply) error {
	if rep.Kind != resp.Error {
		return nil
	}
	msg, ok := bytes.CutPrefix(rep.Str, []byte("ERR "))
	if !ok || !proxyFaults[string(msg)] {
		return nil
	}
	return fmt.Errorf("forwarder: twemproxy %s could not reach a backend: %w", addr, rep.Err())
}

// dialProxy connects to the proxy: AUTH (with a password) and PING only.
// Its caller may talk on the connection before startProxy.
func dialProxy(ctx context.Context, cfg ProxyConfig) (ProxyConfig, net.Conn, *resp.Reader, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return cfg, nil, nil, err
	}
	conn, rd, err := connect(ctx, cfg.Config)
	return cfg, conn, rd, err
}

// startProxy wraps the connection in a Standalone and starts its reply
// reader.
func startProxy(cfg ProxyConfig, conn net.Conn, rd *resp.Reader, checkpoints bool) *Standalone {
	f := newStandalone(cfg.Config, conn, rd)
	f.log = f.log.With().Str("target_kind", "twemproxy").Logger()
	f.vet = proxyVet(f, checkpoints)
	go f.readLoop()
	f.log.Debug().Msg("connected to twemproxy")
	return f
}

// proxyVet is the reply check of a proxy writer. A reply the proxy made
// itself because a backend is out of reach fails the writer, as a lost
// connection does, rather than counting as a refused command: whether the
// command ran is unknown, so it must be applied again. With checkpoints,
// an error reply to a checkpoint write (a kindRestore entry of ProxyStream)
// fails it too, before its offset counts as applied.
func proxyVet(f *Standalone, checkpoints bool) func(*resp.Reply) error {
	return func(rep *resp.Reply) error {
		if err := proxyFault(f.addr, rep); err != nil {
			return err
		}
		if checkpoints && rep.Err() != nil && f.headKind() == kindRestore {
			return fmt.Errorf("forwarder: twemproxy %s refused the checkpoint write: %w", f.addr, rep.Err())
		}
		return nil
	}
}

// headKind returns the kind of the oldest entry in flight.
func (f *Standalone) headKind() kind {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ring.n == 0 {
		return kindCommand
	}
	return f.ring.buf[f.ring.head].kind
}

// proxyRoundTrip sends one command on a connection of its own and reads its
// reply. A lost connection and a proxy fault are errors; an error reply of
// a backend is returned in the reply.
func proxyRoundTrip(conn net.Conn, rd *resp.Reader, addr string, args [][]byte) (resp.Reply, error) {
	conn.SetDeadline(time.Now().Add(proxyCallTimeout))
	defer conn.SetDeadline(time.Time{})
	if _, err := conn.Write(resp.AppendCommand(nil, args...)); err != nil {
		return resp.Reply{}, fmt.Errorf("forwarder: twemproxy %s: %s: %w", addr, args[0], netCause(err))
	}
	rep, err := rd.ReadReply()
	if err != nil {
		return rep, fmt.Errorf("forwarder: twemproxy %s: %s: %w", addr, args[0], netCause(err))
	}
	return rep, proxyFault(addr, &rep)
}

// warnEvery is the least time between two log lines of one kind (the same
// command and reason); those in between are counted in the next line.
const warnEvery = 10 * time.Second

// maxWarnKinds bounds the kinds a warnLimiter remembers.
const maxWarnKinds = 1024

// warnLimiter rate-limits identical warnings. It belongs to one goroutine.
type warnLimiter struct {
	seen map[string]*warnState
}

type warnState struct {
	next time.Time
	held int64
}

// warn logs msg for the command named name on key with reason, unless one
// of the same name and reason was logged less than warnEvery ago.
func (w *warnLimiter) warn(log zerolog.Logger, name, key []byte, reason, msg string) {
	if w.seen == nil || len(w.seen) >= maxWarnKinds {
		w.seen = map[string]*warnState{}
	}
	id := string(bytes.ToUpper(name)) + "\x00" + reason
	st := w.seen[id]
	if st == nil {
		st = &warnState{}
		w.seen[id] = st
	}
	now := time.Now()
	if now.Before(st.next) {
		st.held++
		return
	}
	ev := log.Warn().Str("cmd", string(bytes.ToUpper(name)))
	if key != nil {
		ev = ev.Str("key", quoteKey(key))
	}
	ev = ev.Str("reason", reason)
	if st.held > 0 {
		ev = ev.Int64("similar_not_logged", st.held)
	}
	ev.Msg(msg)
	st.next, st.held = now.Add(warnEvery), 0
}

// Reasons a proxy writer does not send a key or a command.
const (
	reasonDB       = "twemproxy has database 0 only"
	reasonLongKey  = "key longer than the proxy takes (its mbuf size); it would close the connection"
	reasonStream   = "stream key: the proxy takes no stream command, so the copy could not follow the source"
	reasonFunction = "the proxy does not take FUNCTION; load the library on each backend"
)

// RDB types of a stream, the first byte of its DUMP payload.
const (
	rdbTypeStream  = 15
	rdbTypeStream2 = 19
	rdbTypeStream3 = 21
)

// isStreamPayload reports whether a DUMP payload holds a stream.
func isStreamPayload(payload []byte) bool {
	if len(payload) == 0 {
		return false
	}
	t := payload[0]
	return t == rdbTypeStream || t == rdbTypeStream2 || t == rdbTypeStream3
}

// ProxySnapshot writes the keys of a snapshot through twemproxy: RESTORE
// key ttl payload REPLACE [ABSTTL] for each key, and MSET batches for plain
// strings (the proxy splits them per backend), pipelined. It does not send
// a key the proxy cannot take: a key longer than its mbuf, a stream key
// (the live stream's X* commands cannot follow it), a function library.
// Each is logged (identical warnings rate-limited) and counted in
// Stats.RestoreErrors or Stats.FunctionErrors. A key of a db other than 0
// is an error wrapping ErrProxyDB.
//
// Restore, SetString, LoadFunction, Flush and Drain belong to one
// goroutine; Stats, Err and Close are safe from any.
type ProxySnapshot struct {
	f      *Standalone
	maxKey int
	warns  warnLimiter

	lastStream []byte // the stream key whose commands Rewrite drops

	skipped   atomic.Int64 // keys not sent
	functions atomic.Int64 // libraries not sent
}

// DialProxySnapshot connects to the proxy (AUTH and PING only).
func DialProxySnapshot(ctx context.Context, cfg ProxyConfig) (*ProxySnapshot, error) {
	cfg, conn, rd, err := dialProxy(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &ProxySnapshot{f: startProxy(cfg, conn, rd, false), maxKey: cfg.maxKeyLen()}, nil
}

// Restore sends RESTORE key ttl payload REPLACE, with ABSTTL when
// expireAtMs is not 0, unless the proxy cannot take the key.
func (p *ProxySnapshot) Restore(db int, key []byte, expireAtMs int64, payload []byte) error {
	if ok, err := p.check(db, key, argRestore); !ok || err != nil {
		return err
	}
	if isStreamPayload(payload) {
		p.skip(argRestore, key, reasonStream)
		return nil
	}
	return p.f.Restore(0, key, expireAtMs, payload)
}

// Rewrite sends a command rebuilding a key, unless the proxy cannot take
// the key or the command (stream commands: no stream key is copied).
func (p *ProxySnapshot) Rewrite(db int, args [][]byte, first bool) error {
	if ok, err := p.check(db, args[1], args[0]); !ok || err != nil {
		return err
	}
	if isStreamCommand(args[0]) {
		if !bytes.Equal(p.lastStream, args[1]) {
			p.lastStream = append(p.lastStream[:0], args[1]...)
			p.skip(argRestore, args[1], reasonStream)
		}
		return nil
	}
	return p.f.Rewrite(0, args, first)
}

// SetString sets a plain string key, in MSET batches, unless the proxy
// cannot take the key.
func (p *ProxySnapshot) SetString(db int, key, value []byte) error {
	if ok, err := p.check(db, key, argSet); !ok || err != nil {
		return err
	}
	return p.f.SetString(0, key, value)
}

// check reports whether key of db may be sent: an error for a db other
// than 0, false for a key that is too long (logged and counted).
func (p *ProxySnapshot) check(db int, key, cmd []byte) (bool, error) {
	if err := p.f.Err(); err != nil {
		return false, err
	}
	if db != 0 {
		return false, fmt.Errorf("forwarder: twemproxy %s: key %s of db %d: %w", p.f.addr, quoteKey(key), db, ErrProxyDB)
	}
	if len(key) > p.maxKey {
		p.skip(cmd, key, reasonLongKey)
		return false, nil
	}
	return true, nil
}

func (p *ProxySnapshot) skip(cmd, key []byte, reason string) {
	p.skipped.Add(1)
	p.warns.warn(p.f.log, cmd, key, reason, "twemproxy target: snapshot key not copied")
}

// LoadFunction does not send the library: the proxy does not take
// FUNCTION. It is logged and counted in Stats.FunctionErrors.
func (p *ProxySnapshot) LoadFunction(code []byte) error {
	if err := p.f.Err(); err != nil {
		return err
	}
	p.functions.Add(1)
	p.warns.warn(p.f.log, argFunction, nil, reasonFunction, "twemproxy target: function library not copied")
	return nil
}

// LoadScript does not send the script: the proxy does not take SCRIPT.
// It is logged and counted in Stats.FunctionErrors.
func (p *ProxySnapshot) LoadScript(body []byte) error {
	if err := p.f.Err(); err != nil {
		return err
	}
	p.functions.Add(1)
	p.warns.warn(p.f.log, argScript, nil, "the proxy does not take SCRIPT; load it on each backend", "twemproxy target: Lua script not copied")
	return nil
}

// Flush sends what is buffered.
func (p *ProxySnapshot) Flush() error { return p.f.Flush() }

// Drain waits until the proxy answered everything sent.
func (p *ProxySnapshot) Drain(ctx context.Context) error { return p.f.Drain(ctx) }

// Stats counts the proxy's replies; keys and libraries not sent count as
// refused (RestoreErrors, FunctionErrors).
func (p *ProxySnapshot) Stats() Stats {
	s := p.f.Stats()
	s.RestoreErrors += p.skipped.Load()
	s.FunctionErrors += p.functions.Load()
	return s
}

// Err is the sticky error that stopped the writer, nil while healthy.
func (p *ProxySnapshot) Err() error { return p.f.Err() }

// Close closes the connection without waiting for replies.
func (p *ProxySnapshot) Close() error { return p.f.Close() }

// More reasons a proxy writer does not send a command.
const (
	reasonStreamCmd = "stream command: the proxy takes none, and stream keys are not copied"
	reasonUnknown   = "the proxy does not take this command, or not with these arguments; it would close the connection"
	reasonKeys      = "its keys may live on different backends, and the proxy sends it whole to the backend of its first key"
	reasonFlush     = "the proxy does not take it and the backends are unknown (give the proxy's nutcracker.yml): keys deleted on the source may linger"
)

// ProxyStream applies the live stream through twemproxy, pipelined, and
// writes the checkpoint key (SET <key> <checkpoint>) after each batch.
//
// The guarantee is at-least-once, not exactly-once: twemproxy has no
// MULTI, so a batch is not atomic. After a fault the target may hold
// commands of a batch whose checkpoint it does not hold, and applying
// again from the checkpoint applies them twice (an INCR or LPUSH may land
// twice; SET, DEL, HSET... are the same twice).
//
// What the proxy takes goes as it is; DEL, UNLINK, TOUCH and MSET too,
// as the proxy splits them per backend. SELECT 0, PING, REPLCONF, MULTI and
// EXEC are not sent. RENAME, RENAMENX, COPY, SMOVE, LMOVE and RPOPLPUSH
// between two keys are emulated with single-key commands (see emulate).
// FLUSHALL and FLUSHDB go to each backend directly when ProxyConfig.Backends
// lists them. Everything else is never sent: commands of a db other than 0,
// commands the proxy does not parse (every X* stream command, SCRIPT,
// FUNCTION, PUBLISH...), multi-key commands whose keys differ and that the
// proxy does not split (*STORE, BITOP, PFMERGE, EVAL with several
// keys...), and any command with a key longer than the proxy takes. Each is
// logged with its name and key (identical warnings rate-limited) and
// counted as refused.
//
// A reply the proxy makes itself because a backend is out of reach fails
// the writer (Dead, Err), so that its caller reconnects and applies again
// from the checkpoint.
//
// Begin, Add, Size, Commit and Drain belong to one goroutine; the others
// are safe from any.
type ProxyStream struct {
	f     *Standalone
	cfg   ProxyConfig
	key   []byte
	cp    Checkpoint
	found bool // the checkpoint key exists
	valid bool // and holds a checkpoint
	db    int  // the stream's db on the target after the commands added
	size  int  // encoded bytes of the current batch
	warns warnLimiter
	side  proxySideConn // a second connection to the proxy, for emulations

	refused  atomic.Int64 // commands not sent
	emulated atomic.Int64 // commands done on the second connection or on the backends
}

// DialProxyStream connects to the proxy (AUTH and PING only) and reads the
// checkpoint key.
func DialProxyStream(ctx context.Context, cfg ProxyConfig, checkpointKey string) (*ProxyStream, error) {
	cfg, conn, rd, err := dialProxy(ctx, cfg)
	if err != nil {
		return nil, err
	}
	p := &ProxyStream{cfg: cfg, key: []byte(checkpointKey)}
	rep, err := proxyRoundTrip(conn, rd, cfg.Addr, [][]byte{[]byte("GET"), p.key})
	if err == nil {
		err = rep.Err()
	}
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("forwarder: twemproxy %s: read checkpoint: %w", cfg.Addr, err)
	}
	if !rep.IsNil {
		p.found = true
		p.cp, p.valid = ParseCheckpoint(string(rep.Str))
	}
	p.f = startProxy(cfg, conn, rd, true)
	return p, nil
}

// Checkpoint returns what the checkpoint key said at connect.
func (p *ProxyStream) Checkpoint() (cp Checkpoint, found, ok bool) {
	return p.cp, p.found, p.valid
}

// SetApplied sets the offset Applied reports before any checkpoint.
func (p *ProxyStream) SetApplied(off int64) { p.f.SetApplied(off) }

// Begin starts a batch whose first command runs in db.
func (p *ProxyStream) Begin(db int) {
	p.db, p.size = db, 0
}

// Size returns the encoded bytes of the commands added since Begin.
func (p *ProxyStream) Size() int { return p.size }

// Add sends one command of the stream, or leaves it out (see ProxyStream).
// An error of the connection is kept for Commit.
func (p *ProxyStream) Add(args [][]byte, endOffset int64) {
	p.size += encodedSize(args)
	if len(args) == 0 || p.f.Err() != nil {
		return
	}
	switch name := args[0]; {
	case is(name, "PING"), is(name, "REPLCONF"), is(name, "MULTI"), is(name, "EXEC"):
		p.f.stats.skipped.Add(1)
	case is(name, "SELECT"):
		p.selectDB(args)
	case is(name, "FLUSHALL"), is(name, "FLUSHDB") && p.db == 0:
		p.flushBackends(args)
	case p.db != 0:
		p.refuse(args, reasonDB)
	default:
		p.command(args)
	}
}

// selectDB follows a SELECT of the stream; none is sent.
func (p *ProxyStream) selectDB(args [][]byte) {
	p.f.stats.skipped.Add(1)
	db := -1
	if len(args) == 2 {
		if n, err := strconv.Atoi(string(args[1])); err == nil {
			db = n
		}
	}
	p.db = db
}

// command sends a command the proxy takes and routes right, emulates one
// it can, and refuses the others.
func (p *ProxyStream) command(args [][]byte) {
	if is(args[0], "MSETNX") { // it reaches replicas only when it set every key
		args = append([][]byte{argMSet}, args[1:]...)
	}
	keys, ok := p.cfg.Keys(args)
	if !ok {
		keys, _ = firstArgKey(args)
	}
	if long := longestKey(keys); len(long) > p.cfg.maxKeyLen() {
		p.refuseKey(args, long, reasonLongKey)
		return
	}
	if isStreamCommand(args[0]) {
		p.refuse(args, reasonStreamCmd)
		return
	}
	takes := proxyTakes(args)
	if takes && (proxySplits(args) || distinctKeys(keys) <= 1) {
		p.send(args)
		return
	}
	if p.emulate(args) {
		return
	}
	if takes {
		p.refuse(args, reasonKeys)
		return
	}
	p.refuse(args, reasonUnknown)
}

// send pipelines one command; its reply is counted, not waited for.
func (p *ProxyStream) send(args [][]byte) {
	p.f.Command(args, noOffset) // an error is sticky: Commit returns it
}

// refuse counts a command not sent and logs it.
func (p *ProxyStream) refuse(args [][]byte, reason string) {
	var key []byte
	if len(args) > 1 {
		key = args[1]
	}
	p.refuseKey(args, key, reason)
}

func (p *ProxyStream) refuseKey(args [][]byte, key []byte, reason string) {
	p.refused.Add(1)
	p.warns.warn(p.f.log, args[0], key, reason, "twemproxy target: command not applied")
}

// Commit sends SET <checkpoint key> <cp or marker> after the batch's
// commands. Its offset counts as applied once the proxy answers it; an
// error reply to it fails the writer.
func (p *ProxyStream) Commit(cp Checkpoint, marker string) error {
	p.size = 0
	if err := p.f.Err(); err != nil {
		return err
	}
	val := marker
	if val == "" {
		val = cp.String()
	}
	// kindRestore: its replies count apart from the stream's commands
	// (Stats.Restored), and proxyVet fails the writer on an error.
	e := entry{kind: kindRestore, offset: cp.Offset}
	if err := p.f.send(e, [][]byte{argSet, p.key, []byte(val)}); err != nil {
		return err
	}
	return p.f.Flush()
}

// Drain waits until every command sent is answered.
func (p *ProxyStream) Drain(ctx context.Context) error { return p.f.Drain(ctx) }

// Applied returns the offset of the newest checkpoint the proxy
// acknowledged.
func (p *ProxyStream) Applied() int64 { return p.f.Applied() }

// Counts returns the commands applied and those refused. Applied are the
// commands the proxy answered with success (an emulated SMOVE counts as its
// SREM and SADD) plus the commands emulated on the second connection or
// sent to the backends; refused are the error replies plus the commands
// not sent.
func (p *ProxyStream) Counts() (applied, refused int64) {
	s := &p.f.stats
	return s.commands.Load() + p.emulated.Load(), s.commandErrors.Load() + p.refused.Load()
}

// Dead is closed once the writer failed; Err then says why.
func (p *ProxyStream) Dead() <-chan struct{} { return p.f.dead }

// Err returns the sticky error, nil while healthy.
func (p *ProxyStream) Err() error { return p.f.Err() }

// Close closes the connections without waiting for replies.
func (p *ProxyStream) Close() error {
	p.side.close()
	return p.f.Close()
}
