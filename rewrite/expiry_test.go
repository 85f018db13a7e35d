package rewrite

import (
	"strings"
	"testing"
	"time"
)

func TestExpiryRewrite(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	x := NewExpiry(1500 * time.Millisecond)
	x.now = func() time.Time { return now }
	cases := []struct{ in, want string }{
		{"SET k v", "SET k v"},
		{"INCR k", "INCR k"},
		{"PEXPIREAT k 1700000100000", "PEXPIREAT k 1700000101500"},
		{"pexpireat k 1700000100000 GT", "PEXPIREAT k 1700000101500 GT"},
		{"EXPIREAT k 1700000100", "PEXPIREAT k 1700000101500"},
		{"EXPIRE k 10", "PEXPIREAT k 1700000011500"},
		{"PEXPIRE k 10 NX", "PEXPIREAT k 1700000001510 NX"},
		{"SET k v PXAT 1700000100000", "SET k v PXAT 1700000101500"},
		{"SET k v NX EX 10", "SET k v NX PXAT 1700000011500"},
		{"SET k v px 10 GET", "SET k v PXAT 1700000001510 GET"},
		{"SET k v EXAT 1700000100", "SET k v PXAT 1700000101500"},
		{"SET k v KEEPTTL", "SET k v KEEPTTL"},
		{"SETEX k 10 v", "SET k v PXAT 1700000011500"},
		{"PSETEX k 10 v", "SET k v PXAT 1700000001510"},
		{"GETEX k EX 10", "GETEX k PXAT 1700000011500"},
		{"GETEX k PERSIST", "GETEX k PERSIST"},
		{"RESTORE k 0 payload REPLACE", "RESTORE k 0 payload REPLACE"},
		{"RESTORE k 10 payload REPLACE", "RESTORE k 1700000001510 payload REPLACE ABSTTL"},
		{"RESTORE k 1700000100000 payload ABSTTL", "RESTORE k 1700000101500 payload ABSTTL"},
		{"EXPIRE k notanumber", "EXPIRE k notanumber"},
	}
	for _, c := range cases {
		if got := join(x.Command(split(c.in))); got != c.want {
			t.Errorf("%s: got %q, want %q", c.in, got, c.want)
		}
	}
	if got := x.Snapshot(1700000100000); got != 1700000101500 {
		t.Errorf("snapshot expiry %d", got)
	}
	if got := x.Snapshot(0); got != 0 {
		t.Errorf("no expiry became %d", got)
	}
}

func TestExpiryRewriteWithoutMargin(t *testing.T) {
	x := NewExpiry(0)
	x.now = func() time.Time { return time.UnixMilli(1_700_000_000_000) }
	in := split("PEXPIREAT k 1700000100000")
	if out := x.Command(in); &out[0] != &in[0] {
		t.Error("an absolute expiry without margin was copied")
	}
	if got := join(x.Command(split("EXPIRE k 10"))); got != "PEXPIREAT k 1700000010000" {
		t.Errorf("got %q", got)
	}
}

func split(s string) [][]byte {
	var out [][]byte
	for _, f := range strings.Fields(s) {
		out = append(out, []byte(f))
	}
	return out
}

func join(args [][]byte) string {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = string(a)
	}
	return strings.Join(parts, " ")
}
