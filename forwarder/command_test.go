package forwarder

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// stream feeds commands with offsets that grow by each command's encoded size,
// as a master's stream would.
type stream struct {
	t   *testing.T
	f   *Standalone
	off int64
}

func (s *stream) send(words ...string) int64 {
	s.t.Helper()
	args := cmd(words...)
	s.off += int64(encodedSize(args))
	if err := s.f.Command(args, s.off); err != nil {
		s.t.Fatalf("Command %v: %v", words, err)
	}
	return s.off
}

func TestCommandSequence(t *testing.T) {
	ctx := context.Background()
	dst := startRedis(t)
	f, logs := dialTest(t, dst, Config{})
	dst.rdb.ConfigResetStat(ctx) // after the handshake's PING
	s := &stream{t: t, f: f, off: 1000}
	f.SetApplied(s.off)
	if f.Applied() != 1000 {
		t.Fatalf("Applied %d before any command", f.Applied())
	}
	s.send("select", "0") // the connection is in db 0: not sent
	s.send("SET", "a", "1")
	s.send("SELECT", "1")
	s.send("set", "b", "2")
	s.send("PING")
	s.send("MULTI")
	s.send("SET", "c", "3")
	s.send("INCR", "c")
	s.send("EXEC")
	s.send("REPLCONF", "GETACK", "*")
	s.send("SELECT", "1") // same db: not sent
	s.send("DEL", "b")
	s.send("SELECT", "2")
	s.send("SET", "d", "4")
	s.send("INCR", "d")
	s.send("INCR", "a-string-that-is-not") // fine: creates it
	s.send("LPUSH", "d", "x")              // WRONGTYPE: logged, counted
	last := s.send("ping")
	drain(t, f)
	if f.Applied() != last {
		t.Fatalf("Applied %d, want %d", f.Applied(), last)
	}
	st := f.Stats()
	if st.Skipped != 5 || st.Commands != 12 || st.CommandErrors != 1 || st.Pending != 0 {
		t.Fatalf("stats %+v", st)
	}
	if !strings.Contains(logs.String(), `"cmd":"LPUSH","key":"d","error":"WRONGTYPE`) {
		t.Fatalf("log:\n%s", logs)
	}
	info := dst.rdb.Info(ctx, "commandstats").Val()
	for _, c := range []string{"cmdstat_ping", "cmdstat_replconf"} {
		if strings.Contains(info, c) {
			t.Errorf("target saw %s:\n%s", c, info)
		}
	}
	if !strings.Contains(info, "cmdstat_select:calls=2,") {
		t.Errorf("target did not see SELECT exactly twice:\n%s", info)
	}
	checkValues(ctx, t, dst.addr, map[int]map[string]string{
		0: {"a": "1"}, 1: {"c": "4"}, 2: {"d": "5", "a-string-that-is-not": "1"},
	})
}

func checkValues(ctx context.Context, t *testing.T, addr string, want map[int]map[string]string) {
	t.Helper()
	for db, kv := range want {
		c := redis.NewClient(&redis.Options{Addr: addr, DB: db})
		defer c.Close()
		if n := c.DBSize(ctx).Val(); n != int64(len(kv)) {
			t.Errorf("db %d: %d keys, want %d: %v", db, n, len(kv), c.Keys(ctx, "*").Val())
		}
		for k, v := range kv {
			if got := c.Get(ctx, k).Val(); got != v {
				t.Errorf("db %d %s = %q, want %q", db, k, got, v)
			}
		}
	}
}

// TestAppliedWaitsForReplies holds the target's replies with CLIENT PAUSE
// and checks that Applied does not pass an unanswered command.
func TestAppliedWaitsForReplies(t *testing.T) {
	ctx := context.Background()
	dst := startRedis(t)
	f, _ := dialTest(t, dst, Config{})
	s := &stream{t: t, f: f, off: 0}
	first := s.send("SET", "x", "1")
	drain(t, f)
	if err := dst.rdb.Do(ctx, "CLIENT", "PAUSE", "400", "ALL").Err(); err != nil {
		t.Fatal(err)
	}
	s.send("SET", "y", "2")
	last := s.send("PING")
	if err := f.Flush(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(150 * time.Millisecond)
	if got := f.Applied(); got != first {
		t.Fatalf("Applied %d while the target is paused, want %d", got, first)
	}
	drain(t, f)
	if got := f.Applied(); got != last {
		t.Fatalf("Applied %d after Drain, want %d", got, last)
	}
}

// TestAppliedHoldsMulti checks that MULTI does not count before EXEC is
// answered: with writes paused, the target answers MULTI and holds the SET
// (a write is held even when queued) and the EXEC. TestFakeQueuedHeld covers
// the queued commands.
func TestAppliedHoldsMulti(t *testing.T) {
	ctx := context.Background()
	dst := startRedis(t)
	f, _ := dialTest(t, dst, Config{})
	s := &stream{t: t, f: f, off: 500}
	f.SetApplied(500)
	if err := dst.rdb.Do(ctx, "CLIENT", "PAUSE", "400", "WRITE").Err(); err != nil {
		t.Fatal(err)
	}
	s.send("MULTI")
	s.send("SET", "k", "v")
	exec := s.send("EXEC")
	if err := f.Flush(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return f.Stats().Pending == 2 }) // MULTI answered
	if got := f.Applied(); got != 500 {
		t.Fatalf("Applied %d before EXEC's reply, want 500", got)
	}
	drain(t, f)
	if got := f.Applied(); got != exec || dst.rdb.Get(ctx, "k").Val() != "v" {
		t.Fatalf("Applied %d, want %d", got, exec)
	}
}

func TestExecAbortAndFailedCommandInExec(t *testing.T) {
	ctx := context.Background()
	dst := startRedis(t)
	f, logs := dialTest(t, dst, Config{})
	s := &stream{t: t, f: f}
	s.send("SET", "str", "v")
	s.send("MULTI")
	s.send("SET", "k1", "v1")
	s.send("NOSUCHCOMMAND", "x") // refused when queued: EXEC aborts
	s.send("EXEC")
	s.send("MULTI")
	s.send("SET", "k2", "v2")
	s.send("LPUSH", "str", "x") // fails inside EXEC
	last := s.send("EXEC")
	drain(t, f)
	st := f.Stats()
	if st.CommandErrors != 3 || f.Applied() != last {
		t.Fatalf("stats %+v applied %d; logs:\n%s", st, f.Applied(), logs)
	}
	out := logs.String()
	for _, w := range []string{`"cmd":"NOSUCHCOMMAND"`, "EXECABORT", `"cmd":"LPUSH","key":"str","error":"WRONGTYPE`} {
		if !strings.Contains(out, w) {
			t.Errorf("log lacks %s:\n%s", w, out)
		}
	}
	if dst.rdb.Exists(ctx, "k1").Val() != 0 || dst.rdb.Get(ctx, "k2").Val() != "v2" {
		t.Fatal("wrong MULTI outcome")
	}
}

func TestRefusedSelectIsFatal(t *testing.T) {
	dst := startRedis(t, "--databases", "4")
	f, _ := dialTest(t, dst, Config{})
	if err := f.Restore(9, []byte("k"), 0, []byte("x")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := f.Drain(ctx)
	if err == nil || !strings.Contains(err.Error(), "refused SELECT \"9\"") {
		t.Fatalf("Drain: %v", err)
	}
	if f.Err() == nil || f.Command(cmd("SET", "a", "b"), 1) == nil {
		t.Fatal("the error is not sticky")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 5 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
