package test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/replicant/replicant/test/redistest"
)

// TestRedis8Source: Redis 8.0 as the source, into Redis 8.0 (restore) and
// into Redis 7.0 (RDB 12: every key rewritten). The full dataset, lists of
// elements over a node's 8 KB, a hash with field TTLs (HSETEX) and one
// whose TTLs were removed (HPERSIST), a vector set (a module type); then live writes of every kind (the
// field TTL commands of 7.4 and 8.0 among them, compared too) and
// 2,000 rounds of INCR and RPUSH with an HPEXPIRE every 7th round, which
// 7.0 does not know. Into 8.0 everything lands, field TTLs included; into
// 7.0 the hash with field TTLs is skipped with its live writes, the
// HPEXPIREs are left out and counted, and every INCR and RPUSH lands once.
// The target is compared with a native replica of the source: since 7.2 a
// consumer that XREADGROUP or XCLAIM creates without effect is not
// propagated, so a replica lacks it too.
func TestRedis8Source(t *testing.T) {
	redis8, err := redistest.Redis8Binary()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, target string
		older        bool
	}{
		{"redis8-to-redis8", redis8, false},
		{"redis8-to-redis7.0", "", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			src, ref, dst := pairWithReplica(t, redis8, c.target)
			for _, cmd := range [][]any{
				{"HSETEX", "hfe:ttl", "PX", 3600000, "FIELDS", 2, "a", "1", "b", "2"},
				{"HSET", "hfe:ttl", "c", "3"},
				{"HSETEX", "hfe:persisted", "PX", 3600000, "FIELDS", 1, "a", "1"},
				{"HPERSIST", "hfe:persisted", "FIELDS", 1, "a"},
				{"VADD", "vset:1", "VALUES", 3, "0.1", "0.2", "0.3", "e1"}, // a module type (vectorset)
				{"VADD", "vset:1", "VALUES", 3, "0.3", "0.1", "0.2", "e2"},
			} {
				if err := src.Client.Do(ctx, cmd...).Err(); err != nil {
					t.Fatalf("%v: %v", cmd, err)
				}
			}
			r := startReplicant(t, "sync", "--source", url(src), "--target", url(dst), "--log-format", "json",
				"--status-interval", "1s", "--expire-margin", faultMargin.String())
			r.waitOutput(t, `"message":"streaming"`, 30*time.Second)
			skip := isCheckpoint
			if c.older {
				// Hashes with field TTLs: skipped, or written live by
				// commands 7.0 does not know (HSETEX...) and left out.
				skip = func(k string) bool {
					return isCheckpoint(k) || k == "hfe:ttl" || k == "vset:1" || strings.HasPrefix(k, "live:hfe:")
				}
				if !strings.Contains(r.out.String(), `"unrepresentable_skipped":2,`) {
					t.Fatalf("the hash with field TTLs and the vector set are not the two keys skipped:\n%s", tail(r.out.String(), 20))
				}
			}
			compareWithReplica(t, src, ref, dst, skip, !c.older)
			liveWrites(t, src)
			hpexpires := 0
			for i := range 2000 {
				p := src.Client.Pipeline()
				p.Incr(ctx, "r8:counter")
				p.RPush(ctx, "r8:list", i)
				if i%7 == 0 {
					p.Do(ctx, "HPEXPIRE", "hfe:ttl", 7200000, "FIELDS", 1, "a")
					hpexpires++
				}
				if i%100 == 0 {
					p.Do(ctx, "VADD", "vset:1", "VALUES", 3, i%7, i%11, i%13, "v"+strconv.Itoa(i))
				}
				if _, err := p.Exec(ctx); err != nil {
					t.Fatal(err)
				}
			}
			compareWithReplica(t, src, ref, dst, skip, !c.older)
			if n, err := dst.Client.Get(ctx, "r8:counter").Int(); err != nil || n != 2000 {
				t.Fatalf("target counter %d (%v), want 2000", n, err)
			}
			if n, err := dst.Client.LLen(ctx, "r8:list").Result(); err != nil || n != 2000 {
				t.Fatalf("target list length %d (%v), want 2000", n, err)
			}
			if c.older {
				if n, _ := dst.Client.Exists(ctx, "hfe:ttl", "vset:1").Result(); n != 0 {
					t.Fatal("a skipped key was built on the target from live writes")
				}
				// Each HPEXPIRE (and the live field TTL commands) left out, counted.
				waitUntil(t, 10*time.Second, func() bool { return lastCount(r.out.String(), "command_errors") >= hpexpires })
			} else {
				sameFieldExpiry(t, src, dst, "hfe:ttl", "a", "b", "c")
			}
			if code := r.stop(t); code != 0 {
				t.Fatalf("exit status %d", code)
			}
		})
	}
}

// sameFieldExpiry checks that each field of key expires at the same time
// (HPEXPIRETIME) on both sides.
func sameFieldExpiry(t *testing.T, src, dst *redistest.Server, key string, fields ...string) {
	t.Helper()
	args := []any{"HPEXPIRETIME", key, "FIELDS", len(fields)}
	for _, f := range fields {
		args = append(args, f)
	}
	s, err1 := src.Client.Do(context.Background(), args...).Int64Slice()
	d, err2 := dst.Client.Do(context.Background(), args...).Int64Slice()
	if err1 != nil || err2 != nil || len(s) != len(d) {
		t.Fatalf("HPEXPIRETIME: %v %v (%v, %v)", s, d, err1, err2)
	}
	for i := range s {
		if s[i] != d[i] {
			t.Fatalf("%s field %s expires at %d on the source, %d on the target", key, fields[i], s[i], d[i])
		}
	}
}

// lastCount is the last value of a JSON log field holding a count, or -1.
func lastCount(out, field string) int {
	i := strings.LastIndex(out, `"`+field+`":`)
	if i < 0 {
		return -1
	}
	rest := out[i+len(field)+3:]
	end := strings.IndexAny(rest, ",}")
	if end < 0 {
		return -1
	}
	n, err := strconv.Atoi(rest[:end])
	if err != nil {
		return -1
	}
	return n
}

// TestVerifyFieldTTLs: replicant verify between two Redis 8 servers
// reports a hash whose field expires on the source and not on the target
// (the issue saw "99,996 ms on the source, none on the target" reported
// equal), and finds them equal once the expiry is the same.
func TestVerifyFieldTTLs(t *testing.T) {
	redis8, err := redistest.Redis8Binary()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	src := startServer(t, redistest.Options{Binary: redis8})
	dst := startServer(t, redistest.Options{Binary: redis8})
	at := time.Now().Add(time.Hour).UnixMilli()
	for _, s := range []*redistest.Server{src, dst} {
		if err := s.Client.HSet(ctx, "h", "a", "1", "b", "2").Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := src.Client.Do(ctx, "HPEXPIREAT", "h", at, "FIELDS", 1, "b").Err(); err != nil {
		t.Fatal(err)
	}
	verify := func() (int, string) {
		r := startReplicant(t, "verify", "--source", url(src), "--target", url(dst), "--rounds", "1", "--log-format", "json")
		code := r.wait(t, 30*time.Second)
		return code, r.out.String()
	}
	if code, out := verify(); code != 1 || !strings.Contains(out, `field "b": expires at`) {
		t.Fatalf("exit status %d, want 1 naming field b's expiry:\n%s", code, tail(out, 10))
	}
	if err := dst.Client.Do(ctx, "HPEXPIREAT", "h", at, "FIELDS", 1, "b").Err(); err != nil {
		t.Fatal(err)
	}
	if code, out := verify(); code != 0 {
		t.Fatalf("exit status %d with equal field expiries:\n%s", code, tail(out, 10))
	}
}
