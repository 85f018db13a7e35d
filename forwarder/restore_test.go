package forwarder

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// fixture is one key of each type on a scratch server, with its DUMP.
type fixture struct {
	name  string
	setup func(ctx context.Context, c *redis.Client, key string) error
	check func(ctx context.Context, c *redis.Client, key string) error
}

var fixtures = []fixture{
	{"string", func(ctx context.Context, c *redis.Client, k string) error {
		return c.Set(ctx, k, "hello", 0).Err()
	}, func(ctx context.Context, c *redis.Client, k string) error {
		return want(c.Get(ctx, k).Val(), "hello")
	}},
	{"list", func(ctx context.Context, c *redis.Client, k string) error {
		return c.RPush(ctx, k, "a", "b", "c").Err()
	}, func(ctx context.Context, c *redis.Client, k string) error {
		return want(fmt.Sprint(c.LRange(ctx, k, 0, -1).Val()), "[a b c]")
	}},
	{"set", func(ctx context.Context, c *redis.Client, k string) error {
		return c.SAdd(ctx, k, "x", "y").Err()
	}, func(ctx context.Context, c *redis.Client, k string) error {
		m := c.SMembers(ctx, k).Val()
		slices.Sort(m)
		return want(fmt.Sprint(m), "[x y]")
	}},
	{"hash", func(ctx context.Context, c *redis.Client, k string) error {
		return c.HSet(ctx, k, "f1", "v1", "f2", "v2").Err()
	}, func(ctx context.Context, c *redis.Client, k string) error {
		return want(fmt.Sprint(c.HGetAll(ctx, k).Val()), "map[f1:v1 f2:v2]")
	}},
	{"zset", func(ctx context.Context, c *redis.Client, k string) error {
		return c.ZAdd(ctx, k, redis.Z{Score: 1.5, Member: "m1"}, redis.Z{Score: 2, Member: "m2"}).Err()
	}, func(ctx context.Context, c *redis.Client, k string) error {
		return want(fmt.Sprint(c.ZRangeWithScores(ctx, k, 0, -1).Val()), "[{1.5 m1} {2 m2}]")
	}},
	{"stream", func(ctx context.Context, c *redis.Client, k string) error {
		return c.XAdd(ctx, &redis.XAddArgs{Stream: k, ID: "1-1", Values: []string{"f", "v"}}).Err()
	}, func(ctx context.Context, c *redis.Client, k string) error {
		return want(fmt.Sprint(c.XRange(ctx, k, "-", "+").Val()), "[{1-1 map[f:v]}]")
	}},
}

func want(got, exp string) error {
	if got != exp {
		return fmt.Errorf("got %s, want %s", got, exp)
	}
	return nil
}

// dumps creates the fixtures on a scratch server and returns their payloads.
func dumps(t *testing.T) map[string][]byte {
	ctx := context.Background()
	src := startRedis(t)
	out := map[string][]byte{}
	for _, fx := range fixtures {
		if err := fx.setup(ctx, src.rdb, fx.name); err != nil {
			t.Fatalf("setup %s: %v", fx.name, err)
		}
		payload, err := src.rdb.Dump(ctx, fx.name).Result()
		if err != nil {
			t.Fatalf("DUMP %s: %v", fx.name, err)
		}
		out[fx.name] = []byte(payload)
	}
	return out
}

func TestRestoreTypesDBsAndExpiry(t *testing.T) {
	ctx := context.Background()
	payloads := dumps(t)
	dst := startRedis(t)
	f, logs := dialTest(t, dst, Config{})
	expireAt := time.Now().Add(time.Hour).UnixMilli()
	keyBuf, payBuf := make([]byte, 0, 64), make([]byte, 0, 1024)
	for db := 0; db < 3; db++ {
		for _, fx := range fixtures {
			for _, exp := range []int64{0, expireAt} {
				keyBuf = fmt.Appendf(keyBuf[:0], "%s:%d", fx.name, exp)
				payBuf = append(payBuf[:0], payloads[fx.name]...)
				if err := f.Restore(db, keyBuf, exp, payBuf); err != nil {
					t.Fatalf("Restore: %v", err)
				}
				clear(keyBuf) // the caller reuses its buffers
				clear(payBuf)
			}
		}
	}
	drain(t, f)
	if st := f.Stats(); st.Restored != int64(3*2*len(fixtures)) || st.RestoreErrors != 0 || st.Pending != 0 {
		t.Fatalf("stats %+v; logs:\n%s", st, logs)
	}
	for db := 0; db < 3; db++ {
		c := redis.NewClient(&redis.Options{Addr: dst.addr, DB: db})
		defer c.Close()
		checkDB(ctx, t, c, db, expireAt)
	}
}

func checkDB(ctx context.Context, t *testing.T, c *redis.Client, db int, expireAt int64) {
	t.Helper()
	if n := c.DBSize(ctx).Val(); n != int64(2*len(fixtures)) {
		t.Errorf("db %d: %d keys, want %d", db, n, 2*len(fixtures))
	}
	for _, fx := range fixtures {
		for _, exp := range []int64{0, expireAt} {
			key := fmt.Sprintf("%s:%d", fx.name, exp)
			if err := fx.check(ctx, c, key); err != nil {
				t.Errorf("db %d key %s: %v", db, key, err)
			}
			checkTTL(ctx, t, c, key, exp)
		}
	}
}

func checkTTL(ctx context.Context, t *testing.T, c *redis.Client, key string, expireAt int64) {
	t.Helper()
	pttl, err := c.Do(ctx, "PTTL", key).Int64()
	if err != nil {
		t.Fatalf("PTTL %s: %v", key, err)
	}
	if expireAt == 0 {
		if pttl != -1 {
			t.Errorf("key %s: PTTL %d, want -1", key, pttl)
		}
		return
	}
	left := expireAt - time.Now().UnixMilli()
	if pttl <= 0 || pttl > left+1000 || pttl < left-10000 {
		t.Errorf("key %s: PTTL %d, want about %d", key, pttl, left)
	}
}

func TestRestoreRefusedPayloadGoesOn(t *testing.T) {
	ctx := context.Background()
	payloads := dumps(t)
	dst := startRedis(t)
	f, logs := dialTest(t, dst, Config{})
	mustRestore(t, f, "before", payloads["string"])
	mustRestore(t, f, "bad-key", []byte("garbage bytes, not a dump"))
	for i := 0; i < 100; i++ {
		mustRestore(t, f, fmt.Sprintf("after:%d", i), payloads["hash"])
	}
	drain(t, f)
	st := f.Stats()
	if st.RestoreErrors != 1 || st.Restored != 101 {
		t.Fatalf("stats %+v", st)
	}
	if n := dst.rdb.DBSize(ctx).Val(); n != 101 {
		t.Fatalf("dbsize %d, want 101", n)
	}
	out := logs.String()
	if strings.Count(out, "target refused") != 1 || !strings.Contains(out, `"key":"bad-key"`) ||
		!strings.Contains(out, "DUMP payload version or checksum are wrong") {
		t.Fatalf("log does not name the key and error once:\n%s", out)
	}
}

func TestRestorePastExpiryCreatesNothing(t *testing.T) {
	payloads := dumps(t)
	dst := startRedis(t)
	f, _ := dialTest(t, dst, Config{})
	if err := f.Restore(0, []byte("gone"), time.Now().Add(-time.Hour).UnixMilli(), payloads["string"]); err != nil {
		t.Fatal(err)
	}
	drain(t, f)
	if n := dst.rdb.Exists(context.Background(), "gone").Val(); n != 0 || f.Stats().RestoreErrors != 0 {
		t.Fatalf("exists %d, stats %+v", n, f.Stats())
	}
}

func mustRestore(t *testing.T, f *Standalone, key string, payload []byte) {
	t.Helper()
	if err := f.Restore(0, []byte(key), 0, payload); err != nil {
		t.Fatalf("Restore %s: %v", key, err)
	}
}

func TestLoadFunction(t *testing.T) {
	ctx := context.Background()
	dst := startRedis(t)
	f, logs := dialTest(t, dst, Config{})
	code := "#!lua name=mylib\nredis.register_function('myfunc', function(keys, args) return 42 end)"
	for _, c := range []string{code, code, "#!lua name=broken\nthis is not lua"} {
		if err := f.LoadFunction([]byte(c)); err != nil {
			t.Fatal(err)
		}
	}
	drain(t, f)
	if st := f.Stats(); st.Functions != 2 || st.FunctionErrors != 1 {
		t.Fatalf("stats %+v, logs:\n%s", st, logs)
	}
	if v, err := dst.rdb.FCall(ctx, "myfunc", nil).Int(); err != nil || v != 42 {
		t.Fatalf("FCALL myfunc: %v %v", v, err)
	}
}
