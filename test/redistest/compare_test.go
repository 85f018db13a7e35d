package redistest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// detectOpts leaves room for Fill's relative TTLs, set a moment apart on the
// two servers; planted TTLs differ by far more.
var detectOpts = CompareOptions{TTLTolerance: 10 * time.Second}

var detectFill = FillOptions{Seed: 7, DBs: 2, KeysPerType: 3}

// plant is one deliberate difference and the Diff Compare must report.
type plant struct {
	name string
	do   func(ctx context.Context, src, dst *Server) error
	db   int    // -1 for functions
	key  string // "" for functions
	what string // substring of Diff.What
}

var plants = []plant{
	{"changed value", func(ctx context.Context, _, dst *Server) error {
		return dst.ClientDB(1).Do(ctx, "SET", "str:embstr:0", "changed", "KEEPTTL").Err()
	}, 1, "str:embstr:0", `value differs: "`},
	{"missing key", func(ctx context.Context, _, dst *Server) error {
		return dst.ClientDB(1).Del(ctx, "list:small:1").Err()
	}, 1, "list:small:1", "missing on target"},
	{"extra key", func(ctx context.Context, _, dst *Server) error {
		return dst.ClientDB(0).Set(ctx, "extra:key", "v", 0).Err()
	}, 0, "extra:key", "extra on target"},
	{"extra key in an empty db", func(ctx context.Context, _, dst *Server) error {
		return dst.ClientDB(7).Set(ctx, "extra:db7", "v", 0).Err()
	}, 7, "extra:db7", "extra on target"},
	{"wrong ttl", plantTTL, 0, "hash:large", "ttl "},
	{"changed type", func(ctx context.Context, _, dst *Server) error {
		c := dst.ClientDB(0)
		return errOf(c.Del(ctx, "str:int:0"), c.RPush(ctx, "str:int:0", "x"))
	}, 0, "str:int:0", "type string vs list"},
	{"changed hash field", func(ctx context.Context, _, dst *Server) error {
		return dst.ClientDB(0).HSet(ctx, "hash:wide", "f0:extra", "v").Err()
	}, 0, "hash:wide", `field "f0:extra" extra on target`},
	{"inf score vs max float", func(ctx context.Context, _, dst *Server) error {
		return dst.ClientDB(0).Do(ctx, "ZADD", "zset:special", "1.7976931348623157e308", "m0").Err()
	}, 0, "zset:special", `member "m0": score +Inf vs score 1.7976931348623157e+308`},
	{"deleted stream entry", func(ctx context.Context, _, dst *Server) error {
		return dst.ClientDB(0).XDel(ctx, "x:full", "1007-1").Err()
	}, 0, "x:full", "entry 1007-1 missing on target"},
	{"stream group last-delivered-id", func(ctx context.Context, _, dst *Server) error {
		return dst.ClientDB(0).Do(ctx, "XGROUP", "SETID", "x:full", "g1", "1000-1").Err()
	}, 0, "x:full", `group "g1" last-delivered-id: 1021-2 vs 1000-1`},
	{"stream delivery count", func(ctx context.Context, _, dst *Server) error {
		return dst.ClientDB(1).Do(ctx, "XCLAIM", "x:full", "g1", "c2", 0, "1000-2").Err()
	}, 1, "x:full", `pending entry 1000-2: consumer "c2" deliveries 2 vs consumer "c2" deliveries 3`},
	{"changed function", func(ctx context.Context, _, dst *Server) error {
		return dst.Client.FunctionLoadReplace(ctx, strings.Replace(LibraryCode, "SET", "set", 1)).Err()
	}, -1, "", `functions differ: library "replicantlib" code differs`},
}

// plantTTL gives dst's hash:large a TTL ten minutes off src's.
func plantTTL(ctx context.Context, src, dst *Server) error {
	ms, err := src.ClientDB(0).PTTL(ctx, "hash:large").Result()
	if err != nil {
		return err
	}
	if ms < 0 {
		return dst.ClientDB(0).Expire(ctx, "hash:large", time.Hour).Err()
	}
	return dst.ClientDB(0).PExpire(ctx, "hash:large", ms+10*time.Minute).Err()
}

func errOf(cmds ...redis.Cmder) error {
	for _, c := range cmds {
		if c.Err() != nil {
			return c.Err()
		}
	}
	return nil
}

// refill makes dst a fresh copy of Fill's dataset.
func refill(t *testing.T, ctx context.Context, dst *Server) {
	t.Helper()
	if err := dst.Client.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := Fill(ctx, dst, detectFill); err != nil {
		t.Fatal(err)
	}
}

// Each planted difference is reported, alone, with its db and key.
func TestCompareDetects(t *testing.T) {
	ctx := testCtx(t, 20*time.Second)
	src, dst := start(t, Options{}), start(t, Options{})
	if _, err := Fill(ctx, src, detectFill); err != nil {
		t.Fatal(err)
	}
	refill(t, ctx, dst)
	diffs, err := Compare(ctx, src, dst, detectOpts)
	noDiffs(t, diffs, err) // Fill is deterministic
	for _, p := range plants {
		t.Run(p.name, func(t *testing.T) {
			refill(t, ctx, dst)
			if err := p.do(ctx, src, dst); err != nil {
				t.Fatalf("plant: %v", err)
			}
			diffs, err := Compare(ctx, src, dst, detectOpts)
			if err != nil {
				t.Fatal(err)
			}
			want := fmt.Sprintf("db %d key %q: …%s…", p.db, p.key, p.what)
			if len(diffs) != 1 || diffs[0].DB != p.db || diffs[0].Key != p.key || !strings.Contains(diffs[0].What, p.what) {
				t.Errorf("got %q, want one diff %s", diffs, want)
			}
		})
	}
}

func TestCompareOptions(t *testing.T) {
	ctx := testCtx(t, 20*time.Second)
	src, dst := start(t, Options{}), start(t, Options{})
	for i := range 5 {
		if err := dst.Client.Set(ctx, fmt.Sprintf("extra:%d", i), "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("MaxDiffs", func(t *testing.T) {
		diffs, err := Compare(ctx, src, dst, CompareOptions{MaxDiffs: 3})
		if err != nil || len(diffs) != 3 {
			t.Errorf("got %q, %v; want 3 diffs", diffs, err)
		}
	})
	t.Run("SkipKeys", func(t *testing.T) {
		skip := func(k string) bool { return strings.HasPrefix(k, "extra:") }
		diffs, err := Compare(ctx, src, dst, CompareOptions{SkipKeys: skip})
		noDiffs(t, diffs, err)
	})
	t.Run("DBs", func(t *testing.T) {
		diffs, err := Compare(ctx, src, dst, CompareOptions{DBs: []int{1}})
		noDiffs(t, diffs, err)
	})
	t.Run("key about to expire may be missing", func(t *testing.T) {
		if err := src.ClientDB(2).Set(ctx, "expiring", "v", time.Second).Err(); err != nil {
			t.Fatal(err)
		}
		diffs, err := Compare(ctx, src, dst, CompareOptions{DBs: []int{2}})
		noDiffs(t, diffs, err)
	})
}

// WaitEqual gives up when ctx ends and returns the last differences.
func TestWaitEqualTimesOut(t *testing.T) {
	src, dst := start(t, Options{}), start(t, Options{})
	if err := src.Client.Set(t.Context(), "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	diffs, err := WaitEqual(testCtx(t, 300*time.Millisecond), src, dst, CompareOptions{}, 50*time.Millisecond)
	if err == nil || len(diffs) != 1 || diffs[0].What != "missing on target" {
		t.Errorf("got %q, %v; want the missing key and an error", diffs, err)
	}
}

// TestCompareFieldTTLs: on Redis 8, a hash field that expires on one side
// only, or at another time, is a difference; equal expiries are not.
func TestCompareFieldTTLs(t *testing.T) {
	bin, err := Redis8Binary()
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t, 20*time.Second)
	src, dst := start(t, Options{Binary: bin}), start(t, Options{Binary: bin})
	at := time.Now().Add(time.Hour).UnixMilli()
	for _, s := range []*Server{src, dst} {
		if err := s.Client.Do(ctx, "HSET", "h", "a", "1", "b", "2").Err(); err != nil {
			t.Fatal(err)
		}
		if err := s.Client.Do(ctx, "HPEXPIREAT", "h", at, "FIELDS", 1, "a").Err(); err != nil {
			t.Fatal(err)
		}
	}
	diffs, err := Compare(ctx, src, dst, CompareOptions{})
	noDiffs(t, diffs, err)
	for _, c := range []struct {
		name string
		cmd  []any
	}{
		{"other expiry", []any{"HPEXPIREAT", "h", at + 5000, "FIELDS", 1, "a"}},
		{"expiry on one side", []any{"HPEXPIREAT", "h", at, "FIELDS", 1, "b"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := dst.Client.Do(ctx, c.cmd...).Err(); err != nil {
				t.Fatal(err)
			}
			diffs, err := Compare(ctx, src, dst, CompareOptions{})
			if err != nil || len(diffs) != 1 || !strings.Contains(diffs[0].What, "expires at") {
				t.Fatalf("got %v (%v), want one field expiry difference", diffs, err)
			}
			dst.Client.Do(ctx, "HPEXPIREAT", "h", at, "FIELDS", 1, "a")
			dst.Client.Do(ctx, "HPERSIST", "h", "FIELDS", 1, "b")
		})
	}
}
