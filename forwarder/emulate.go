package forwarder

import (
	"strconv"

	"github.com/replicant/replicant/resp"
)

// This file holds the emulations of a command between two keys that the
// cluster writer (cluster_emulate.go) and the twemproxy writer
// (proxy_commands.go) share: each step is a command on one key (its
// cmd[1]), run synchronously by the writer's stepFunc, which decides what
// a failed step means for it.
//
// Not shared, as the two writers do them differently: SMOVE (the proxy
// writer pipelines SREM and SADD with the stream; the cluster writer runs
// them one by one), and the store commands (the proxy writer runs one
// atomic EVAL on the written key's backend; the cluster writer copies the
// keys read next to the written one and runs the command there, not
// atomically). Both take the written key from storeDestination.

// stepFunc runs one step of an emulation and returns its reply. ok false
// stops the emulation: the writer has dealt with the failure already (a
// lost connection; for the proxy writer, an error reply too). An error
// reply with ok true lets the emulation go on where the step's reply is
// not needed (the cluster writer logs and counts it).
type stepFunc func(cmd ...[]byte) (rep resp.Reply, ok bool)

// moveOutcome is how an emulation ended.
type moveOutcome int

const (
	moveDone    moveOutcome = iota // every step ran
	moveMissing                    // the source key or list was not there: nothing done
	moveStopped                    // a step failed (ok false, or an error reply whose value was needed)
)

var (
	cmdDump  = []byte("DUMP")
	cmdPTTL  = []byte("PTTL")
	cmdDel   = []byte("DEL")
	cmdLPop  = []byte("LPOP")
	cmdRPop  = []byte("RPOP")
	cmdLPush = []byte("LPUSH")
	cmdRPush = []byte("RPUSH")
)

// moveKey sets dst to src's value and expiry: DUMP src, PTTL src, RESTORE
// dst ttl payload REPLACE, then DEL src when del (RENAME; COPY without),
// never after a RESTORE the target refused.
// keepSubMs restores a key with less than 1 ms left (PTTL 0) with a ttl of
// 1 ms; without it, with none (the cluster writer's way so far).
func moveKey(step stepFunc, src, dst []byte, del, keepSubMs bool) moveOutcome {
	dump, ok := step(cmdDump, src)
	if !ok || dump.Err() != nil {
		return moveStopped
	}
	if dump.IsNil {
		return moveMissing
	}
	pttl, ok := step(cmdPTTL, src)
	if !ok {
		return moveStopped
	}
	ttl := restoreTTL(pttl.Int, keepSubMs)
	if rep, ok := step(argRestore, dst, strconv.AppendInt(nil, ttl, 10), dump.Str, argReplace); !ok || rep.Err() != nil {
		return moveStopped // src stays: a refused RESTORE must not lose it
	}
	if del {
		if _, ok := step(cmdDel, src); !ok {
			return moveStopped
		}
	}
	return moveDone
}

// restoreTTL is RESTORE's ttl for a key whose PTTL replied pttl: 0 (no
// expiry) for -1 (none) and -2 (gone); for 0 (less than 1 ms left), 1
// with keepSubMs, else 0.
func restoreTTL(pttl int64, keepSubMs bool) int64 {
	switch {
	case pttl < 0:
		return 0
	case pttl == 0 && keepSubMs:
		return 1
	}
	return pttl
}

// moveElement pops an element from src and pushes it onto dst: from and
// to are LEFT or RIGHT (anything but LEFT reads as RIGHT), as in LMOVE
// src dst from to; RPOPLPUSH is RIGHT LEFT.
func moveElement(step stepFunc, src, dst, from, to []byte) moveOutcome {
	pop, push := cmdRPop, cmdRPush
	if is(from, "LEFT") {
		pop = cmdLPop
	}
	if is(to, "LEFT") {
		push = cmdLPush
	}
	el, ok := step(pop, src)
	if !ok || el.Err() != nil {
		return moveStopped
	}
	if el.IsNil {
		return moveMissing
	}
	if _, ok := step(push, dst, el.Str); !ok {
		return moveStopped
	}
	return moveDone
}
