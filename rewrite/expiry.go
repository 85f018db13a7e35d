package rewrite

import (
	"bytes"
	"strconv"
	"strings"
	"time"
)

// Expiry rewrites the expiries the source sends so that the target
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
type Expiry struct {
	marginMs int64
	now      func() time.Time
	scratch  [][]byte
	num      []byte
}

// NewExpiry returns an Expiry that shifts every expiry later by margin.
func NewExpiry(margin time.Duration) *Expiry {
	return &Expiry{marginMs: margin.Milliseconds(), now: time.Now}
}

// Snapshot returns the expiry (Unix ms, 0 for none) to restore a
// snapshot key with.
func (x *Expiry) Snapshot(expireAtMs int64) int64 {
	if expireAtMs == 0 {
		return 0
	}
	return expireAtMs + x.marginMs
}

// Command returns a live command of the stream with its expiry made
// absolute and shifted: args, or a rewritten copy valid until the next
// call. One goroutine calls it.
func (x *Expiry) Command(args [][]byte) [][]byte {
	if len(args) < 2 {
		return args
	}
	name := args[0]
	switch {
	case eqFold(name, "PEXPIREAT"), eqFold(name, "EXPIREAT"), eqFold(name, "PEXPIRE"), eqFold(name, "EXPIRE"):
		return x.expire(args)
	case eqFold(name, "SET"):
		return x.set(args)
	case eqFold(name, "SETEX"), eqFold(name, "PSETEX"):
		return x.setex(args)
	case eqFold(name, "GETEX"):
		return x.getex(args)
	case eqFold(name, "RESTORE"):
		return x.restore(args)
	}
	return args
}

// absolute converts a time argument of the given unit ("EX", "PX", "EXAT",
// "PXAT") to Unix milliseconds plus the margin. ok is false for a
// malformed number, which is then left for the target to refuse.
func (x *Expiry) absolute(unit string, arg []byte) (int64, bool) {
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

func (x *Expiry) number(n int64) []byte {
	x.num = strconv.AppendInt(x.num[:0], n, 10)
	return x.num
}

func (x *Expiry) copyArgs(args [][]byte) [][]byte {
	x.scratch = append(x.scratch[:0], args...)
	return x.scratch
}

// expire: EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT key time [NX|XX|GT|LT].
func (x *Expiry) expire(args [][]byte) [][]byte {
	if len(args) < 3 || (x.marginMs == 0 && eqFold(args[0], "PEXPIREAT")) {
		return args
	}
	unit := "PXAT"
	switch {
	case eqFold(args[0], "EXPIRE"):
		unit = "EX"
	case eqFold(args[0], "PEXPIRE"):
		unit = "PX"
	case eqFold(args[0], "EXPIREAT"):
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
func (x *Expiry) set(args [][]byte) [][]byte {
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
func (x *Expiry) setex(args [][]byte) [][]byte {
	if len(args) != 4 {
		return args
	}
	unit := "EX"
	if eqFold(args[0], "PSETEX") {
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
func (x *Expiry) getex(args [][]byte) [][]byte {
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
func (x *Expiry) restore(args [][]byte) [][]byte {
	if len(args) < 4 || string(args[2]) == "0" {
		return args
	}
	abs := false
	for _, a := range args[4:] {
		abs = abs || eqFold(a, "ABSTTL")
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

// eqFold reports whether b equals the ASCII word s, ignoring case.
func eqFold(b []byte, s string) bool {
	return len(b) == len(s) && strings.EqualFold(string(b), s)
}
