package psync

import (
	"bufio"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidwall/redcon"
)

// fakeMaster is a RESP server that answers the replica handshake and then
// plays a script on the raw connection in place of a real master.
type fakeMaster struct {
	addr     string
	password string
	ping     string // the reply to PING, as a raw line; "" answers +PONG
	onPSYNC  func(dc redcon.DetachedConn, args []string)
	mu       sync.Mutex
	seen     []string // commands received, space-joined
	acks     chan string
}

func startFakeMaster(t *testing.T, onPSYNC func(dc redcon.DetachedConn, args []string)) *fakeMaster {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := &fakeMaster{addr: ln.Addr().String(), onPSYNC: onPSYNC, acks: make(chan string, 100)}
	srv := redcon.NewServer("", m.handle, nil, nil)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return m
}

func (m *fakeMaster) record(args []string) {
	m.mu.Lock()
	m.seen = append(m.seen, strings.Join(args, " "))
	m.mu.Unlock()
}

func (m *fakeMaster) commands() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.seen...)
}

func (m *fakeMaster) handle(conn redcon.Conn, cmd redcon.Command) {
	args := make([]string, len(cmd.Args))
	for i, a := range cmd.Args {
		args[i] = string(a)
	}
	m.record(args)
	name := strings.ToUpper(args[0])
	if m.password != "" && conn.Context() == nil && name != "AUTH" {
		conn.WriteError("NOAUTH Authentication required.")
		return
	}
	switch name {
	case "PING":
		if m.ping != "" {
			conn.WriteRaw([]byte(m.ping + "\r\n"))
			return
		}
		conn.WriteString("PONG")
	case "AUTH":
		if args[len(args)-1] != m.password {
			conn.WriteError("WRONGPASS invalid username-password pair or user is disabled.")
			return
		}
		conn.SetContext(true)
		conn.WriteString("OK")
	case "REPLCONF":
		conn.WriteString("OK")
	case "PSYNC", "SYNC":
		dc := conn.Detach()
		go func() {
			defer dc.Close()
			m.onPSYNC(dc, args)
		}()
	default:
		conn.WriteError("ERR unknown command '" + args[0] + "'")
	}
}

// raw writes bytes on a detached connection.
func raw(dc redcon.DetachedConn, s string) {
	dc.WriteRaw([]byte(s))
	dc.Flush()
}

// readAcks forwards each command the replica sends after PSYNC.
func (m *fakeMaster) readAcks(dc redcon.DetachedConn) {
	for {
		cmd, err := dc.ReadCommand()
		if err != nil {
			return
		}
		m.acks <- string(cmd.Raw)
	}
}

func dialFake(t *testing.T, m *fakeMaster, cfg Config) (*Conn, error) {
	t.Helper()
	cfg.Addr = m.addr
	cfg.ReadTimeout = 5 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, cfg)
	if err == nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, err
}

// waitAck returns the next ACK the fake master received.
func (m *fakeMaster) waitAck(t *testing.T) string {
	t.Helper()
	select {
	case a := <-m.acks:
		return a
	case <-time.After(5 * time.Second):
		t.Fatal("no ACK from the replica")
		return ""
	}
}

// keepOpen blocks until the replica closes the link.
func keepOpen(dc redcon.DetachedConn) {
	br := bufio.NewReader(dc.NetConn())
	for {
		if _, err := br.ReadByte(); err != nil {
			return
		}
	}
}
