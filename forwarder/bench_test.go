package forwarder

import (
	"context"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkRestore pipelines b.N RESTOREs of a small string into a real
// redis-server and reports keys/s. Run it with -benchtime=1000000x for the
// 1M-key figure.
func BenchmarkRestore(b *testing.B) {
	ctx := context.Background()
	src := startRedis(b)
	src.rdb.Set(ctx, "k", "value-0123456789", 0)
	payload, err := src.rdb.Dump(ctx, "k").Bytes()
	if err != nil {
		b.Fatal(err)
	}
	dst := startRedis(b)
	f, logs := dialTest(b, dst, Config{})
	key := make([]byte, 0, 32)
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0, self0 := time.Now(), dst.cpuTime(), selfCPU()
	for i := 0; i < b.N; i++ {
		key = strconv.AppendInt(append(key[:0], "key:"...), int64(i), 10)
		if err := f.Restore(0, key, 0, payload); err != nil {
			b.Fatal(err)
		}
	}
	drain(b, f)
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "keys/s")
	b.ReportMetric(float64(selfCPU()-self0)/float64(b.N), "client-cpu-ns/key")
	if cpu0 >= 0 { // how busy the target was: near 100 means it is the bottleneck
		b.ReportMetric(100*(dst.cpuTime()-cpu0).Seconds()/elapsed.Seconds(), "target-cpu-%")
	}
	if st := f.Stats(); st.Restored != int64(b.N) {
		b.Fatalf("stats %+v\n%s", st, logs)
	}
	if n := dst.rdb.DBSize(ctx).Val(); n != int64(b.N) {
		b.Fatalf("dbsize %d, want %d", n, b.N)
	}
}

// cpuTime returns the server's user+system CPU time from /proc (Linux), or -1.
func (s *server) cpuTime() time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(s.cmd.Process.Pid) + "/stat")
	if err != nil {
		return -1
	}
	// Fields after the ")" that ends the command name: utime is the 12th, stime the 13th.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 13 {
		return -1
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ is 100 on Linux
}

// selfCPU returns this process's user+system CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkTxnBatches applies b.N INCRs to a real redis-server through Txn
// in checkpointed batches of 1 and of 100 commands, and reports the rate
// and the target's CPU per command: the cost of each batch's WATCH, fence
// script, MULTI and checkpoint write.
func BenchmarkTxnBatches(b *testing.B) {
	for _, size := range []int{1, 100} {
		b.Run("batch="+strconv.Itoa(size), func(b *testing.B) {
			dst := startRedis(b)
			tx, err := DialTxn(context.Background(), Config{Addr: dst.addr}, "ckpt")
			if err != nil {
				b.Fatal(err)
			}
			defer tx.Close()
			incr := [][]byte{[]byte("INCR"), []byte("n")}
			b.ReportAllocs()
			b.ResetTimer()
			start, cpu0, self0 := time.Now(), dst.cpuTime(), selfCPU()
			for i := 0; i < b.N; {
				tx.Begin(0)
				for end := min(i+size, b.N); i < end; i++ {
					tx.Add(incr, int64(i+1))
				}
				if err := tx.Commit(Checkpoint{ReplID: "0123456789012345678901234567890123456789", Offset: int64(i)}, ""); err != nil {
					b.Fatal(err)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := tx.Drain(ctx); err != nil {
				b.Fatal(err)
			}
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "cmds/s")
			b.ReportMetric(float64(selfCPU()-self0)/float64(b.N), "client-cpu-ns/cmd")
			if cpu0 >= 0 {
				b.ReportMetric(float64((dst.cpuTime()-cpu0).Microseconds())/float64(b.N), "target-cpu-us/cmd")
			}
			if n, _ := dst.rdb.Get(context.Background(), "n").Int(); n != b.N {
				b.Fatalf("n = %d, want %d", n, b.N)
			}
		})
	}
}
