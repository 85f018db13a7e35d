package test

import (
	"context"
	mrand "math/rand"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/replicant/replicant/test/redistest"
)

// TestRefusedCommandLosesNothing: a live stream mixed with a command the
// target does not know (here HINCRBY, renamed away on the target, as
// HPEXPIRE is unknown to a 7.0 target of a 7.4 source). Each refused
// command is left out alone, counted and logged with its key; every other
// command lands exactly once, in order, however many batches were in
// flight when the target refused one. A renamed command still shows under
// its own name in the target's COMMAND reply, so it reaches the target and
// aborts its batch: this tests the fence that discards the batches
// pipelined behind it (forwarder's unit tests cover the commands left out
// before they are sent, from the target's COMMAND table).
func TestRefusedCommandLosesNothing(t *testing.T) {
	src, dst, r := syncPair(t, nil, []string{"--rename-command", "HINCRBY", "hincrby-renamed-away"})
	ctx := context.Background()
	const workers, perWorker = 4, 1000
	const rounds = workers * perWorker
	var refusedSent atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- writeRounds(ctx, src, w, perWorker, &refusedSent)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	c := src.ClientDB(0)
	// A source transaction around a refused command: the rest of it lands.
	tx := c.TxPipeline()
	tx.Incr(ctx, "d2:txn")
	tx.HIncrBy(ctx, "d2:refused", "f", 1)
	tx.Incr(ctx, "d2:txn")
	if _, err := tx.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	refusedSent.Add(1)
	skip := func(key string) bool { return isCheckpoint(key) || key == "d2:refused" }
	waitEqual(t, src, dst, 30*time.Second, redistest.CompareOptions{Digest: true, SkipKeys: skip,
		TTLTolerance: faultMargin + 2*time.Second})
	d := dst.ClientDB(0)
	if n, err := d.Get(ctx, "d2:counter").Int(); err != nil || n != rounds {
		t.Fatalf("target counter %d (%v), want %d", n, err, rounds)
	}
	if n, err := d.LLen(ctx, "d2:list").Result(); err != nil || n != rounds {
		t.Fatalf("target list length %d (%v), want %d", n, err, rounds)
	}
	if n, err := d.Get(ctx, "d2:txn").Int(); err != nil || n != 2 {
		t.Fatalf("target d2:txn %d (%v), want 2", n, err)
	}
	if n, err := d.Exists(ctx, "d2:refused").Result(); err != nil || n != 0 {
		t.Fatalf("d2:refused exists on the target (%d, %v): the refused command ran", n, err)
	}
	// Every refused command is counted (status every second).
	r.waitOutput(t, `"command_errors":`+strconv.FormatInt(refusedSent.Load(), 10)+`,`, 10*time.Second)
	if code := r.stop(t); code != 0 {
		t.Fatalf("exit status %d", code)
	}
	if logged := strings.Count(r.out.String(), `HINCRBY \"d2:refused\"`); logged < int(refusedSent.Load()) {
		t.Fatalf("%d refused commands logged with their key, want %d:\n%s", logged, refusedSent.Load(), tail(r.out.String(), 20))
	}
}

// writeRounds writes n rounds of INCR d2:counter and RPUSH d2:list, with a
// HINCRBY on d2:refused every 7th round, each command on its own: the
// stream then comes in small pieces and the target gets many small batches
// in flight at once.
func writeRounds(ctx context.Context, src *redistest.Server, w, n int, refused *atomic.Int64) error {
	c := src.ClientDB(0)
	for i := range n {
		if err := c.Incr(ctx, "d2:counter").Err(); err != nil {
			return err
		}
		if err := c.RPush(ctx, "d2:list", w*n+i).Err(); err != nil {
			return err
		}
		if i%7 == 0 {
			if err := c.HIncrBy(ctx, "d2:refused", "f", 1).Err(); err != nil {
				return err
			}
			refused.Add(1)
		}
	}
	return nil
}

// TestBigElementListsRewritten: lists of every RDB encoding whose big
// elements (1 B to 1 MiB; in quicklist 2, plain nodes followed by more
// nodes, as Redis 7.2 and newer write them) are followed by others, in an
// RDB 11 file, which a 7.0 target cannot RESTORE: each is rewritten as
// RPUSH commands and lands element for element.
func TestBigElementListsRewritten(t *testing.T) {
	rng := mrand.New(mrand.NewSource(5))
	elem := func(n int) []byte { b := make([]byte, n); rng.Read(b); return b }
	nodes := [][][]byte{
		{elem(9000)}, {elem(1), elem(100), elem(5000)}, {elem(1 << 20)}, {elem(70000)}, {elem(3), elem(16384)},
	}
	types := []byte{redistest.RDBList, redistest.RDBListZiplist, redistest.RDBListQuicklist, redistest.RDBListQuicklist2}
	var keys []redistest.RDBKey
	for _, typ := range types {
		keys = append(keys, redistest.RDBKey{Key: "list:" + strconv.Itoa(int(typ)), Type: typ, Value: redistest.ListValue(typ, nodes)})
	}
	dst := startServer(t, redistest.Options{})
	out := syncFixture(t, redistest.RDBFile(11, keys...), false, dst)
	if !strings.Contains(out, `"rewritten":4`) {
		t.Fatalf("the lists were not rewritten:\n%s", tail(out, 20))
	}
	ctx := context.Background()
	for _, k := range keys {
		got, err := dst.Client.LRange(ctx, k.Key, 0, -1).Result()
		if err != nil {
			t.Fatal(err)
		}
		i := 0
		for _, nd := range nodes {
			for _, want := range nd {
				if i >= len(got) || got[i] != string(want) {
					t.Fatalf("%s: element %d differs (%d elements on the target)", k.Key, i, len(got))
				}
				i++
			}
		}
		if i != len(got) {
			t.Fatalf("%s: %d elements on the target, want %d", k.Key, len(got), i)
		}
	}
}

// TestFieldTTLHashesIntoOlderTarget: from an RDB 12 file into Redis 7.0, a
// hash whose field TTLs were all removed is copied; one with a TTL set is
// skipped, counted, and its live writes are held back until a DEL
// replaces it (never a partial hash on the target); with --drop-field-ttl
// it is copied without the TTL, counted.
func TestFieldTTLHashesIntoOlderTarget(t *testing.T) {
	rdb := redistest.RDBFile(12,
		redistest.RDBKey{Key: "h:ttl", Type: redistest.RDBHashFieldTTLs, Value: redistest.HashFieldTTLsValue(map[string]int64{"a": 0, "b": 4102444800000})},
		redistest.RDBKey{Key: "h:persisted", Type: redistest.RDBHashFieldTTLs, Value: redistest.HashFieldTTLsValue(map[string]int64{"a": 0, "b": 0})},
	)
	dst := startServer(t, redistest.Options{})
	ctx := context.Background()
	t.Run("skipped", func(t *testing.T) {
		m, r := syncFake(t, rdb, dst)
		if err := m.Send([]string{"SELECT", "0"}, []string{"HSET", "h:ttl", "c", "v"}, []string{"HSET", "h:persisted", "c", "v"},
			[]string{"DEL", "h:ttl"}, []string{"HSET", "h:ttl", "new", "v"}); err != nil {
			t.Fatal(err)
		}
		r.waitOutput(t, "live write to a key the snapshot skipped", 10*time.Second)
		waitUntil(t, 10*time.Second, func() bool { n, _ := dst.Client.HLen(ctx, "h:ttl").Result(); return n == 1 })
		if got, _ := dst.Client.HGetAll(ctx, "h:ttl").Result(); len(got) != 1 || got["new"] != "v" {
			t.Fatalf("h:ttl on the target: %v, want only the field written after the DEL", got)
		}
		if got, _ := dst.Client.HGetAll(ctx, "h:persisted").Result(); len(got) != 3 {
			t.Fatalf("h:persisted on the target: %v, want a, b and c", got)
		}
		if !strings.Contains(r.out.String(), `"unrepresentable_skipped":1`) {
			t.Fatalf("the skipped key is not counted:\n%s", tail(r.out.String(), 20))
		}
	})
	t.Run("drop-field-ttl", func(t *testing.T) {
		_, r := syncFake(t, rdb, dst, "--drop-field-ttl")
		if got, _ := dst.Client.HGetAll(ctx, "h:ttl").Result(); len(got) != 2 {
			t.Fatalf("h:ttl on the target: %v, want a and b", got)
		}
		if out := r.out.String(); !strings.Contains(out, `"field_ttls_dropped":1`) || !strings.Contains(out, `"unrepresentable_skipped":0`) {
			t.Fatalf("the dropped field TTL is not counted:\n%s", tail(out, 20))
		}
	})
}

// syncFake empties dst and runs replicant from a fake master serving rdb
// until it streams.
func syncFake(t *testing.T, rdb []byte, dst *redistest.Server, extra ...string) (*redistest.FakeMaster, *replicant) {
	t.Helper()
	if err := dst.Client.FlushAll(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	m, err := redistest.StartFakeMaster(rdb, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	r := startReplicant(t, append([]string{"sync", "--source", "redis://" + m.Addr, "--target", url(dst),
		"--heartbeat-key", "", "--log-format", "json"}, extra...)...)
	r.waitOutput(t, `"message":"streaming"`, 30*time.Second)
	return m, r
}

func waitUntil(t *testing.T, d time.Duration, ok func() bool) {
	t.Helper()
	for end := time.Now().Add(d); !ok(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("not so after %v", d)
		}
	}
}
