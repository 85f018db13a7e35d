package forwarder

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"

	"github.com/replicant/replicant/resp"
)

// proxyCommand is how nutcracker 0.5.0 parses one command. It closes the
// client's connection on any command it does not know and on a known one
// with a number of arguments its parser does not expect (EXPIRE key 10 NX,
// PING hello), so a command is sent only when it fits.
type proxyCommand struct {
	min, max int  // arguments, the name included; max 0: no bound
	pairs    bool // key value pairs (MSET)
	split    bool // several keys, split per backend by the proxy
	eval     bool // EVAL, EVALSHA: "script numkeys key...", numkeys at least 1
}

// proxyCommands lists the writes nutcracker 0.5.0 takes. Multi-key
// commands other than the split ones go to the backend of their first
// key: ProxyStream sends them only when all their keys are one key.
var proxyCommands = map[string]proxyCommand{
	// strings
	"APPEND": {min: 3, max: 3}, "BITFIELD": {min: 2}, "DECR": {min: 2, max: 2},
	"DECRBY": {min: 3, max: 3}, "GETDEL": {min: 2, max: 2}, "GETEX": {min: 2},
	"GETSET": {min: 3, max: 3}, "INCR": {min: 2, max: 2}, "INCRBY": {min: 3, max: 3},
	"INCRBYFLOAT": {min: 3, max: 3}, "MSET": {min: 3, pairs: true, split: true},
	"PSETEX": {min: 4, max: 4}, "SET": {min: 3}, "SETBIT": {min: 4, max: 4},
	"SETEX": {min: 4, max: 4}, "SETNX": {min: 3, max: 3}, "SETRANGE": {min: 4, max: 4},
	// keys
	"DEL": {min: 2, split: true}, "UNLINK": {min: 2, split: true}, "TOUCH": {min: 2, split: true},
	"EXPIRE": {min: 3, max: 3}, "EXPIREAT": {min: 3, max: 3},
	"PEXPIRE": {min: 3, max: 3}, "PEXPIREAT": {min: 3, max: 3}, "PERSIST": {min: 2, max: 2},
	"RESTORE": {min: 4}, "COPY": {min: 3}, "SORT": {min: 2},
	// hashes
	"HDEL": {min: 3}, "HINCRBY": {min: 4, max: 4}, "HINCRBYFLOAT": {min: 4, max: 4},
	"HMSET": {min: 4}, "HSET": {min: 4}, "HSETNX": {min: 4, max: 4},
	// lists
	"LINSERT": {min: 5, max: 5}, "LMOVE": {min: 5, max: 5}, "LPOP": {min: 2, max: 3},
	"LPUSH": {min: 3}, "LPUSHX": {min: 3}, "LREM": {min: 4, max: 4}, "LSET": {min: 4, max: 4},
	"LTRIM": {min: 4, max: 4}, "RPOP": {min: 2, max: 3}, "RPOPLPUSH": {min: 3, max: 3},
	"RPUSH": {min: 3}, "RPUSHX": {min: 3},
	// sets
	"SADD": {min: 3}, "SDIFFSTORE": {min: 3}, "SINTERSTORE": {min: 3}, "SMOVE": {min: 4, max: 4},
	"SPOP": {min: 2, max: 3}, "SREM": {min: 3}, "SUNIONSTORE": {min: 3},
	// sorted sets
	"ZADD": {min: 4}, "ZDIFFSTORE": {min: 4}, "ZINCRBY": {min: 4, max: 4}, "ZINTERSTORE": {min: 4},
	"ZPOPMAX": {min: 2, max: 3}, "ZPOPMIN": {min: 2, max: 3}, "ZRANGESTORE": {min: 5},
	"ZREM": {min: 3}, "ZREMRANGEBYLEX": {min: 4, max: 4}, "ZREMRANGEBYRANK": {min: 4, max: 4},
	"ZREMRANGEBYSCORE": {min: 4, max: 4}, "ZUNIONSTORE": {min: 4},
	// others
	"PFADD": {min: 2}, "PFMERGE": {min: 2}, "GEOADD": {min: 5},
	"EVAL": {min: 4, eval: true}, "EVALSHA": {min: 4, eval: true},
}

// maxCommandName bounds the names looked up in proxyCommands.
const maxCommandName = 24

// proxyLookup returns how the proxy parses the command named by args[0].
func proxyLookup(args [][]byte) (proxyCommand, bool) {
	if len(args) == 0 || len(args[0]) > maxCommandName {
		return proxyCommand{}, false
	}
	var buf [maxCommandName]byte
	pc, ok := proxyCommands[string(upperInto(buf[:0], args[0]))]
	return pc, ok
}

// upperInto appends name in upper-case ASCII to dst.
func upperInto(dst, name []byte) []byte {
	for _, c := range name {
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// fits reports whether args are a command the proxy parses: a known name
// with as many arguments as it expects.
func (pc proxyCommand) fits(args [][]byte) bool {
	n := len(args)
	switch {
	case n < pc.min, pc.max > 0 && n > pc.max:
		return false
	case pc.pairs:
		return (n-1)%2 == 0
	case pc.eval:
		keys, err := strconv.Atoi(string(args[2]))
		return err == nil && keys >= 1 && 3+keys <= n
	}
	return true
}

// proxyTakes reports whether the proxy parses args as they are.
func proxyTakes(args [][]byte) bool {
	pc, ok := proxyLookup(args)
	return ok && pc.fits(args)
}

// proxySplits reports the commands the proxy splits per backend, whatever
// their keys (DEL, UNLINK, TOUCH, MSET).
func proxySplits(args [][]byte) bool {
	pc, ok := proxyLookup(args)
	return ok && pc.split
}

// isStreamCommand reports the stream commands (XADD, XGROUP, ...).
func isStreamCommand(name []byte) bool {
	return len(name) > 1 && (name[0] == 'X' || name[0] == 'x')
}

// distinctKeys returns 0 for no keys, 1 when all keys are one key, and 2
// for two or more different keys.
func distinctKeys(keys [][]byte) int {
	if len(keys) == 0 {
		return 0
	}
	for _, k := range keys[1:] {
		if !bytes.Equal(k, keys[0]) {
			return 2
		}
	}
	return 1
}

// longestKey returns the longest of keys, nil for none.
func longestKey(keys [][]byte) []byte {
	var long []byte
	for _, k := range keys {
		if long == nil || len(k) > len(long) {
			long = k
		}
	}
	return long
}

var (
	pxSRem  = []byte("SREM")
	pxSAdd  = []byte("SADD")
	pxLeft  = []byte("LEFT")
	pxRight = []byte("RIGHT")
)

// reasonMissing is logged when an emulation finds its source key gone.
const reasonMissing = "its source key is not on the target, as when a batch is applied again after a reconnect: left as it is"

// emulate applies a command between two keys that the proxy cannot route
// with single-key commands, as the source applied it, and reports whether
// it knows how:
//
//   - RENAME, RENAMENX src dst: DUMP and PTTL src, RESTORE dst ttl payload
//     REPLACE, DEL src (the stream holds RENAMENX only when it renamed);
//   - COPY src dst [REPLACE]: the same without the DEL;
//   - SMOVE src dst member: SREM src member, SADD dst member;
//   - LMOVE src dst from to, RPOPLPUSH src dst: LPOP or RPOP src, then
//     LPUSH or RPUSH dst the element.
//
// Those that read the target first wait until what is in flight is
// answered, then run their steps one by one on a second connection to the
// proxy. Applied again after a reconnect, they find the source key gone
// and leave the target as it is (logged).
func (p *ProxyStream) emulate(args [][]byte) bool {
	switch name := args[0]; {
	case (is(name, "RENAME") || is(name, "RENAMENX")) && len(args) == 3:
		p.moveKey(args, true)
	case is(name, "COPY") && plainCopy(args):
		p.moveKey(args, false)
	case is(name, "SMOVE") && len(args) == 4:
		p.send([][]byte{pxSRem, args[1], args[3]})
		p.send([][]byte{pxSAdd, args[2], args[3]})
	case is(name, "LMOVE") && len(args) == 5 && isListEnd(args[3]) && isListEnd(args[4]):
		p.moveElement(args, args[3], args[4])
	case is(name, "RPOPLPUSH") && len(args) == 3:
		p.moveElement(args, pxRight, pxLeft)
	default:
		return p.emulateStore(args)
	}
	return true
}

// plainCopy reports a COPY src dst with no option but REPLACE (COPY ... DB
// leaves db 0).
func plainCopy(args [][]byte) bool {
	if len(args) < 3 {
		return false
	}
	for _, a := range args[3:] {
		if !is(a, "REPLACE") {
			return false
		}
	}
	return true
}

// isListEnd reports LEFT or RIGHT.
func isListEnd(a []byte) bool { return is(a, "LEFT") || is(a, "RIGHT") }

// moveKey emulates RENAME (del true) and COPY (del false) with the
// shared moveKey, keeping an expiry of less than 1 ms.
func (p *ProxyStream) moveKey(args [][]byte, del bool) {
	src, dst := args[1], args[2]
	if bytes.Equal(src, dst) { // RENAME k k changes nothing
		p.emulated.Add(1)
		return
	}
	if !p.settle() {
		return
	}
	p.moved(args, moveKey(p.stepper(args), src, dst, del, true))
}

// moveElement emulates LMOVE src dst from to with the shared moveElement.
func (p *ProxyStream) moveElement(args [][]byte, from, to []byte) {
	if !p.settle() {
		return
	}
	p.moved(args, moveElement(p.stepper(args), args[1], args[2], from, to))
}

// moved counts an emulation of args that ran to its end or found its
// source key gone (logged).
func (p *ProxyStream) moved(args [][]byte, out moveOutcome) {
	switch out {
	case moveDone:
		p.emulated.Add(1)
	case moveMissing:
		p.emulated.Add(1)
		p.warns.warn(p.f.log, args[0], args[1], reasonMissing, "twemproxy target: emulated command found nothing to move")
	}
}

// stepper runs the steps of the emulation of args with step: an error
// reply stops it.
func (p *ProxyStream) stepper(args [][]byte) stepFunc {
	return func(cmd ...[]byte) (resp.Reply, bool) { return p.step(args, cmd...) }
}

// settle waits until everything sent is answered.
func (p *ProxyStream) settle() bool {
	ctx, cancel := context.WithTimeout(context.Background(), proxyCallTimeout)
	defer cancel()
	if err := p.f.Drain(ctx); err != nil {
		p.f.fail(fmt.Errorf("forwarder: twemproxy %s: waiting for replies: %w", p.cfg.Addr, err))
		return false
	}
	return true
}

// step runs one command of the emulation of args on the second
// connection. ok is false when it failed: a lost connection or a proxy
// fault fails the writer; an error reply refuses args (logged, counted).
func (p *ProxyStream) step(args [][]byte, cmd ...[]byte) (rep resp.Reply, ok bool) {
	conn, rd, err := p.side.get(p.cfg.Config)
	if err == nil {
		rep, err = proxyRoundTrip(conn, rd, p.cfg.Addr, cmd)
	}
	if err != nil {
		p.side.close()
		p.f.fail(err)
		return rep, false
	}
	if err := rep.Err(); err != nil {
		p.refuse(args, "the target refused "+string(cmd[0])+" of its emulation: "+err.Error())
		return rep, false
	}
	return rep, true
}

// proxySideConn is a second connection to the proxy, made when first needed.
// get and close may be called from any goroutine.
type proxySideConn struct {
	mu   sync.Mutex
	conn net.Conn
	rd   *resp.Reader
}

func (s *proxySideConn) get(cfg Config) (net.Conn, *resp.Reader, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		ctx, cancel := context.WithTimeout(context.Background(), cfg.DialTimeout)
		defer cancel()
		conn, rd, err := connect(ctx, cfg)
		if err != nil {
			return nil, nil, err
		}
		s.conn, s.rd = conn, rd
	}
	return s.conn, s.rd, nil
}

func (s *proxySideConn) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil {
		s.conn.Close()
		s.conn, s.rd = nil, nil
	}
}

// flushBackends sends a FLUSHALL or FLUSHDB of the stream to every backend
// of the pool directly, once what is in flight is answered. It takes the
// checkpoint key with it, as FLUSHALL in a batch on a standalone target
// does; the batch's Commit writes it again.
func (p *ProxyStream) flushBackends(args [][]byte) {
	if len(p.cfg.Backends) == 0 {
		p.refuse(args, reasonFlush)
		return
	}
	if !p.settle() {
		return
	}
	cmd := make([]string, len(args))
	for i, a := range args {
		cmd[i] = string(a)
	}
	for _, addr := range p.cfg.Backends {
		err := p.backendCall(addr, cmd)
		var se *resp.ServerError
		if errors.As(err, &se) {
			p.refuse(args, "backend "+addr+" refused it: "+se.Msg)
			return
		}
		if err != nil {
			p.f.fail(err)
			return
		}
	}
	p.emulated.Add(1)
	p.f.log.Warn().Str("cmd", cmd[0]).Strs("backends", p.cfg.Backends).
		Msg("twemproxy target: flushed every backend of the pool directly")
}

// backendCall runs one command on one backend of the pool, over a
// connection of its own, with the proxy's password.
func (p *ProxyStream) backendCall(addr string, args []string) error {
	cfg := p.cfg.Config
	cfg.Addr = addr
	ctx, cancel := context.WithTimeout(context.Background(), proxyCallTimeout)
	defer cancel()
	conn, rd, err := connect(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = call(ctx, conn, rd, addr, args)
	return err
}
