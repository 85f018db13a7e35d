package rdbstream

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"testing"
	"time"
)

// populateRDB builds an RDB like DEBUG POPULATE n: string keys "key:i"
// with values "value:i"; every ttlEvery-th key (if > 0) has a TTL.
func populateRDB(n, ttlEvery int) []byte {
	b := []byte{opAux}
	b = appendRDBString(b, "redis-ver")
	b = appendRDBString(b, "7.2.0")
	b = append(b, opSelectDB, 0)
	exp := time.Now().Add(time.Hour).UnixMilli()
	for i := 0; i < n; i++ {
		if ttlEvery > 0 && i%ttlEvery == 0 {
			b = append(append(b, opExpireTimeMs), le64(exp)...)
		}
		b = append(b, typeString)
		b = appendRDBString(b, "key:"+strconv.Itoa(i))
		b = appendRDBString(b, "value:"+strconv.Itoa(i))
	}
	return rdbFile("REDIS0011", b)
}

func benchDecode(b *testing.B, data []byte) {
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	keys := 0
	for b.Loop() {
		d := NewDecoder(bytes.NewReader(data), Options{})
		keys = 0
		for {
			_, err := d.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			keys++
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(max(keys, 1)), "ns/key")
}

// BenchmarkDecodeSynthetic decodes 1,000,000 small string keys, a tenth of
// them with a TTL.
func BenchmarkDecodeSynthetic(b *testing.B) {
	benchDecode(b, populateRDB(1_000_000, 10))
}

// BenchmarkDecodePopulate decodes an RDB saved by a real redis-server after
// DEBUG POPULATE 1000000.
func BenchmarkDecodePopulate(b *testing.B) {
	s := startRedis(b)
	c := s.client(0)
	defer c.Close()
	if err := c.Do(context.Background(), "DEBUG", "POPULATE", 1_000_000).Err(); err != nil {
		b.Fatal(err)
	}
	data := s.saveRDB(b)
	b.Logf("RDB of %d bytes", len(data))
	benchDecode(b, data)
}

// TestDecodeSpeed is a coarse guard: 1,000,000 small keys must decode in
// well under a second.
func TestDecodeSpeed(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("speed check skipped in -short mode and under the race detector")
	}
	data := populateRDB(1_000_000, 10)
	best := time.Duration(1 << 62)
	for try := 0; try < 3; try++ {
		start := time.Now()
		recs := 0
		d := NewDecoder(bytes.NewReader(data), Options{})
		for {
			_, err := d.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			recs++
		}
		best = min(best, time.Since(start))
		if recs != 1_000_000 {
			t.Fatalf("%d keys", recs)
		}
	}
	t.Logf("1M keys in %v (%s)", best, fmt.Sprintf("%.0f ns/key", float64(best.Nanoseconds())/1e6))
	if best > time.Second {
		t.Errorf("1M keys took %v", best)
	}
}
