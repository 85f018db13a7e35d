package forwarder

import (
	"bufio"
	"context"
	"net"
	"strings"
	"testing"

	"github.com/replicant/replicant/resp"
	"github.com/rs/zerolog"
)

// fakeTarget answers like a Redis server would for the few commands the
// tests send, but holds the reply to EXEC until release is closed.
type fakeTarget struct {
	ln      net.Listener
	release chan struct{}
}

func startFake(t *testing.T) *fakeTarget {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ft := &fakeTarget{ln: ln, release: make(chan struct{})}
	t.Cleanup(func() { ln.Close() })
	go ft.serve()
	return ft
}

func (ft *fakeTarget) serve() {
	conn, err := ft.ln.Accept()
	if err != nil {
		return
	}
	defer conn.Close()
	rd := resp.NewReader(conn, 4096)
	w := bufio.NewWriter(conn)
	inMulti := false
	for {
		args, _, err := rd.ReadCommand()
		if err != nil {
			return
		}
		name := strings.ToUpper(string(args[0]))
		switch {
		case name == "PING":
			w.WriteString("+PONG\r\n")
		case name == "EXEC":
			w.Flush()
			<-ft.release
			w.WriteString("*1\r\n+OK\r\n")
			inMulti = false
		case inMulti:
			w.WriteString("+QUEUED\r\n")
		default:
			inMulti = name == "MULTI"
			w.WriteString("+OK\r\n")
		}
		if rd.Buffered().Buffered() == 0 {
			w.Flush()
		}
	}
}

func TestFakeQueuedHeld(t *testing.T) {
	ft := startFake(t)
	f, err := Dial(context.Background(), Config{Addr: ft.ln.Addr().String(), Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := &stream{t: t, f: f, off: 10}
	f.SetApplied(10)
	before := s.send("SET", "a", "1")
	s.send("MULTI")
	s.send("SET", "b", "2")
	s.send("PING") // never inside MULTI in a real stream; must not count early
	exec := s.send("EXEC")
	last := s.send("PING")
	if err := f.Flush(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return f.Stats().Pending == 1 }) // MULTI, SET answered
	if got := f.Applied(); got != before {
		t.Fatalf("Applied %d with EXEC unanswered, want %d", got, before)
	}
	close(ft.release)
	drain(t, f)
	if got := f.Applied(); got != last || last <= exec {
		t.Fatalf("Applied %d, want %d", got, last)
	}
}
