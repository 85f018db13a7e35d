package test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/redcon"

	"github.com/replicant/replicant/test/redistest"
)

// serveRDB runs a fake master that answers the replica handshake and then
// sends rdb as a disk-based snapshot payload.
func serveRDB(t *testing.T, rdb []byte) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := redcon.NewServer("", func(conn redcon.Conn, cmd redcon.Command) {
		switch strings.ToUpper(string(cmd.Args[0])) {
		case "PING":
			conn.WriteString("PONG")
		case "REPLCONF":
			conn.WriteString("OK")
		case "PSYNC":
			dc := conn.Detach()
			go func() {
				defer dc.Close()
				dc.WriteRaw([]byte("+FULLRESYNC 0123456789012345678901234567890123456789 0\r\n$" + strconv.Itoa(len(rdb)) + "\r\n"))
				dc.WriteRaw(rdb)
				dc.Flush()
				time.Sleep(10 * time.Second)
			}()
		default:
			conn.WriteError("ERR unknown command")
		}
	}, nil, nil)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// TestCorruptSnapshot: a snapshot with a flipped byte gives one clear
// error naming the offset, exit status 1, no retry loop, no panic.
func TestCorruptSnapshot(t *testing.T) {
	src := startServer(t, redistest.Options{})
	dst := startServer(t, redistest.Options{})
	ctx := context.Background()
	if _, err := redistest.Fill(ctx, src, redistest.FillOptions{Seed: 13, DBs: 1, KeysPerType: 5}); err != nil {
		t.Fatal(err)
	}
	if err := src.Client.Save(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	rdb, err := os.ReadFile(filepath.Join(src.Dir, "dump.rdb"))
	if err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string][]byte{
		"flipped byte": flip(rdb, len(rdb)/2),
		"unknown type": append(append(append([]byte{}, rdb[:9]...), 0xFE, 0x00, 100, 0x01, 'k', 0x01, 'v'), rdb[len(rdb)-9:]...),
	} {
		t.Run(name, func(t *testing.T) {
			addr := serveRDB(t, bad)
			r := startReplicant(t, "sync", "--source", "redis://"+addr, "--target", url(dst), "--log-format", "json")
			code := r.wait(t, 20*time.Second)
			last := lastLine(r.out.String())
			if code != 1 || !strings.Contains(last, "snapshot") || !strings.Contains(last, "offset") {
				t.Fatalf("exit status %d, last line %q", code, last)
			}
			if strings.Contains(r.out.String(), "panic") {
				t.Fatalf("panic:\n%s", r.out.String())
			}
		})
	}
}

func flip(b []byte, at int) []byte {
	out := append([]byte(nil), b...)
	out[at] ^= 0xFF
	return out
}
