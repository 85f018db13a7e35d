package forwarder

import (
	"context"
	"testing"
)

// TestTxnRepliesOfAnyShape: the replies inside EXEC are read for their
// outcome only, whatever their shape (arrays, bulk strings, nil), and a
// command failing inside EXEC is still counted as refused.
func TestTxnRepliesOfAnyShape(t *testing.T) {
	s := startRedis(t)
	tx := dialTxnTest(t, s)
	tx.Begin(0)
	tx.Add(cmd("RPUSH", "l", "a", "b", "c"), 10) // :3
	tx.Add(cmd("LPOP", "l", "2"), 20)            // *2 of bulk strings
	tx.Add(cmd("GETDEL", "nokey"), 30)           // $-1
	tx.Add(cmd("SET", "s", "v", "GET"), 40)      // $-1
	tx.Add(cmd("INCR", "l"), 50)                 // -WRONGTYPE inside EXEC
	tx.Add(cmd("LRANGE", "l", "0", "-1"), 60)    // *1
	if err := tx.Commit(Checkpoint{ReplID: testReplID, Offset: 60}, ""); err != nil {
		t.Fatal(err)
	}
	if err := drainTxn(t, tx); err != nil {
		t.Fatal(err)
	}
	if applied, refused := tx.Counts(); applied != 5 || refused != 1 || tx.Applied() != 60 {
		t.Fatalf("counts %d applied, %d refused; applied offset %d", applied, refused, tx.Applied())
	}
	if v := s.rdb.Get(context.Background(), "s").Val(); v != "v" {
		t.Fatalf("s = %q", v)
	}
}

// TestTxnReusesBatches: an answered batch's buffers go back to Begin, and
// Pending and Answered follow the batches in flight.
func TestTxnReusesBatches(t *testing.T) {
	s := startRedis(t)
	tx := dialTxnTest(t, s)
	made := map[*txnBatch]bool{} // a batch answered before the next Begin is reused
	for i := int64(1); i <= 3; i++ {
		tx.Begin(0)
		made[tx.cur] = true
		tx.Add(cmd("INCR", "n"), i)
		if err := tx.Commit(Checkpoint{ReplID: testReplID, Offset: i}, ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := drainTxn(t, tx); err != nil {
		t.Fatal(err)
	}
	if tx.Pending() != 0 || len(tx.free) != len(made) {
		t.Fatalf("pending %d, %d batches free of the %d made", tx.Pending(), len(tx.free), len(made))
	}
	select {
	case <-tx.Answered():
	default:
		t.Fatal("no token on Answered")
	}
	incr := cmd("INCR", "n")
	allocs := testing.AllocsPerRun(20, func() {
		tx.Begin(0)
		tx.Add(incr, 4)
		tx.recycle(tx.cur)
		tx.cur = nil
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per batch begun", allocs)
	}
	if n := s.rdb.Get(context.Background(), "n").Val(); n != "3" {
		t.Fatalf("n = %q", n)
	}
}

// TestCheckpointAppendTo: the checkpoint written with each batch is its
// String form.
func TestCheckpointAppendTo(t *testing.T) {
	cp := Checkpoint{ReplID: testReplID, Offset: 1234567, DB: 15}
	if got := string(cp.appendTo([]byte("x"))); got != "x"+cp.String() {
		t.Fatalf("%q, want %q", got, "x"+cp.String())
	}
}
