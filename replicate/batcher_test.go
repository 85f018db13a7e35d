package replicate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/replicant/replicant/forwarder"
	"github.com/replicant/replicant/resp"
	"github.com/replicant/replicant/spool"
)

// batchWriter is a forwarder.StreamWriter that records each batch: the db
// it begins in, its commands with their end offsets, and its checkpoint.
type batchWriter struct {
	forwarder.StreamWriter // unused methods panic: the applier must not call them

	mu        sync.Mutex
	begun     []int
	added     []string // "SET a 1@1031": the command and its end offset
	size      int
	commits   []forwarder.Checkpoint
	drains    int
	committed chan struct{} // gets a value at each commit
}

func newBatchWriter() *batchWriter { return &batchWriter{committed: make(chan struct{}, 100)} }

func (w *batchWriter) Begin(db int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.begun = append(w.begun, db)
}

func (w *batchWriter) Add(args [][]byte, end int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.added = append(w.added, fmt.Sprintf("%s@%d", strings.Join(strs(args), " "), end))
	w.size += len(args)
}

func (w *batchWriter) Size() int { return w.size }

func (w *batchWriter) Commit(cp forwarder.Checkpoint, _ string) error {
	w.mu.Lock()
	w.commits = append(w.commits, cp)
	w.mu.Unlock()
	w.committed <- struct{}{}
	return nil
}

func (w *batchWriter) Drain(context.Context) error { w.drains++; return nil }
func (w *batchWriter) Dead() <-chan struct{}       { return nil } // never fails
func (w *batchWriter) Err() error                  { return nil }
func (w *batchWriter) Applied() int64              { return 0 }

// spoolStream gives s a spool holding cmds from offset 1000 and returns
// the end offset of each command.
func spoolStream(t *testing.T, s *replica, cmds ...[]string) []int64 {
	t.Helper()
	sp := spoolAt(t, s, 1000, spool.Options{})
	var ends []int64
	for _, c := range cmds {
		if err := sp.Append(resp.AppendCommandString(nil, c...)); err != nil {
			t.Fatal(err)
		}
		ends = append(ends, sp.End())
	}
	return ends
}

// replay runs applyFrom from cp until it has committed commits batches (or
// has returned), then stops it; it returns applyFrom's error.
func replay(t *testing.T, s *replica, w *batchWriter, cp forwarder.Checkpoint, commits int) error {
	t.Helper()
	a := &applier{s: s, skip: map[int64]string{}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- a.applyFrom(ctx, w, cp) }()
	for range commits {
		select {
		case <-w.committed:
		case err := <-done:
			return err
		case <-time.After(5 * time.Second):
			t.Fatal("no commit within 5 s")
		}
	}
	cancel()
	select {
	case err := <-done:
		if errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("applyFrom did not return within 5 s of its context's end")
	}
	return nil
}

// TestReplayFromCheckpoint: after a reconnect the applier replays the
// spool from the target's checkpoint: what the target holds is not sent
// again, the first batch begins in the checkpoint's db, and the new
// checkpoint records the stream's offset and db.
func TestReplayFromCheckpoint(t *testing.T) {
	s := testReplica(t, Config{})
	ends := spoolStream(t, s, []string{"SELECT", "2"}, []string{"SET", "a", "1"}, []string{"SET", "b", "2"},
		[]string{"SELECT", "5"}, []string{"SET", "c", "3"})
	end := ends[4]
	cases := []struct {
		name  string
		cp    forwarder.Checkpoint
		begun []int
		added []string
	}{
		{"from the spool's start", forwarder.Checkpoint{ReplID: "id1", Offset: 1000}, []int{0},
			[]string{"SELECT 2@" + itoa(ends[0]), "SET a 1@" + itoa(ends[1]), "SET b 2@" + itoa(ends[2]), "SELECT 5@" + itoa(ends[3]), "SET c 3@" + itoa(end)}},
		{"the target holds SET a", forwarder.Checkpoint{ReplID: "id1", Offset: ends[1], DB: 2}, []int{2},
			[]string{"SET b 2@" + itoa(ends[2]), "SELECT 5@" + itoa(ends[3]), "SET c 3@" + itoa(end)}},
		{"the target holds all but SET c", forwarder.Checkpoint{ReplID: "id1", Offset: ends[3], DB: 5}, []int{5},
			[]string{"SET c 3@" + itoa(end)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newBatchWriter()
			if err := replay(t, s, w, c.cp, 1); err != nil {
				t.Fatal(err)
			}
			if strings.Join(w.added, ", ") != strings.Join(c.added, ", ") {
				t.Errorf("sent %q, want %q", w.added, c.added)
			}
			if fmt.Sprint(w.begun) != fmt.Sprint(c.begun) {
				t.Errorf("batches begun in dbs %v, want %v", w.begun, c.begun)
			}
			want := forwarder.Checkpoint{ReplID: "id1", Offset: end, DB: 5}
			if len(w.commits) != 1 || w.commits[0] != want {
				t.Errorf("commits %+v, want one at %+v", w.commits, want)
			}
		})
	}
}

// TestReplayAtSpoolEnd: a target whose checkpoint is at the spool's end
// is sent nothing.
func TestReplayAtSpoolEnd(t *testing.T) {
	s := testReplica(t, Config{})
	ends := spoolStream(t, s, []string{"SET", "a", "1"})
	w := newBatchWriter()
	a := &applier{s: s, skip: map[int64]string{}}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := a.applyFrom(ctx, w, forwarder.Checkpoint{ReplID: "id1", Offset: ends[0]}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("applyFrom: %v, want it to wait for more of the stream", err)
	}
	if len(w.added) != 0 || len(w.commits) != 0 {
		t.Errorf("sent %q, commits %+v; want nothing", w.added, w.commits)
	}
}

// TestBatcherFlushInBatch: with the whole source copied, FLUSHALL and
// FLUSHDB are commands like others: sent in order, inside the batch, no
// boundary around them.
func TestBatcherFlushInBatch(t *testing.T) {
	s := testReplica(t, Config{})
	ends := spoolStream(t, s, []string{"SET", "a", "1"}, []string{"FLUSHALL"}, []string{"SET", "b", "1"},
		[]string{"flushdb", "ASYNC"}, []string{"SET", "c", "1"})
	w := newBatchWriter()
	if err := replay(t, s, w, forwarder.Checkpoint{ReplID: "id1", Offset: 1000}, 1); err != nil {
		t.Fatal(err)
	}
	want := []string{"SET a 1@" + itoa(ends[0]), "FLUSHALL@" + itoa(ends[1]), "SET b 1@" + itoa(ends[2]),
		"flushdb ASYNC@" + itoa(ends[3]), "SET c 1@" + itoa(ends[4])}
	if strings.Join(w.added, ", ") != strings.Join(want, ", ") {
		t.Errorf("sent %q, want %q", w.added, want)
	}
	if len(w.begun) != 1 || len(w.commits) != 1 || w.commits[0].Offset != ends[4] || w.drains != 0 {
		t.Errorf("%d batches begun, commits %+v, %d drains; want one batch to %d", len(w.begun), w.commits, w.drains, ends[4])
	}
}

// TestBatcherFlushOfShard: for one shard of a cluster source, a FLUSHALL
// must remove only that shard's keys: what came before it is committed
// and drained first, the FLUSHALL itself is never sent, and when the
// sweep fails the checkpoint stays before the FLUSHALL, so that a replay
// sweeps again. (A twemproxy target cannot be scanned: its sweep fails at
// once, with no network, which is what this test needs.)
func TestBatcherFlushOfShard(t *testing.T) {
	for _, flush := range [][]string{{"FLUSHALL"}, {"FLUSHDB"}} {
		t.Run(flush[0], func(t *testing.T) {
			s := testReplica(t, Config{})
			s.shard = &shard{slots: make([]bool, forwarder.SlotCount)}
			s.target.kind = KindTwemproxy
			ends := spoolStream(t, s, []string{"SET", "a", "1"}, []string{"SET", "b", "1"}, flush, []string{"SET", "c", "1"})
			w := newBatchWriter()
			err := replay(t, s, w, forwarder.Checkpoint{ReplID: "id1", Offset: 1000}, 2)
			if err == nil || !strings.Contains(err.Error(), "cannot be scanned") {
				t.Fatalf("applyFrom: %v, want the sweep's error", err)
			}
			want := []string{"SET a 1@" + itoa(ends[0]), "SET b 1@" + itoa(ends[1])}
			if strings.Join(w.added, ", ") != strings.Join(want, ", ") {
				t.Errorf("sent %q, want %q", w.added, want)
			}
			if len(w.commits) != 1 || w.commits[0].Offset != ends[1] || w.drains != 1 {
				t.Errorf("commits %+v, %d drains; want one commit at %d (before the flush), drained", w.commits, w.drains, ends[1])
			}
		})
	}
}

// TestSkipRefused: commands the target refused for good are left out of
// replays by their end offset, each counted once; those at or before
// what the target confirmed are forgotten, so the map holds only what a
// replay may meet.
func TestSkipRefused(t *testing.T) {
	s := testReplica(t, Config{})
	a := &applier{s: s, skip: map[int64]string{50: "old", 150: "ERR a"}}
	a.applied.Store(100)
	a.skipRefused(map[int64]string{150: "ERR a", 200: "ERR b", 90: "ERR applied already"})
	if len(a.skip) != 2 || a.skip[150] != "ERR a" || a.skip[200] != "ERR b" {
		t.Errorf("skip %v, want 150 and 200", a.skip)
	}
	if n := a.refused.Load(); n != 1 {
		t.Errorf("%d refused counted, want 1 (200; 150 was counted before)", n)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestBatcherFlushInsideMultiOfShard: a FLUSHALL inside a transaction of a
// shard cannot be applied with it (the sweep is not a command of the
// batch): what came before it is committed, and the split is logged.
func TestBatcherFlushInsideMultiOfShard(t *testing.T) {
	s := testReplica(t, Config{})
	var logged bytes.Buffer
	s.log = zerolog.New(&logged)
	s.shard = &shard{slots: make([]bool, forwarder.SlotCount)}
	s.target.kind = KindTwemproxy
	ends := spoolStream(t, s, []string{"MULTI"}, []string{"SET", "a", "1"}, []string{"FLUSHALL"}, []string{"EXEC"})
	w := newBatchWriter()
	err := replay(t, s, w, forwarder.Checkpoint{ReplID: "id1", Offset: 1000}, 2)
	if err == nil || !strings.Contains(err.Error(), "cannot be scanned") {
		t.Fatalf("applyFrom: %v, want the sweep's error", err)
	}
	if len(w.commits) != 1 || w.commits[0].Offset != ends[1] {
		t.Errorf("commits %+v, want one at %d (before the flush)", w.commits, ends[1])
	}
	if !strings.Contains(logged.String(), "applied in two parts") {
		t.Errorf("the split of the transaction is not logged: %s", logged.String())
	}
}
