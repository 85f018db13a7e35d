package test

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/replicant/replicant/test/redistest"
)

// TestCutoverKeepsConfirmedWrites: a cutover under a steady INCR load from
// four clients, each INCR-ing its own counter and counting the INCRs the
// source acknowledged. After the cutover each counter on the target equals
// what its client saw acknowledged, and so does the source's: no INCR
// blocked by the pause ran there once the target had taken over, and the
// clients go on writing to the source for a second after the cutover, every
// write refused. The pause the clients saw (the longest an INCR waited) is
// what cutover reports as writes_paused_ms, within a margin; the target
// is stalled for 1.5 s as the cutover begins, so that pause is not a
// matter of a few milliseconds.
func TestCutoverKeepsConfirmedWrites(t *testing.T) {
	src := startServer(t, redistest.Options{})
	dst := startServer(t, redistest.Options{})
	ctx := context.Background()
	adminAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	r := startReplicant(t, "sync", "--source", url(src), "--target", url(dst), "--log-format", "json",
		"--admin", adminAddr, "--status-interval", "0")
	r.waitOutput(t, `"message":"streaming"`, 30*time.Second)

	const clients, timeout = 4, 10 * time.Second
	writers := make([]*incrWriter, clients)
	for i := range writers {
		writers[i] = startIncr(t, src, fmt.Sprintf("cutover:counter:%d", i))
	}
	waitUntil(t, 20*time.Second, func() bool {
		for _, w := range writers {
			if w.acked.Load() < 200 {
				return false
			}
		}
		return true
	})

	// The target answers nothing for 1.5 s: the clients' pause is that
	// long, long enough to compare with what cutover reports.
	const stall = 1500 * time.Millisecond
	must(t, dst.Client.Do(ctx, "CLIENT", "PAUSE", strconv.Itoa(int(stall.Milliseconds())), "ALL").Err())
	c := startReplicant(t, "cutover", "--admin", adminAddr, "--timeout", timeout.String())
	if code := c.wait(t, timeout+20*time.Second); code != 0 {
		t.Fatalf("cutover exit status %d:\n%s", code, c.out.String())
	}
	m := regexp.MustCompile(`writes_paused_ms:(\d+)`).FindStringSubmatch(c.out.String())
	if m == nil {
		t.Fatalf("cutover output has no writes_paused_ms:\n%s", c.out.String())
	}
	reportedMS, _ := strconv.Atoi(m[1])
	reported := time.Duration(reportedMS) * time.Millisecond
	if code := r.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("sync exit status %d after the cutover", code)
	}
	// Clients not yet moved to the target go on writing to the source.
	time.Sleep(time.Second)
	var longest time.Duration
	for _, w := range writers {
		w.stop()
	}
	for _, w := range writers {
		acked := w.acked.Load()
		onTarget, terr := dst.Client.Get(ctx, w.key).Int64()
		onSource, serr := src.Client.Get(ctx, w.key).Int64()
		t.Logf("%s: %d INCRs acknowledged, %d failed (first: %v); target %d, source %d; longest wait %v (sent at %s)",
			w.key, acked, w.failed, w.firstErr, onTarget, onSource, w.longest, w.longAt.Format("15:04:05.000"))
		if terr != nil || serr != nil || onTarget != acked || onSource != acked {
			t.Errorf("%s: %d INCRs acknowledged, but the target holds %d (%v) and the source %d (%v)",
				w.key, acked, onTarget, terr, onSource, serr)
		}
		if w.mismatch != "" {
			t.Errorf("%s: %s", w.key, w.mismatch)
		}
		if w.failed == 0 {
			t.Errorf("%s: no write to the source failed after the cutover", w.key)
		}
		longest = max(longest, w.longest)
	}
	t.Logf("the clients' longest wait for an INCR: %v; cutover reported writes_paused_ms:%d (timeout %v)",
		longest.Round(time.Millisecond), reportedMS, timeout)
	const margin = 300 * time.Millisecond // scheduling on a loaded machine, -race
	if longest < stall-margin || longest > reported+margin || longest < reported-margin {
		t.Errorf("the clients waited up to %v, cutover reported %v: more than %v apart", longest, reported, margin)
	}
	// A client connecting to the source afterwards cannot write either.
	late := redis.NewClient(&redis.Options{Addr: src.Addr, Protocol: 2, DisableIndentity: true, MaxRetries: -1,
		ReadTimeout: time.Minute})
	defer late.Close()
	start := time.Now()
	if err := late.Incr(ctx, "cutover:late").Err(); err == nil {
		t.Errorf("the source took a write %v after the cutover", time.Since(start))
	} else {
		t.Logf("a write to the source after the cutover: %v (after %v)", err, time.Since(start).Round(time.Millisecond))
	}
}

// incrWriter INCRs its own counter on the source in a loop, with one
// connection and no retries, counting the INCRs acknowledged.
type incrWriter struct {
	key      string
	acked    atomic.Int64
	halt     atomic.Bool
	wg       sync.WaitGroup
	longest  time.Duration // the longest an INCR waited for its reply
	longAt   time.Time     // when it was sent
	failed   int           // INCRs answered with an error
	firstErr error
	mismatch string // an INCR's reply that was not the count acknowledged
}

func startIncr(t *testing.T, s *redistest.Server, key string) *incrWriter {
	t.Helper()
	w := &incrWriter{key: key}
	c := redis.NewClient(&redis.Options{Addr: s.Addr, Protocol: 2, DisableIndentity: true, MaxRetries: -1,
		PoolSize: 1, ReadTimeout: time.Minute, WriteTimeout: time.Minute})
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		defer c.Close()
		for !w.halt.Load() {
			start := time.Now()
			n, err := c.Incr(context.Background(), key).Result()
			if d := time.Since(start); d > w.longest && w.acked.Load() > 0 { // the first INCR dials
				w.longest, w.longAt = d, start
			}
			if err != nil {
				if w.failed++; w.firstErr == nil {
					w.firstErr = err
				}
				time.Sleep(10 * time.Millisecond)
				continue
			}
			if acked := w.acked.Add(1); n != acked && w.mismatch == "" {
				w.mismatch = fmt.Sprintf("INCR answered %d, but %d were acknowledged", n, acked)
			}
		}
	}()
	t.Cleanup(w.stop)
	return w
}

// stop ends the loop and waits for the INCR in flight.
func (w *incrWriter) stop() {
	w.halt.Store(true)
	w.wg.Wait()
}

// TestCutoverRehearsal: "replicant cutover --keep-syncing" under the same
// load pauses the source, then unpauses it: no client is cut off, no write
// refused, the source's configuration is as before, and the sync goes on
// to equal counters.
func TestCutoverRehearsal(t *testing.T) {
	src := startServer(t, redistest.Options{})
	dst := startServer(t, redistest.Options{})
	ctx := context.Background()
	adminAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	r := startReplicant(t, "sync", "--source", url(src), "--target", url(dst), "--log-format", "json",
		"--admin", adminAddr, "--status-interval", "0")
	r.waitOutput(t, `"message":"streaming"`, 30*time.Second)
	writers := make([]*incrWriter, 2)
	for i := range writers {
		writers[i] = startIncr(t, src, fmt.Sprintf("rehearsal:counter:%d", i))
	}
	waitUntil(t, 20*time.Second, func() bool { return writers[0].acked.Load() > 100 && writers[1].acked.Load() > 100 })
	c := startReplicant(t, "cutover", "--admin", adminAddr, "--timeout", "10s", "--keep-syncing")
	if code := c.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("cutover --keep-syncing exit status %d:\n%s", code, c.out.String())
	}
	if out := c.out.String(); !strings.Contains(out, "unpaused, the sync goes on") || strings.Contains(out, "clients_killed") {
		t.Fatalf("cutover --keep-syncing output:\n%s", out)
	}
	before := writers[0].acked.Load()
	waitUntil(t, 10*time.Second, func() bool { return writers[0].acked.Load() > before+100 })
	for _, w := range writers {
		w.stop()
		if w.failed != 0 {
			t.Errorf("%s: %d INCRs failed in a rehearsal (first: %v)", w.key, w.failed, w.firstErr)
		}
	}
	if v, err := src.Client.ConfigGet(ctx, "min-replicas-to-write").Result(); err != nil || v["min-replicas-to-write"] != "0" {
		t.Fatalf("min-replicas-to-write after a rehearsal: %v %v", v, err)
	}
	if !r.running() {
		t.Fatal("the sync stopped after a rehearsal")
	}
	for _, w := range writers {
		waitUntil(t, 10*time.Second, func() bool {
			n, _ := dst.Client.Get(ctx, w.key).Int64()
			return n == w.acked.Load()
		})
	}
	if code := r.stop(t); code != 0 {
		t.Fatalf("exit status %d", code)
	}
}
