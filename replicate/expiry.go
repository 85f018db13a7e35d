package replicate

import (
	"bytes"
	"strconv"
	"strings"
	"time"
)

// expiryRewriter rewrites the expiries the source sends so that the target
// applies them as absolute times, shifted later by a margin.
//
// Why absolute: a relative TTL (EXPIRE, SET ... EX, SETEX, RESTORE without
// ABSTTL; sources before 7.0 send these) applied after a replication lag
// would make the key live longer on the target than on the source.
//
// Why a margin: the target is a master and expires keys on its own clock. A
// write the source made just before a key's expiry reaches the target a lag
// later; if the target has expired the key by then, the write meets an empty
// key (an INCR starts from 0, an EXPIRE that extended the key is lost) and
// the copies diverge for good. With the margin, the source's own DEL or
// UNLINK of the expired key (which it always propagates) removes it from
// the target first, as on a real replica, as long as the lag stays under
// the margin.
type expiryRewriter struct {
	marginMs int64
	now      func() time.Time
	scratch  [][]byte
	num      []byte
}

func newExpiryRewriter(margin time.Duration) *expiryRewriter {
	return &expiryRewriter{marginMs: margin.Milliseconds(), now: time.Now}
}

// snapshot returns the expiry to restore a snapshot key with.
func (x *expiryRewriter) snapshot(expireAtMs int64) int64 {
	if expireAtMs == 0 {
		return 0
	}
	return expireAtMs + x.marginMs
}

// rewrite returns args, or a rewritten copy valid until the next call.
func (x *expiryRewriter) rewrite(args [][]byte) [][]byte {
	if len(args) < 2 {
		return args
	}
	name := args[0]
	switch {
	case eq(name, "PEXPIREAT"), eq(name, "EXPIREAT"), eq(name, "PEXPIRE"), eq(name, "EXPIRE"):
		return x.expire(args)
	case eq(name, "SET"):
		return x.set(args)
	case eq(name, "SETEX"), eq(name, "PSETEX"):
		return x.setex(args)
	case eq(name, "GETEX"):
		return x.getex(args)
	case eq(name, "RESTORE"):
		return x.restore(args)
	}
	return args
}

// absolute converts a time argument of the given unit ("EX", "PX", "EXAT",
// "PXAT") to Unix milliseconds plus the margin. ok is false for a
// malformed number, which is then left for the target to refuse.
func (x *expiryRewriter) absolute(unit string, arg []byte) (int64, bool) {
	n, err := strconv.ParseInt(string(arg), 10, 64)
	if err != nil {
		return 0, false
	}
	switch unit {
	case "EX":
		n = x.now().UnixMilli() + n*1000
	case "PX":
		n = x.now().UnixMilli() + n
	case "EXAT":
		n *= 1000
	}
	return n + x.marginMs, true
}

func (x *expiryRewriter) number(n int64) []byte {
	x.num = strconv.AppendInt(x.num[:0], n, 10)
	return x.num
}

func (x *expiryRewriter) copyArgs(args [][]byte) [][]byte {
	x.scratch = append(x.scratch[:0], args...)
	return x.scratch
}

// expire: EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT key time [NX|XX|GT|LT].
func (x *expiryRewriter) expire(args [][]byte) [][]byte {
	if len(args) < 3 || (x.marginMs == 0 && eq(args[0], "PEXPIREAT")) {
		return args
	}
	unit := "PXAT"
	switch {
	case eq(args[0], "EXPIRE"):
		unit = "EX"
	case eq(args[0], "PEXPIRE"):
		unit = "PX"
	case eq(args[0], "EXPIREAT"):
		unit = "EXAT"
	}
	ms, ok := x.absolute(unit, args[2])
	if !ok {
		return args
	}
	out := x.copyArgs(args)
	out[0], out[2] = []byte("PEXPIREAT"), x.number(ms)
	return out
}

// set: SET key value [NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL].
func (x *expiryRewriter) set(args [][]byte) [][]byte {
	for i := 3; i+1 < len(args); i++ {
		unit := string(bytes.ToUpper(args[i]))
		if unit != "EX" && unit != "PX" && unit != "EXAT" && unit != "PXAT" {
			continue
		}
		if unit == "PXAT" && x.marginMs == 0 {
			return args
		}
		ms, ok := x.absolute(unit, args[i+1])
		if !ok {
			return args
		}
		out := x.copyArgs(args)
		out[i], out[i+1] = []byte("PXAT"), x.number(ms)
		return out
	}
	return args
}

// setex: SETEX key seconds value, PSETEX key ms value → SET key value PXAT.
func (x *expiryRewriter) setex(args [][]byte) [][]byte {
	if len(args) != 4 {
		return args
	}
	unit := "EX"
	if eq(args[0], "PSETEX") {
		unit = "PX"
	}
	ms, ok := x.absolute(unit, args[2])
	if !ok {
		return args
	}
	x.scratch = append(x.scratch[:0], []byte("SET"), args[1], args[3], []byte("PXAT"), x.number(ms))
	return x.scratch
}

// getex: GETEX key [EX s|PX ms|EXAT s|PXAT ms|PERSIST].
func (x *expiryRewriter) getex(args [][]byte) [][]byte {
	if len(args) != 4 {
		return args
	}
	unit := string(bytes.ToUpper(args[2]))
	if unit != "EX" && unit != "PX" && unit != "EXAT" && unit != "PXAT" {
		return args
	}
	ms, ok := x.absolute(unit, args[3])
	if !ok {
		return args
	}
	out := x.copyArgs(args)
	out[2], out[3] = []byte("PXAT"), x.number(ms)
	return out
}

// restore: RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f].
func (x *expiryRewriter) restore(args [][]byte) [][]byte {
	if len(args) < 4 || string(args[2]) == "0" {
		return args
	}
	abs := false
	for _, a := range args[4:] {
		abs = abs || eq(a, "ABSTTL")
	}
	unit := "PX"
	if abs {
		unit = "PXAT"
	}
	ms, ok := x.absolute(unit, args[2])
	if !ok {
		return args
	}
	out := x.copyArgs(args)
	out[2] = x.number(ms)
	if !abs {
		out = append(out, []byte("ABSTTL"))
		x.scratch = out
	}
	return out
}

// eq reports whether b equals the upper-case ASCII word s, ignoring case.
func eq(b []byte, s string) bool {
	return len(b) == len(s) && strings.EqualFold(string(b), s)
}
