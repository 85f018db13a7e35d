package test

import (
	"context"
	"fmt"
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
	return servePayload(t, "$"+strconv.Itoa(len(rdb)), rdb)
}

// servePayload runs a fake master that answers the replica handshake, then
// sends the payload header line and body as they are, whatever length the
// header says, and keeps the link open for 10 s.
func servePayload(t *testing.T, header string, body []byte) string {
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
				dc.WriteRaw([]byte("+FULLRESYNC 0123456789012345678901234567890123456789 0\r\n" + header + "\r\n"))
				dc.WriteRaw(body)
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

// TestCorruptSnapshot: a snapshot whose bytes arrived but do not decode
// is asked for again a bounded number of times (a copy damaged on the way
// would come right), then stops with one clear error naming the offset,
// exit status 1, no panic.
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
			assertCorruptStops(t, serveRDB(t, bad), dst)
		})
	}
}

// falseCount is an RDB 9 file whose set "k" says it has 5 members and has
// 2, followed by the EOF opcode and a zero (disabled) checksum.
var falseCount = append([]byte("REDIS0009\xfe\x00\x02\x01k\x05\x01a\x01b\xff"), make([]byte, 8)...)

// TestCorruptSnapshotBoundedRetries: corrupt files from a fake master, on
// disk-based and diskless payloads, and payload headers whose length is not
// the RDB's: each is tried a bounded number of times, then replicant exits
// 1 naming the RDB offset. None is retried forever.
func TestCorruptSnapshotBoundedRetries(t *testing.T) {
	dst := startServer(t, redistest.Options{})
	rdb := fixtureRDB(t)
	for _, diskless := range []bool{false, true} {
		for name, bad := range map[string][]byte{"false element count": falseCount, "flipped byte": flip(rdb, len(rdb)/3)} {
			t.Run(fmt.Sprintf("%s diskless=%v", name, diskless), func(t *testing.T) {
				m, err := redistest.StartFakeMaster(bad, diskless)
				if err != nil {
					t.Fatal(err)
				}
				defer m.Stop()
				assertCorruptStops(t, m.Addr, dst)
			})
		}
	}
	for name, header := range map[string]string{
		"length header too long":  "$" + strconv.Itoa(len(rdb)+100),
		"length header too short": "$" + strconv.Itoa(len(rdb)-100),
	} {
		t.Run(name, func(t *testing.T) {
			assertCorruptStops(t, servePayload(t, header, rdb), dst)
		})
	}
}

// fixtureRDB returns a small valid RDB saved by a real server.
func fixtureRDB(t *testing.T) []byte {
	t.Helper()
	src := startServer(t, redistest.Options{})
	ctx := context.Background()
	if _, err := redistest.Fill(ctx, src, redistest.FillOptions{Seed: 14, DBs: 1, KeysPerType: 20}); err != nil {
		t.Fatal(err)
	}
	if err := src.Client.Save(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	rdb, err := os.ReadFile(filepath.Join(src.Dir, "dump.rdb"))
	if err != nil {
		t.Fatal(err)
	}
	return rdb
}

// assertCorruptStops runs sync from the fake master at addr and expects it
// to fetch the snapshot exactly maxSnapshotAttempts times, then exit 1 with
// a last line naming the snapshot and the RDB offset.
func assertCorruptStops(t *testing.T, addr string, dst *redistest.Server) {
	t.Helper()
	const maxSnapshotAttempts = 3
	r := startReplicant(t, "sync", "--source", "redis://"+addr, "--target", url(dst), "--log-format", "json",
		"--retry-max", "500ms", "--heartbeat-key", "")
	code := r.wait(t, 30*time.Second)
	out := r.out.String()
	last := lastLine(out)
	t.Logf("exit status %d: %s", code, last)
	if code != 1 || !strings.Contains(last, "snapshot") || !strings.Contains(last, "offset") {
		t.Fatalf("exit status %d, last line %q", code, last)
	}
	if n := strings.Count(out, "receiving snapshot"); n != maxSnapshotAttempts {
		t.Fatalf("%d snapshots received, want %d:\n%s", n, maxSnapshotAttempts, tail(out, 20))
	}
	if strings.Contains(out, "panic") {
		t.Fatalf("panic:\n%s", out)
	}
}

func flip(b []byte, at int) []byte {
	out := append([]byte(nil), b...)
	out[at] ^= 0xFF
	return out
}
