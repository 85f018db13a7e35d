package psync

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/redcon"
)

const testID = "8de1b9c5f1dc7b3b0f1e8a7f2c3d4e5f6a7b8c9d"

func TestFullResyncAfterKeepaliveNewlines(t *testing.T) {
	rdb := "REDIS0009-fake-rdb-bytes"
	m := startFakeMaster(t, nil)
	m.onPSYNC = func(dc redcon.DetachedConn, args []string) {
		raw(dc, "\n\n+FULLRESYNC "+testID+" 1000\r\n")
		raw(dc, "\n\n$EOF:"+testMark+"\r\n"+rdb[:5])
		raw(dc, rdb[5:]+testMark[:17])
		raw(dc, testMark[17:])
		m.readAcks(dc)
	}
	c, err := dialFake(t, m, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if !c.FullResync() || c.ReplID() != testID || c.StartOffset() != 1000 {
		t.Fatalf("full=%v id=%q off=%d", c.FullResync(), c.ReplID(), c.StartOffset())
	}
	r, err := c.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil || string(got) != rdb {
		t.Fatalf("payload %q err %v", got, err)
	}
	if c.SnapshotSize() != -1 || c.SnapshotRead() != int64(len(rdb)) {
		t.Fatalf("size %d read %d", c.SnapshotSize(), c.SnapshotRead())
	}
	go c.ReadCommand() // sends the first ACK, then waits for commands
	if ack := m.waitAck(t); ack != "*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$4\r\n1000\r\n" {
		t.Fatalf("first ACK %q", ack)
	}
	want := []string{"PING", "REPLCONF listening-port", "REPLCONF capa eof capa psync2", "PSYNC ? -1"}
	cmds := m.commands()
	for i, w := range want {
		if i >= len(cmds) || !strings.HasPrefix(cmds[i], w) {
			t.Fatalf("handshake %q, want prefixes %q", cmds, want)
		}
	}
}

// TestStreamOffsetsAndGetAck: ReadCommand and AppendCommand give each
// command's end offset, answer GETACK, and AppendCommand keeps the bytes
// as received.
func TestStreamOffsetsAndGetAck(t *testing.T) {
	for _, appending := range []bool{false, true} {
		t.Run(fmt.Sprintf("append=%v", appending), func(t *testing.T) { testStreamOffsets(t, appending) })
	}
}

func testStreamOffsets(t *testing.T, appending bool) {
	stream := []string{
		"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n",
		"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nv\r\n\x00\xff\r\n",
		"*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n",
		"*1\r\n$4\r\nPING\r\n",
	}
	m := startFakeMaster(t, nil)
	m.onPSYNC = func(dc redcon.DetachedConn, args []string) {
		raw(dc, "+FULLRESYNC "+testID+" 50\r\n$3\r\nabc")
		raw(dc, strings.Join(stream, ""))
		m.readAcks(dc)
	}
	applied := int64(42)
	c, err := dialFake(t, m, Config{Applied: func() int64 { return applied }, AckInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Snapshot(); err != nil { // left unread: ReadCommand discards it
		t.Fatal(err)
	}
	off := int64(50)
	var spooled []byte
	for i, s := range stream {
		var end int64
		if appending {
			spooled, end, err = c.AppendCommand(spooled)
		} else {
			_, end, err = c.ReadCommand()
		}
		if err != nil {
			t.Fatal(err)
		}
		off += int64(len(s))
		if end != off || c.Received() != off {
			t.Fatalf("command %d (%q): end %d, want %d", i, s, end, off)
		}
	}
	if want := strings.Join(stream, ""); appending && string(spooled) != want {
		t.Fatalf("AppendCommand appended %q, want the bytes received %q", spooled, want)
	}
	if ack := m.waitAck(t); !strings.HasSuffix(ack, "$2\r\n42\r\n") {
		t.Fatalf("first ACK %q", ack)
	}
	if ack := m.waitAck(t); !strings.HasSuffix(ack, "$2\r\n42\r\n") {
		t.Fatalf("ACK for GETACK %q", ack)
	}
}

func TestAckTicker(t *testing.T) {
	m := startFakeMaster(t, nil)
	m.onPSYNC = func(dc redcon.DetachedConn, args []string) {
		raw(dc, "+CONTINUE "+testID+"\r\n")
		m.readAcks(dc)
	}
	c, err := dialFake(t, m, Config{ReplID: "old", Offset: 99, AckInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if c.FullResync() || c.ReplID() != testID || c.StartOffset() != 99 {
		t.Fatalf("full=%v id=%q start=%d", c.FullResync(), c.ReplID(), c.StartOffset())
	}
	if cmds := m.commands(); cmds[len(cmds)-1] != "PSYNC old 100" {
		t.Fatalf("sent %q", cmds[len(cmds)-1])
	}
	for i := 0; i < 3; i++ {
		if ack := m.waitAck(t); !strings.HasSuffix(ack, "$2\r\n99\r\n") {
			t.Fatalf("ACK %q", ack)
		}
	}
}

func TestContinueKeepsReplID(t *testing.T) {
	m := startFakeMaster(t, func(dc redcon.DetachedConn, args []string) {
		raw(dc, "+CONTINUE\r\n")
		keepOpen(dc)
	})
	c, err := dialFake(t, m, Config{ReplID: testID, Offset: 7})
	if err != nil {
		t.Fatal(err)
	}
	if c.ReplID() != testID || c.StartOffset() != 7 {
		t.Fatalf("id %q start %d", c.ReplID(), c.StartOffset())
	}
}

func TestRetryableRefusals(t *testing.T) {
	for _, reply := range []string{
		"-NOMASTERLINK Can't SYNC while not connected with my master",
		"-LOADING Redis is loading the dataset in memory",
		"-ERR Can't SYNC while not connected with my master",
	} {
		m := startFakeMaster(t, func(dc redcon.DetachedConn, args []string) { raw(dc, reply+"\r\n") })
		_, err := dialFake(t, m, Config{})
		if !errors.Is(err, ErrRetryLater) {
			t.Errorf("%s: got %v, want ErrRetryLater", reply, err)
		}
	}
}

func TestFallbackToSync(t *testing.T) {
	m := startFakeMaster(t, nil)
	m.onPSYNC = func(dc redcon.DetachedConn, args []string) {
		if args[0] == "PSYNC" {
			raw(dc, "-ERR unknown command 'PSYNC'\r\n")
			cmd, err := dc.ReadCommand()
			if err != nil || strings.ToUpper(string(cmd.Args[0])) != "SYNC" {
				return
			}
			m.record([]string{"SYNC"})
		}
		raw(dc, "\n$4\r\nRDB!*1\r\n$4\r\nPING\r\n")
		keepOpen(dc)
	}
	c, err := dialFake(t, m, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Legacy() || !c.FullResync() {
		t.Fatalf("legacy=%v full=%v", c.Legacy(), c.FullResync())
	}
	r, err := c.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(r); string(b) != "RDB!" {
		t.Fatalf("payload %q", b)
	}
	args, end, err := c.ReadCommand()
	if err != nil || string(args[0]) != "PING" || end != 14 {
		t.Fatalf("args %q end %d err %v", args, end, err)
	}
}

// TestNoFallbackOnOtherErrors: only an error saying PSYNC is unknown means
// a master older than 2.8. Any other -ERR is a refusal reported as it is,
// with no SYNC sent (SYNC would mean a full sync every time).
func TestNoFallbackOnOtherErrors(t *testing.T) {
	for reply, fallback := range map[string]bool{
		"-ERR unknown command 'PSYNC'":                                     true,
		"-ERR unknown command `PSYNC`, with args beginning with: `?` `-1`": true,
		"-ERR SYNC and PSYNC are invalid with pending output":              false,
		"-ERR Replica can't interact with the keyspace":                    false,
		"-ERR wrong number of arguments for 'psync' command":               false,
	} {
		m := startFakeMaster(t, nil)
		m.onPSYNC = func(dc redcon.DetachedConn, args []string) {
			if args[0] == "PSYNC" {
				raw(dc, reply+"\r\n")
				cmd, err := dc.ReadCommand()
				if err != nil {
					return
				}
				m.record([]string{strings.ToUpper(string(cmd.Args[0]))})
			}
			raw(dc, "$4\r\nRDB!")
			keepOpen(dc)
		}
		c, err := dialFake(t, m, Config{})
		if fallback {
			if err != nil || !c.Legacy() {
				t.Errorf("%s: err %v, want a SYNC fallback", reply, err)
			}
			continue
		}
		var he *HandshakeError
		if !errors.As(err, &he) || he.Step != "PSYNC" || !strings.Contains(err.Error(), reply[1:]) {
			t.Errorf("%s: got %v, want the refusal", reply, err)
		}
		time.Sleep(50 * time.Millisecond)
		if slices.Contains(m.commands(), "SYNC") {
			t.Errorf("%s: SYNC sent", reply)
		}
	}
}

// TestGarbageRepliesClipped: a server that answers with a long garbage line
// gets an error that quotes a short part of it, not the whole line.
func TestGarbageRepliesClipped(t *testing.T) {
	garbage := strings.Repeat("\x00\x9f\x01~", 300)
	for _, at := range []string{"PING", "PSYNC", "FULLRESYNC", "refusal"} {
		m := startFakeMaster(t, func(dc redcon.DetachedConn, args []string) {
			switch at {
			case "PSYNC":
				raw(dc, garbage+"\r\n")
			case "FULLRESYNC":
				raw(dc, "+FULLRESYNC "+garbage+"\r\n")
			case "refusal":
				raw(dc, "-"+garbage+"\r\n")
			}
			keepOpen(dc)
		})
		if at == "PING" {
			m.ping = garbage
		}
		_, err := dialFake(t, m, Config{})
		if err == nil {
			t.Fatalf("%s: no error", at)
		}
		t.Logf("%s: %v", at, err)
		if msg := err.Error(); len(msg) > 400 || !strings.Contains(msg, "…") {
			t.Errorf("%s: error of %d bytes: %.500s", at, len(msg), msg)
		}
	}
}

func TestAuth(t *testing.T) {
	ok := func(dc redcon.DetachedConn, args []string) { raw(dc, "+CONTINUE\r\n"); keepOpen(dc) }
	m := startFakeMaster(t, ok)
	m.password = "s3cret"
	if _, err := dialFake(t, m, Config{ReplID: testID, Password: "s3cret"}); err != nil {
		t.Fatalf("right password: %v", err)
	}
	if cmds := m.commands(); cmds[1] != "AUTH s3cret" {
		t.Fatalf("sent %q", cmds)
	}
	if _, err := dialFake(t, m, Config{Username: "repl", Password: "s3cret"}); err != nil {
		t.Fatalf("ACL user: %v", err)
	}
	_, err := dialFake(t, m, Config{Password: "wrong"})
	var he *HandshakeError
	if !errors.As(err, &he) || he.Step != "AUTH" || !strings.Contains(err.Error(), "WRONGPASS") {
		t.Fatalf("wrong password: %v", err)
	}
	_, err = dialFake(t, m, Config{})
	if !errors.As(err, &he) || !strings.Contains(err.Error(), "password") {
		t.Fatalf("no password: %v", err)
	}
}

func TestMasterAbortsSnapshot(t *testing.T) {
	m := startFakeMaster(t, func(dc redcon.DetachedConn, args []string) {
		raw(dc, "+FULLRESYNC "+testID+" 0\r\n-ERR fork failed\r\n")
		keepOpen(dc)
	})
	c, err := dialFake(t, m, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Snapshot(); err == nil || !strings.Contains(err.Error(), "fork failed") {
		t.Fatalf("got %v", err)
	}
}

func TestConnectionRefused(t *testing.T) {
	_, err := Dial(t.Context(), Config{Addr: "127.0.0.1:1"})
	if err == nil || !strings.Contains(err.Error(), "refused") || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("got %v", err)
	}
}

func TestCloseUnblocksRead(t *testing.T) {
	m := startFakeMaster(t, func(dc redcon.DetachedConn, args []string) {
		raw(dc, "+CONTINUE\r\n")
		keepOpen(dc)
	})
	c, err := dialFake(t, m, Config{ReplID: testID})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { _, _, err := c.ReadCommand(); done <- err }()
	time.Sleep(50 * time.Millisecond)
	c.Close()
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("got %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ReadCommand still blocked after Close")
	}
}
