package forwarder

import (
	"strings"
	"testing"

	"github.com/replicant/replicant/resp"
)

func TestEncodedSize(t *testing.T) {
	for _, words := range [][]string{
		{"PING"}, {"SET", "k", "v"}, {""}, {"SET", "k", strings.Repeat("x", 9)},
		{"SET", "k", strings.Repeat("x", 10)}, {"SET", "k", strings.Repeat("x", 123456)},
		strings.Fields(strings.Repeat("a ", 11)),
	} {
		args := cmd(words...)
		if got, want := encodedSize(args), len(resp.AppendCommand(nil, args...)); got != want {
			t.Errorf("%.20v: size %d, encoded %d", words, got, want)
		}
	}
}

func TestLabelOf(t *testing.T) {
	long := strings.Repeat("k", 300)
	cases := []struct {
		in   []byte
		want string
	}{
		{resp.AppendCommandString(nil, "restore", "key:1", "0", "payload"), `RESTORE "key:1"`},
		{resp.AppendCommandString(nil, "PING"), "PING"},
		{resp.AppendCommandString(nil, "SET", long, "v"), `SET "` + long[:maxLabelArg] + `"`},
		{[]byte("*2\r\n$3\r\nGET\r\n$99\r\nshort\r\n"), "GET"},
		{[]byte("garbage"), ""},
		{nil, ""},
	}
	for _, c := range cases {
		if got := labelOf(c.in).String(); got != c.want {
			t.Errorf("labelOf(%.30q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func FuzzLabelOf(f *testing.F) {
	f.Add(resp.AppendCommandString(nil, "SET", "k", "v"))
	f.Add([]byte("*1\r\n$-1\r\n"))
	f.Add([]byte("*2\r\n$3\r\nGET\r\n$-5\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		l := labelOf(b)
		if len(l.arg) > maxLabelArg {
			t.Fatalf("arg of %d bytes", len(l.arg))
		}
	})
}

func TestRing(t *testing.T) {
	r := newRing(3)
	next, want := 0, 0
	for round := 0; round < 10; round++ {
		for !r.full() {
			r.push(entry{end: 10, offset: int64(next)})
			next++
			if r.last().offset != int64(next-1) {
				t.Fatalf("last %d, want %d", r.last().offset, next-1)
			}
		}
		for i := 0; i <= round%3; i++ {
			if e := r.pop(); e.offset != int64(want) {
				t.Fatalf("pop %d, want %d", e.offset, want)
			}
			want++
		}
		if r.bytes != 10*r.n {
			t.Fatalf("bytes %d for %d entries", r.bytes, r.n)
		}
	}
	for r.n > 0 {
		r.pop()
	}
	if r.bytes != 0 || r.last() != nil {
		t.Fatalf("bytes %d after emptying", r.bytes)
	}
}

func TestIs(t *testing.T) {
	for _, c := range []struct {
		name string
		want bool
	}{{"ping", true}, {"PING", true}, {"PiNg", true}, {"PINGS", false}, {"PIN", false}, {"P1NG", false}, {"", false}} {
		if got := is([]byte(c.name), "PING"); got != c.want {
			t.Errorf("is(%q) = %v", c.name, got)
		}
	}
}
