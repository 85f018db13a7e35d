package forwarder

import (
	"bytes"
	"strings"
	"testing"

	"github.com/replicant/replicant/resp"
)

// scriptedSteps is a stepFunc that records each step and answers it from
// replies by command name (missing: +OK); an error reply is ok only when
// goOn (the cluster writer's way; the proxy writer's stops).
type scriptedSteps struct {
	replies map[string]resp.Reply
	goOn    bool
	sent    []string
}

func (s *scriptedSteps) step(cmd ...[]byte) (resp.Reply, bool) {
	s.sent = append(s.sent, string(bytes.Join(cmd, []byte(" "))))
	rep, ok := s.replies[string(cmd[0])]
	if !ok {
		rep = resp.Reply{Kind: resp.SimpleString, Str: []byte("OK")}
	}
	return rep, rep.Err() == nil || s.goOn
}

func errReply(msg string) resp.Reply { return resp.Reply{Kind: resp.Error, Str: []byte(msg)} }

// TestMoveKey: the steps of the shared RENAME/COPY emulation, and where
// the cluster writer (error replies go on, PTTL 0 restored without
// expiry) and the proxy writer (error replies stop, PTTL 0 kept as 1 ms)
// part.
func TestMoveKey(t *testing.T) {
	dump := resp.Reply{Kind: resp.BulkString, Str: []byte("payload")}
	pttl := func(n int64) resp.Reply { return resp.Reply{Kind: resp.Integer, Int: n} }
	for _, tc := range []struct {
		name      string
		replies   map[string]resp.Reply
		goOn      bool
		del, sub  bool
		want      moveOutcome
		wantSteps string
	}{
		{"rename", map[string]resp.Reply{"DUMP": dump, "PTTL": pttl(5000)}, false, true, true, moveDone,
			"DUMP a|PTTL a|RESTORE b 5000 payload REPLACE|DEL a"},
		{"copy", map[string]resp.Reply{"DUMP": dump, "PTTL": pttl(-1)}, true, false, false, moveDone,
			"DUMP a|PTTL a|RESTORE b 0 payload REPLACE"},
		{"gone after DUMP", map[string]resp.Reply{"DUMP": dump, "PTTL": pttl(-2)}, false, false, true, moveDone,
			"DUMP a|PTTL a|RESTORE b 0 payload REPLACE"},
		{"sub-ms kept (proxy)", map[string]resp.Reply{"DUMP": dump, "PTTL": pttl(0)}, false, true, true, moveDone,
			"DUMP a|PTTL a|RESTORE b 1 payload REPLACE|DEL a"},
		{"sub-ms not kept (cluster)", map[string]resp.Reply{"DUMP": dump, "PTTL": pttl(0)}, true, true, false, moveDone,
			"DUMP a|PTTL a|RESTORE b 0 payload REPLACE|DEL a"},
		{"missing", map[string]resp.Reply{"DUMP": {Kind: resp.BulkString, IsNil: true}}, true, true, false, moveMissing,
			"DUMP a"},
		{"DUMP refused, going on", map[string]resp.Reply{"DUMP": errReply("ERR x")}, true, true, false, moveStopped,
			"DUMP a"},
		{"PTTL refused, going on", map[string]resp.Reply{"DUMP": dump, "PTTL": errReply("ERR x")}, true, true, false, moveDone,
			"DUMP a|PTTL a|RESTORE b 0 payload REPLACE|DEL a"},
		{"PTTL refused, stopping", map[string]resp.Reply{"DUMP": dump, "PTTL": errReply("ERR x")}, false, true, true, moveStopped,
			"DUMP a|PTTL a"},
		{"RESTORE refused, going on: src kept", map[string]resp.Reply{"DUMP": dump, "PTTL": pttl(7), "RESTORE": errReply("ERR x")}, true, true, false, moveStopped,
			"DUMP a|PTTL a|RESTORE b 7 payload REPLACE"},
		{"RESTORE refused, stopping", map[string]resp.Reply{"DUMP": dump, "PTTL": pttl(7), "RESTORE": errReply("ERR x")}, false, true, true, moveStopped,
			"DUMP a|PTTL a|RESTORE b 7 payload REPLACE"},
	} {
		s := &scriptedSteps{replies: tc.replies, goOn: tc.goOn}
		got := moveKey(s.step, []byte("a"), []byte("b"), tc.del, tc.sub)
		if steps := strings.Join(s.sent, "|"); got != tc.want || steps != tc.wantSteps {
			t.Errorf("%s: outcome %d, steps %q; want %d, %q", tc.name, got, steps, tc.want, tc.wantSteps)
		}
	}
}

// TestMoveElement: the steps of the shared LMOVE/RPOPLPUSH emulation.
func TestMoveElement(t *testing.T) {
	el := resp.Reply{Kind: resp.BulkString, Str: []byte("e")}
	for _, tc := range []struct {
		from, to  string
		pop       resp.Reply
		want      moveOutcome
		wantSteps string
	}{
		{"LEFT", "RIGHT", el, moveDone, "LPOP a|RPUSH b e"},
		{"right", "left", el, moveDone, "RPOP a|LPUSH b e"},
		{"RIGHT", "LEFT", resp.Reply{Kind: resp.BulkString, IsNil: true}, moveMissing, "RPOP a"},
		{"LEFT", "LEFT", errReply("WRONGTYPE x"), moveStopped, "LPOP a"},
	} {
		for _, goOn := range []bool{false, true} {
			s := &scriptedSteps{replies: map[string]resp.Reply{"LPOP": tc.pop, "RPOP": tc.pop}, goOn: goOn}
			got := moveElement(s.step, []byte("a"), []byte("b"), []byte(tc.from), []byte(tc.to))
			if steps := strings.Join(s.sent, "|"); got != tc.want || steps != tc.wantSteps {
				t.Errorf("%s %s (go on %v): outcome %d, steps %q; want %d, %q", tc.from, tc.to, goOn, got, steps, tc.want, tc.wantSteps)
			}
		}
	}
}
