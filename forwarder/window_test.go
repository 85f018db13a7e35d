package forwarder

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// watchApplied samples Applied from another goroutine until stop is closed
// and reports an offset that went backwards or passed the highest sent.
func watchApplied(t *testing.T, f *Standalone, sent func() int64) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		prev := f.Applied()
		for {
			select {
			case <-done:
				return
			default:
			}
			hi := sent()
			cur := f.Applied()
			if cur < prev || cur > hi {
				t.Errorf("Applied %d after %d, highest sent %d", cur, prev, hi)
				return
			}
			prev = cur
			time.Sleep(20 * time.Microsecond)
		}
	}()
	return func() { close(done); wg.Wait() }
}

func TestWindowCommands(t *testing.T) {
	dst := startRedis(t)
	f, _ := dialTest(t, dst, Config{Window: 4})
	var mu sync.Mutex
	var hi int64
	stop := watchApplied(t, f, func() int64 { mu.Lock(); defer mu.Unlock(); return hi })
	var maxPending int64
	for i := 1; i <= 5000; i++ {
		mu.Lock()
		hi = int64(i) // Applied may reach it as soon as Command has sent it
		mu.Unlock()
		if err := f.Command(cmd("INCR", "n"), int64(i)); err != nil {
			t.Fatal(err)
		}
		maxPending = max(maxPending, f.Stats().Pending)
	}
	drain(t, f)
	stop()
	st := f.Stats()
	if st.PeakPending != 4 || maxPending > 4 || f.Applied() != 5000 {
		t.Fatalf("peak %d, max sampled %d, applied %d", st.PeakPending, maxPending, f.Applied())
	}
	if v := dst.rdb.Get(context.Background(), "n").Val(); v != "5000" {
		t.Fatalf("n = %s", v)
	}
}

func TestWindowBytes(t *testing.T) {
	dst := startRedis(t)
	f, _ := dialTest(t, dst, Config{WindowBytes: 1000})
	value := strings.Repeat("v", 400) // about 430 bytes a command: two fit
	for i := 0; i < 500; i++ {
		if err := f.Command(cmd("SET", "k"+strconv.Itoa(i), value), int64(i+1)); err != nil {
			t.Fatal(err)
		}
	}
	big := strings.Repeat("b", 5000) // larger than the window: goes alone
	if err := f.Command(cmd("SET", "big", big), 501); err != nil {
		t.Fatal(err)
	}
	drain(t, f)
	if st := f.Stats(); st.PeakPending != 2 || st.Commands != 501 {
		t.Fatalf("stats %+v", st)
	}
	if n := dst.rdb.StrLen(context.Background(), "big").Val(); n != 5000 {
		t.Fatalf("big: %d bytes", n)
	}
}

// TestBigPayloads sends values larger than one encode buffer among small ones.
func TestBigPayloads(t *testing.T) {
	ctx := context.Background()
	dst := startRedis(t)
	f, _ := dialTest(t, dst, Config{})
	sizes := []int{10, chunkSize - 40, chunkSize, 3 * chunkSize, 5, 1 << 20, 7}
	for i, n := range sizes {
		if err := f.Command(cmd("SET", "k"+strconv.Itoa(i), strings.Repeat("x", n)), int64(i+1)); err != nil {
			t.Fatal(err)
		}
	}
	drain(t, f)
	for i, n := range sizes {
		if got := dst.rdb.StrLen(ctx, "k"+strconv.Itoa(i)).Val(); got != int64(n) {
			t.Errorf("k%d: %d bytes, want %d", i, got, n)
		}
	}
}

func TestDrainContext(t *testing.T) {
	ctx := context.Background()
	dst := startRedis(t)
	f, _ := dialTest(t, dst, Config{})
	if err := dst.rdb.Do(ctx, "CLIENT", "PAUSE", "500", "ALL").Err(); err != nil {
		t.Fatal(err)
	}
	if err := f.Command(cmd("SET", "a", "1"), 1); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := f.Drain(short); err == nil || !strings.Contains(err.Error(), "deadline exceeded") {
		t.Fatalf("Drain: %v", err)
	}
	if f.Err() != nil {
		t.Fatalf("a Drain timeout broke the connection: %v", f.Err())
	}
	drain(t, f)
	if f.Applied() != 1 {
		t.Fatalf("Applied %d", f.Applied())
	}
}
