package resp

import (
	"strings"
	"testing"
)

// TestBulkHead: ReadReply (readBulkReply) and ReadStatus (skipBulk) share
// headBulk, and agree on a bulk reply's first line: a nil reply, a bad or
// negative length, a length over MaxBulk; after a nil reply both read the
// next one.
func TestBulkHead(t *testing.T) {
	for _, tc := range []struct {
		in      string
		nil, ok bool
	}{
		{"$-1\r\n+OK\r\n", true, true},
		{"=-1\r\n+OK\r\n", true, true},
		{"$0\r\n\r\n+OK\r\n", false, true},
		{"$4\r\nabcd\r\n+OK\r\n", false, true},
		{"$-2\r\n", false, false},
		{"$x\r\n", false, false},
		{"$\r\n", false, false},
		{"$01\r\na\r\n", false, false},
		{"$5\r\nabcde\r\n", false, false}, // over MaxBulk
		{"$4\r\nabcdXY", false, false},    // no CRLF after the bytes
	} {
		read := map[string]func(*Reader) (Reply, error){
			"ReadReply":  (*Reader).ReadReply,
			"ReadStatus": (*Reader).ReadStatus,
		}
		for name, fn := range read {
			r := NewReader(strings.NewReader(tc.in), 64)
			r.MaxBulk = 4
			rep, err := fn(r)
			if (err == nil) != tc.ok || (err == nil && rep.IsNil != tc.nil) {
				t.Errorf("%s(%q) = nil %v, err %v; want nil %v, ok %v", name, tc.in, rep.IsNil, err, tc.nil, tc.ok)
				continue
			}
			if err != nil {
				continue
			}
			if next, err := r.ReadReply(); err != nil || string(next.Str) != "OK" {
				t.Errorf("%s(%q): next reply %q, %v; want OK", name, tc.in, next.Str, err)
			}
		}
	}
}
