package forwarder

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/replicant/replicant/resp"
)

// scriptedTarget answers PING with +PONG and CLUSTER SLOTS with slots ("":
// never answers), on every connection.
func scriptedTarget(t *testing.T, slots string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				rd := resp.NewReader(conn, 4096)
				for {
					args, _, err := rd.ReadCommand()
					if err != nil {
						return
					}
					switch strings.ToUpper(string(args[0])) {
					case "PING":
						conn.Write([]byte("+PONG\r\n"))
					case "CLUSTER":
						if slots != "" {
							conn.Write([]byte(slots))
						}
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// TestQuerySlotMapCall: querySlotMap reads CLUSTER SLOTS with call, as the
// handshake does: an error reply is an error naming CLUSTER SLOTS that
// wraps the server's error, a target that never answers is given up after
// DialTimeout, and a reply is parsed.
func TestQuerySlotMapCall(t *testing.T) {
	ctx := context.Background()
	addr := scriptedTarget(t, "-ERR This instance has cluster support disabled\r\n")
	_, err := querySlotMap(ctx, Config{Addr: addr})
	var se *resp.ServerError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "CLUSTER SLOTS: ERR This instance") {
		t.Errorf("error reply: %v", err)
	}

	addr = scriptedTarget(t, "")
	start := time.Now()
	_, err = querySlotMap(ctx, Config{Addr: addr, DialTimeout: 200 * time.Millisecond})
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || time.Since(start) > 5*time.Second || !strings.Contains(err.Error(), "CLUSTER SLOTS") {
		t.Errorf("no answer: %v after %v", err, time.Since(start))
	}

	addr = scriptedTarget(t, "*1\r\n*3\r\n:0\r\n:16383\r\n*2\r\n$0\r\n\r\n:7000\r\n")
	m, err := querySlotMap(ctx, Config{Addr: addr})
	if err != nil || len(m.masters) != 1 || m.masters[0] != "127.0.0.1:7000" || m.owner[16383] != "127.0.0.1:7000" {
		t.Errorf("slot map %v, %v", m, err)
	}
}
