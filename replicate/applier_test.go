package replicate

import (
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/replicant/replicant/forwarder"
)

// recorder is a forwarder.StreamWriter that records what it is given.
type recorder struct {
	forwarder.StreamWriter // unused methods panic: the batcher must not call them
	begun                  []int
	added                  []string
	size                   int
	commits                []forwarder.Checkpoint
}

func (r *recorder) Begin(db int) { r.begun = append(r.begun, db) }
func (r *recorder) Add(args [][]byte, _ int64) {
	r.added = append(r.added, string(args[0]))
	r.size += len(args)
}
func (r *recorder) Size() int { return r.size }
func (r *recorder) Commit(cp forwarder.Checkpoint, _ string) error {
	r.commits = append(r.commits, cp)
	return nil
}

// testReplica is a replica built from a Config with no I/O.
func testReplica(t *testing.T, cfg Config) *replica {
	t.Helper()
	cfg.Source = Endpoint{Addrs: []string{"127.0.0.1:1"}}
	cfg.Target = Endpoint{Addrs: []string{"127.0.0.1:2"}}
	s, err := newReplica(cfg.withDefaults(), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{"id1"}
	s.resume.replIDs.Store(&ids)
	return s
}

func cmd(args ...string) [][]byte {
	out := make([][]byte, len(args))
	for i, a := range args {
		out[i] = []byte(a)
	}
	return out
}

// TestBatcherHoldsMultiWhole: a batch never ends inside the source's
// MULTI ... EXEC, however idle the stream or full the batch.
func TestBatcherHoldsMultiWhole(t *testing.T) {
	s := testReplica(t, Config{})
	r := &recorder{}
	b := batcher{a: &applier{s: s}, t: r, trimmed: time.Now()} // no spool to trim
	if b.due(true) {
		t.Fatal("due with no batch begun")
	}
	b.add(cmd("MULTI"), 10)
	for i := 0; i < batchMaxCommands+1; i++ {
		b.add(cmd("SET", "k", "v"), 10)
	}
	if b.due(true) {
		t.Fatal("due inside MULTI")
	}
	b.add(cmd("EXEC"), 10)
	if !b.due(false) {
		t.Fatal("not due after EXEC of a batch over batchMaxCommands")
	}
	if err := b.commit(); err != nil {
		t.Fatal(err)
	}
	want := forwarder.Checkpoint{ReplID: "id1", Offset: int64(10 * (batchMaxCommands + 3))}
	if len(r.commits) != 1 || r.commits[0] != want {
		t.Fatalf("commits %+v, want one at %+v", r.commits, want)
	}
	if b.due(true) {
		t.Fatal("due right after a commit")
	}
}

// TestBatcherSelect: SELECT moves the stream's db, which the next batch
// begins in and the checkpoint records; PING moves only the offset.
func TestBatcherSelect(t *testing.T) {
	s := testReplica(t, Config{})
	r := &recorder{}
	b := batcher{a: &applier{s: s}, t: r, off: 100, trimmed: time.Now()}
	b.add(cmd("SELECT", "3"), 20)
	b.add(cmd("SET", "k", "v"), 30)
	b.add(cmd("PING"), 14)
	if err := b.commit(); err != nil {
		t.Fatal(err)
	}
	b.add(cmd("SET", "k2", "v"), 30)
	if err := b.commit(); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(r.added, " "); got != "SELECT SET SET" {
		t.Errorf("added %q, want SELECT SET SET (no PING)", got)
	}
	if len(r.begun) != 2 || r.begun[0] != 0 || r.begun[1] != 3 {
		t.Errorf("batches begun in dbs %v, want [0 3]", r.begun)
	}
	want := []forwarder.Checkpoint{{ReplID: "id1", Offset: 164, DB: 3}, {ReplID: "id1", Offset: 194, DB: 3}}
	if len(r.commits) != 2 || r.commits[0] != want[0] || r.commits[1] != want[1] {
		t.Errorf("commits %+v, want %+v", r.commits, want)
	}
}

// TestBatcherSkipsRefused: a command the target refused before (by its
// offset) is left out when the batch is replayed; the offset moves on.
func TestBatcherSkipsRefused(t *testing.T) {
	s := testReplica(t, Config{})
	r := &recorder{}
	b := batcher{a: &applier{s: s, skip: map[int64]string{20: "ERR refused"}}, t: r}
	b.add(cmd("SET", "a", "1"), 10)
	b.add(cmd("LPUSH", "a", "1"), 10)
	b.add(cmd("SET", "b", "1"), 10)
	if got := strings.Join(r.added, " "); got != "SET SET" {
		t.Errorf("added %q, want SET SET", got)
	}
	if b.off != 30 {
		t.Errorf("offset %d, want 30", b.off)
	}
}

// holding is a recorder that tells of batches in flight.
type holding struct {
	recorder
	pending int
}

func (h *holding) Pending() int              { return h.pending }
func (h *holding) Answered() <-chan struct{} { return nil }

// TestBatcherHoldsWhileInFlight: an idle batch waits while another is in
// flight, but not when none is, not at its size bounds, and never when the
// stream has more to read.
func TestBatcherHoldsWhileInFlight(t *testing.T) {
	s := testReplica(t, Config{})
	h := &holding{}
	b := batcher{a: &applier{s: s}, t: h, hold: h, trimmed: time.Now()}
	if b.holds(true) {
		t.Fatal("holds with no batch begun")
	}
	b.add(cmd("SET", "k", "v"), 10)
	h.pending = 1
	if !b.holds(true) || b.holds(false) {
		t.Fatalf("idle: holds %v; not idle: holds %v", b.holds(true), b.holds(false))
	}
	h.pending = 0
	if b.holds(true) || !b.due(true) {
		t.Fatal("held with nothing in flight")
	}
	h.pending = 1
	b.n = batchMaxCommands
	if b.holds(true) || !b.due(true) {
		t.Fatal("held at its size bound")
	}
	b.n = 1
	b.add(cmd("MULTI"), 20)
	if b.holds(true) || b.due(true) {
		t.Fatal("inside MULTI: neither held nor due, read on")
	}
}
