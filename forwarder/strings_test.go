package forwarder

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// commandCalls returns how many times the server ran each command.
func commandCalls(t *testing.T, s *server) map[string]int {
	t.Helper()
	info, err := s.rdb.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]int{}
	for _, line := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":calls=")
		if !ok {
			continue
		}
		n, _ := strconv.Atoi(rest[:strings.IndexByte(rest, ',')])
		calls[strings.TrimPrefix(name, "cmdstat_")] = n
	}
	return calls
}

// setStrings calls SetString for keys prefix0..prefix(n-1), reusing and
// clobbering its buffers as a caller may.
func setStrings(t *testing.T, f *Standalone, db int, prefix string, n int, value func(int) string) {
	t.Helper()
	var k, v []byte
	for i := 0; i < n; i++ {
		k = fmt.Appendf(k[:0], "%s%d", prefix, i)
		v = append(v[:0], value(i)...)
		if err := f.SetString(db, k, v); err != nil {
			t.Fatalf("SetString: %v", err)
		}
		clear(k)
		clear(v)
	}
}

// checkStrings checks keys prefix0..prefix(n-1) in db.
func checkStrings(t *testing.T, s *server, db int, prefix string, n int, value func(int) string) {
	t.Helper()
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: s.addr, DB: db})
	defer c.Close()
	for i := 0; i < n; i++ {
		k := prefix + strconv.Itoa(i)
		got, err := c.Get(ctx, k).Result()
		if err != nil || got != value(i) {
			t.Fatalf("db %d GET %s = %.40q, %v; want %.40q", db, k, got, err, value(i))
		}
		if ttl := c.PTTL(ctx, k).Val(); ttl != -1 {
			t.Fatalf("db %d key %s: PTTL %v", db, k, ttl)
		}
	}
}

func small(i int) string { return "v" + strconv.Itoa(i) }

func TestSetStringKeyBound(t *testing.T) {
	dst := startRedis(t)
	f, _ := dialTest(t, dst, Config{StringBatch: 10})
	setStrings(t, f, 0, "k", 25, small)
	if n := f.Stats().Pending; n != 2 {
		t.Fatalf("before Drain: %d commands pending, want 2 full batches", n)
	}
	drain(t, f)
	if calls := commandCalls(t, dst); calls["mset"] != 3 || calls["set"] != 0 || calls["restore"] != 0 {
		t.Fatalf("after Drain: %v, want 3 MSETs", calls)
	}
	checkStrings(t, dst, 0, "k", 25, small)
	if st := f.Stats(); st.Restored != 25 || st.RestoreErrors != 0 || st.Pending != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestSetStringByteBound(t *testing.T) {
	dst := startRedis(t)
	f, _ := dialTest(t, dst, Config{StringBatchBytes: 1000})
	// Each key and value is 2 + 300 bytes: three fit in 1000 bytes.
	big := func(i int) string { return strings.Repeat(strconv.Itoa(i), 300) }
	setStrings(t, f, 0, "k", 10, big)
	drain(t, f)
	if calls := commandCalls(t, dst); calls["mset"] != 4 {
		t.Fatalf("%v, want 4 MSETs (3, 3, 3, 1 keys)", calls)
	}
	checkStrings(t, dst, 0, "k", 10, big)
}

func TestSetStringLargeGoesAlone(t *testing.T) {
	dst := startRedis(t)
	f, _ := dialTest(t, dst, Config{StringBatchBytes: 1000})
	huge := strings.Repeat("h", 200<<10) // larger than an encode buffer too
	value := func(i int) string {
		if i == 2 {
			return huge
		}
		return small(i)
	}
	setStrings(t, f, 0, "k", 5, value)
	drain(t, f)
	if calls := commandCalls(t, dst); calls["mset"] != 2 || calls["set"] != 1 {
		t.Fatalf("%v, want MSET k0 k1, SET k2, MSET k3 k4", calls)
	}
	checkStrings(t, dst, 0, "k", 5, value)
	if st := f.Stats(); st.Restored != 5 {
		t.Fatalf("stats %+v", st)
	}
}

func TestSetStringDBs(t *testing.T) {
	dst := startRedis(t)
	f, _ := dialTest(t, dst, Config{})
	setStrings(t, f, 0, "a", 3, small)
	setStrings(t, f, 1, "b", 3, small)
	setStrings(t, f, 0, "c", 3, small)
	setStrings(t, f, 3, "d", 3, small)
	drain(t, f)
	if calls := commandCalls(t, dst); calls["mset"] != 4 || calls["select"] != 3 {
		t.Fatalf("%v, want one MSET per run of a db, each after a SELECT but the first (db 0)", calls)
	}
	checkStrings(t, dst, 0, "a", 3, small)
	checkStrings(t, dst, 1, "b", 3, small)
	checkStrings(t, dst, 0, "c", 3, small)
	checkStrings(t, dst, 3, "d", 3, small)
	if n := dst.rdb.DBSize(context.Background()).Val(); n != 6 {
		t.Fatalf("db 0 holds %d keys, want 6", n)
	}
}

// TestSetStringOrder checks that a batch goes out before any later call,
// so the last write of a key wins as the calls say.
func TestSetStringOrder(t *testing.T) {
	ctx := context.Background()
	payloads := dumps(t) // "string" holds "hello"
	dst := startRedis(t)
	f, _ := dialTest(t, dst, Config{})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.SetString(0, []byte("restored-last"), []byte("mset")))
	must(f.Restore(0, []byte("restored-last"), 0, payloads["string"]))
	must(f.Restore(0, []byte("mset-last"), 0, payloads["string"]))
	must(f.SetString(0, []byte("mset-last"), []byte("mset")))
	must(f.SetString(0, []byte("live-last"), []byte("mset")))
	f.SetApplied(100)
	must(f.Command(cmd("SET", "live-last", "live"), 110))
	drain(t, f)
	for k, v := range map[string]string{"restored-last": "hello", "mset-last": "mset", "live-last": "live"} {
		if got := dst.rdb.Get(ctx, k).Val(); got != v {
			t.Errorf("GET %s = %q, want %q", k, got, v)
		}
	}
	if f.Applied() != 110 {
		t.Errorf("applied %d, want 110", f.Applied())
	}
}

func TestSetStringFlushSends(t *testing.T) {
	dst := startRedis(t)
	f, _ := dialTest(t, dst, Config{})
	if err := f.SetString(0, []byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := f.Flush(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for dst.rdb.Exists(context.Background(), "k").Val() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the batch was not sent on Flush")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSetStringRefusedBatch(t *testing.T) {
	dst := startRedis(t, "--maxmemory", "1", "--maxmemory-policy", "noeviction")
	f, logs := dialTest(t, dst, Config{StringBatch: 4})
	setStrings(t, f, 0, "first", 6, small)
	drain(t, f)
	if st := f.Stats(); st.RestoreErrors != 6 || st.Restored != 0 {
		t.Fatalf("stats %+v, want 6 keys refused", st)
	}
	out := logs.String()
	for _, s := range []string{`"cmd":"MSET","key":"first0","keys":4`, `"cmd":"MSET","key":"first4","keys":2`, "OOM"} {
		if !strings.Contains(out, s) {
			t.Errorf("log lacks %s:\n%s", s, out)
		}
	}
	if f.Err() != nil {
		t.Fatalf("a refused batch stopped the writer: %v", f.Err())
	}
}

// BenchmarkSetString is BenchmarkRestore with the same keys and value
// sent through SetString (MSET batches).
func BenchmarkSetString(b *testing.B) {
	ctx := context.Background()
	dst := startRedis(b)
	f, logs := dialTest(b, dst, Config{})
	key, val := make([]byte, 0, 32), []byte("value-0123456789")
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0, self0 := time.Now(), dst.cpuTime(), selfCPU()
	for i := 0; i < b.N; i++ {
		key = strconv.AppendInt(append(key[:0], "key:"...), int64(i), 10)
		if err := f.SetString(0, key, val); err != nil {
			b.Fatal(err)
		}
	}
	drain(b, f)
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "keys/s")
	b.ReportMetric(float64(selfCPU()-self0)/float64(b.N), "client-cpu-ns/key")
	if cpu0 >= 0 {
		b.ReportMetric(100*(dst.cpuTime()-cpu0).Seconds()/elapsed.Seconds(), "target-cpu-%")
	}
	if st := f.Stats(); st.Restored != int64(b.N) {
		b.Fatalf("stats %+v\n%s", st, logs)
	}
	if n := dst.rdb.DBSize(ctx).Val(); n != int64(b.N) {
		b.Fatalf("dbsize %d, want %d", n, b.N)
	}
}
