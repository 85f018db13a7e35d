package forwarder

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
)

const testReplID = "0123456789012345678901234567890123456789"

func dialTxnTest(t *testing.T, s *server) *Txn {
	t.Helper()
	tx, err := DialTxn(context.Background(), Config{Addr: s.addr, Logger: zerolog.Nop()}, "ckpt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Close() })
	return tx
}

func drainTxn(t *testing.T, tx *Txn) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return tx.Drain(ctx)
}

// TestTxnBatchesAndCheckpoint: a batch lands whole with its checkpoint,
// and a new connection reads the checkpoint back.
func TestTxnBatchesAndCheckpoint(t *testing.T) {
	s := startRedis(t)
	tx := dialTxnTest(t, s)
	if _, found, ok := tx.Checkpoint(); found || ok {
		t.Fatal("a checkpoint on an empty server")
	}
	tx.Begin(2)
	tx.Add(cmd("SET", "a", "1"), 10)
	tx.Add(cmd("INCR", "a"), 20)
	tx.Add(cmd("SELECT", "3"), 30)
	tx.Add(cmd("LPUSH", "a", "x"), 40) // a string in db 2, a new list in db 3
	tx.Add(cmd("LPUSH", "a", "y"), 50)
	if err := tx.Commit(Checkpoint{ReplID: testReplID, Offset: 50, DB: 3}, ""); err != nil {
		t.Fatal(err)
	}
	tx.Begin(3)
	tx.Add(cmd("INCR", "a"), 60) // WRONGTYPE at run time: counted, the rest applies
	if err := tx.Commit(Checkpoint{ReplID: testReplID, Offset: 60, DB: 3}, ""); err != nil {
		t.Fatal(err)
	}
	if err := drainTxn(t, tx); err != nil {
		t.Fatal(err)
	}
	if tx.Applied() != 60 {
		t.Fatalf("applied %d", tx.Applied())
	}
	if applied, refused := tx.Counts(); applied != 5 || refused != 1 {
		t.Fatalf("counts %d applied, %d refused", applied, refused)
	}
	c2 := redis.NewClient(&redis.Options{Addr: s.addr, DB: 2})
	defer c2.Close()
	c3 := redis.NewClient(&redis.Options{Addr: s.addr, DB: 3})
	defer c3.Close()
	if v, _ := c2.Get(context.Background(), "a").Result(); v != "2" {
		t.Fatalf("db 2 a = %q", v)
	}
	if n, _ := c3.LLen(context.Background(), "a").Result(); n != 2 {
		t.Fatalf("db 3 list length %d", n)
	}
	cp, found, ok := dialTxnTest(t, s).Checkpoint()
	if !found || !ok || cp != (Checkpoint{ReplID: testReplID, Offset: 60, DB: 3}) {
		t.Fatalf("checkpoint %+v found=%v ok=%v", cp, found, ok)
	}
}

// TestTxnAbortNamesRefusedCommands: a command the target refuses at queue
// time aborts the whole batch (nothing of it applied, no checkpoint), and
// the error names it by offset.
func TestTxnAbortNamesRefusedCommands(t *testing.T) {
	s := startRedis(t)
	tx := dialTxnTest(t, s)
	tx.table = nil // as for a target that refuses COMMAND
	tx.Begin(0)
	tx.Add(cmd("SET", "b", "1"), 10)
	tx.Add(cmd("NOSUCHCOMMAND", "b"), 20)
	if err := tx.Commit(Checkpoint{ReplID: testReplID, Offset: 20}, ""); err != nil {
		t.Fatal(err)
	}
	err := drainTxn(t, tx)
	var ae *AbortError
	if !errors.As(err, &ae) || ae.Transient || !strings.Contains(ae.Refused[20], "NOSUCHCOMMAND") || len(ae.Refused) != 1 {
		t.Fatalf("got %v", err)
	}
	c := redis.NewClient(&redis.Options{Addr: s.addr})
	defer c.Close()
	if n, _ := c.Exists(context.Background(), "b", "ckpt").Result(); n != 0 {
		t.Fatal("an aborted batch left keys behind")
	}
	if tx.Applied() != 0 {
		t.Fatalf("applied %d after an abort", tx.Applied())
	}
}

func TestParseCheckpoint(t *testing.T) {
	for in, ok := range map[string]bool{
		testReplID + " 12 0": true, testReplID + " 12": false, "snapshot-in-progress": false,
		testReplID + " -1 0": false, "short 1 0": false, testReplID + " 1 x": false,
	} {
		if _, got := ParseCheckpoint(in); got != ok {
			t.Errorf("%q: ok=%v", in, got)
		}
	}
}

// TestTxnFenceStopsBatchesAfterAbort: batches pipelined behind one the
// target aborts are discarded too, so the checkpoint stays at the last
// batch before the aborted one and nothing after it is applied.
func TestTxnFenceStopsBatchesAfterAbort(t *testing.T) {
	s := startRedis(t)
	tx := dialTxnTest(t, s)
	tx.table = nil // let the unknown command reach the target and abort its batch
	batches := []struct {
		args [][]byte
		off  int64
	}{
		{cmd("SET", "a", "1"), 10},
		{cmd("NOSUCHCOMMAND", "b"), 20},
		{cmd("SET", "c", "1"), 30},
		{cmd("SET", "d", "1"), 40},
	}
	for _, b := range batches {
		tx.Begin(0)
		tx.Add(b.args, b.off)
		if err := tx.Commit(Checkpoint{ReplID: testReplID, Offset: b.off}, ""); err != nil {
			break // the abort may already be known
		}
	}
	err := drainTxn(t, tx)
	var ae *AbortError
	if !errors.As(err, &ae) || ae.Transient || !strings.Contains(ae.Refused[20], "NOSUCHCOMMAND") {
		t.Fatalf("got %v", err)
	}
	tx.Close()
	if errors.Is(tx.Err(), ErrDiverged) {
		t.Fatalf("diverged: %v", tx.Err())
	}
	c := redis.NewClient(&redis.Options{Addr: s.addr})
	defer c.Close()
	if n, _ := c.Exists(context.Background(), "c", "d").Result(); n != 0 {
		t.Fatal("a batch after the aborted one was applied")
	}
	cp, _, ok := dialTxnTest(t, s).Checkpoint()
	if !ok || cp.Offset != 10 {
		t.Fatalf("checkpoint %+v ok=%v, want offset 10", cp, ok)
	}
}

// TestTxnFenceOnForeignWrite: a checkpoint key changed by someone else
// discards the next batch.
func TestTxnFenceOnForeignWrite(t *testing.T) {
	s := startRedis(t)
	tx := dialTxnTest(t, s)
	tx.Begin(0)
	tx.Add(cmd("SET", "a", "1"), 10)
	if err := tx.Commit(Checkpoint{ReplID: testReplID, Offset: 10}, ""); err != nil {
		t.Fatal(err)
	}
	if err := drainTxn(t, tx); err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(&redis.Options{Addr: s.addr})
	defer c.Close()
	if err := c.Set(context.Background(), "ckpt", "someone else", 0).Err(); err != nil {
		t.Fatal(err)
	}
	tx.Begin(0)
	tx.Add(cmd("SET", "b", "1"), 20)
	if err := tx.Commit(Checkpoint{ReplID: testReplID, Offset: 20}, ""); err != nil {
		t.Fatal(err)
	}
	var ae *AbortError
	if err := drainTxn(t, tx); !errors.As(err, &ae) || !ae.Fenced {
		t.Fatalf("got %v, want a fenced batch", err)
	}
	if n, _ := c.Exists(context.Background(), "b").Result(); n != 0 {
		t.Fatal("the fenced batch was applied")
	}
	if v, _ := c.Get(context.Background(), "ckpt").Result(); v != "someone else" {
		t.Fatalf("checkpoint %q", v)
	}
}

// TestTxnLeavesOutRefusedCommands: commands the target's COMMAND table
// says it refuses (unknown, wrong arity) are left out alone and counted;
// the rest of the batch lands with its checkpoint.
func TestTxnLeavesOutRefusedCommands(t *testing.T) {
	s := startRedis(t)
	tx := dialTxnTest(t, s)
	tx.Begin(0)
	tx.Add(cmd("SET", "a", "1"), 10)
	tx.Add(cmd("NOSUCHCOMMAND", "a"), 20)
	tx.Add(cmd("get", "a", "b"), 30)
	tx.Add(cmd("Incr", "a"), 40)
	if err := tx.Commit(Checkpoint{ReplID: testReplID, Offset: 40}, ""); err != nil {
		t.Fatal(err)
	}
	if err := drainTxn(t, tx); err != nil {
		t.Fatal(err)
	}
	if applied, refused := tx.Counts(); applied != 2 || refused != 2 {
		t.Fatalf("counts %d applied, %d refused", applied, refused)
	}
	c := redis.NewClient(&redis.Options{Addr: s.addr})
	defer c.Close()
	if v, _ := c.Get(context.Background(), "a").Result(); v != "2" {
		t.Fatalf("a = %q", v)
	}
	if tx.Applied() != 40 {
		t.Fatalf("applied %d", tx.Applied())
	}
}

// TestTxnOOMNamed: a target out of memory refuses a batch for now, and
// the error names the cause.
func TestTxnOOMNamed(t *testing.T) {
	s := startRedis(t, "--maxmemory", "2mb")
	c := redis.NewClient(&redis.Options{Addr: s.addr})
	defer c.Close()
	big := strings.Repeat("x", 1<<20)
	for i := 0; i < 3; i++ {
		c.Set(context.Background(), "fill"+string(rune('a'+i)), big, 0) // past maxmemory: refused then
	}
	tx := dialTxnTest(t, s)
	tx.Begin(0)
	tx.Add(cmd("SET", "a", "1"), 10)
	if err := tx.Commit(Checkpoint{ReplID: testReplID, Offset: 10}, ""); err != nil {
		t.Fatal(err)
	}
	var ae *AbortError
	if err := drainTxn(t, tx); !errors.As(err, &ae) || !ae.Transient || !strings.Contains(err.Error(), "OOM") {
		t.Fatalf("got %v, want a transient refusal naming OOM", err)
	}
}

// TestTxnWakesIdleReader: the reader of a Txn with nothing in flight
// waits on the connection (awaitReply). Close wakes it at once, batches
// committed after a wait are read, and a connection the target drops
// while idle fails the Txn without waiting for a write.
func TestTxnWakesIdleReader(t *testing.T) {
	s := startRedis(t)
	tx := dialTxnTest(t, s)
	for i := int64(1); i <= 3; i++ {
		time.Sleep(20 * time.Millisecond) // the reader is waiting on the connection
		tx.Begin(0)
		tx.Add(cmd("INCR", "n"), i*10)
		if err := tx.Commit(Checkpoint{ReplID: testReplID, Offset: i * 10}, ""); err != nil {
			t.Fatal(err)
		}
		if err := drainTxn(t, tx); err != nil || tx.Applied() != i*10 {
			t.Fatalf("batch %d: applied %d, %v", i, tx.Applied(), err)
		}
	}
	start := time.Now()
	tx.Close()
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Close of an idle Txn took %v", d)
	}

	dropped := dialTxnTest(t, s)
	time.Sleep(20 * time.Millisecond)
	ctx := context.Background()
	if err := s.rdb.ClientKillByFilter(ctx, "TYPE", "normal", "SKIPME", "yes").Err(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-dropped.Dead():
	case <-time.After(5 * time.Second):
		t.Fatal("a connection dropped while idle did not fail the Txn")
	}
	if err := dropped.Err(); err == nil || !strings.Contains(err.Error(), "connection lost") {
		t.Fatalf("error of a dropped connection: %v", err)
	}
}
