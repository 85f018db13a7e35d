package forwarder

import (
	"bytes"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/replicant/replicant/resp"
)

// commandTable is what a target's COMMAND reply says it takes: each
// command's name and arity. A command it does not know, or sent with a
// count of arguments it refuses, would abort the whole MULTI it is queued
// in (EXECABORT); the table lets a writer leave it out alone instead.
type commandTable struct {
	arity map[string]int // lower-case name → arity (negative: at least -arity)
}

// maxTableNames bounds the names a table learns beyond the target's own
// (the same command in other letter cases, as the stream spells it).
const maxTableNames = 4096

// readCommandTable sends COMMAND on a connection with nothing in flight
// and reads the table. A target that refuses COMMAND (renamed, an ACL, a
// proxy) gives no table: nil, and no error.
func readCommandTable(conn net.Conn, rd *resp.Reader, addr string) (*commandTable, error) {
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	defer conn.SetDeadline(time.Time{})
	if _, err := conn.Write(resp.AppendCommandString(nil, "COMMAND")); err != nil {
		return nil, fmt.Errorf("forwarder: target %s: %w", addr, netCause(err))
	}
	rep, err := rd.ReadReply()
	if err != nil {
		return nil, fmt.Errorf("forwarder: target %s: read COMMAND: %w", addr, netCause(err))
	}
	if rep.Err() != nil || rep.Kind != resp.Array {
		return nil, nil
	}
	return parseCommandTable(rep.Elems), nil
}

// parseCommandTable reads the name and arity of each entry of a COMMAND
// reply; entries of another shape are left out.
func parseCommandTable(entries []resp.Reply) *commandTable {
	t := &commandTable{arity: make(map[string]int, len(entries))}
	for _, e := range entries {
		if len(e.Elems) < 2 || e.Elems[1].Kind != resp.Integer {
			continue
		}
		t.arity[strings.ToLower(string(e.Elems[0].Str))] = int(e.Elems[1].Int)
	}
	if len(t.arity) == 0 {
		return nil
	}
	return t
}

// refuses says why the target would refuse args when queued ("" when it
// takes them): an unknown command, or a wrong number of arguments. A nil
// table refuses nothing.
func (t *commandTable) refuses(args [][]byte) string {
	if t == nil || len(args) == 0 {
		return ""
	}
	arity, ok := t.lookup(args[0])
	switch {
	case !ok:
		return "unknown command on the target"
	case arity > 0 && len(args) != arity, arity < 0 && len(args) < -arity:
		return "wrong number of arguments for the target"
	}
	return ""
}

// lookup finds a name in any letter case; a new spelling of a known name
// is remembered, so that the stream's own spelling costs no copy again.
func (t *commandTable) lookup(name []byte) (int, bool) {
	if a, ok := t.arity[string(name)]; ok {
		return a, true
	}
	a, ok := t.arity[string(bytes.ToLower(name))]
	if ok && len(t.arity) < maxTableNames {
		t.arity[string(name)] = a
	}
	return a, ok
}
