package rewrite

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/replicant/replicant/test/redistest"
)

func startServer(t *testing.T) *redistest.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := redistest.Start(ctx, redistest.Options{})
	if err != nil {
		t.Fatalf("redis-server: %v (install it: the rewrite tests need a real server)", err)
	}
	t.Cleanup(func() { s.Stop() })
	return s
}

// TestRewriteEqualsRestore rebuilds every key of the integration dataset
// (every type and encoding, big values, streams with groups, consumers and
// pending entries, TTLs) from its DUMP payload with plain commands, in
// small chunks, and compares the copy with the original key by key.
func TestRewriteEqualsRestore(t *testing.T) {
	src, dst := startServer(t), startServer(t)
	ctx := context.Background()
	if _, err := redistest.Fill(ctx, src, redistest.FillOptions{DBs: 1, Seed: 3, BigValues: true}); err != nil {
		t.Fatal(err)
	}
	version, err := src.Version(ctx)
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Target: TargetOf(version), MaxArgs: 7, MaxBytes: 1000}
	keys, err := src.Client.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	commands := 0
	for _, k := range keys {
		dump, err := src.Client.Dump(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		at, err := src.Client.PExpireTime(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		exp := int64(0)
		if at > 0 {
			exp = at.Milliseconds()
		}
		err = Key([]byte(k), []byte(dump), exp, o, func(args [][]byte) error {
			commands++
			cmd := make([]any, len(args))
			for i, a := range args {
				cmd[i] = string(a)
			}
			if err := dst.Client.Do(ctx, cmd...).Err(); err != nil {
				return fmt.Errorf("%q: %w", cmd, err)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("key %q: %v", k, err)
		}
	}
	if commands <= len(keys)*2 {
		t.Fatalf("%d commands for %d keys: values were not chunked", commands, len(keys))
	}
	diffs, err := redistest.Compare(ctx, src, dst, redistest.CompareOptions{Digest: true, SkipFunctions: true})
	if err != nil || len(diffs) > 0 {
		t.Fatalf("rewritten copy differs (%v):\n%v", err, diffs)
	}
}

// TestRewriteRefuses: what the target cannot represent is an
// UnrepresentableError before any command; a corrupt payload is an error.
func TestRewriteRefuses(t *testing.T) {
	src := startServer(t)
	ctx := context.Background()
	if err := src.Client.XAdd(ctx, &redis.XAddArgs{Stream: "s", Values: []any{"f", "v"}}).Err(); err != nil {
		t.Fatal(err)
	}
	dump, err := src.Client.Dump(ctx, "s").Result()
	if err != nil {
		t.Fatal(err)
	}
	sent := 0
	err = Key([]byte("s"), []byte(dump), 0, Options{Target: TargetOf("4.0.14")}, func([][]byte) error { sent++; return nil })
	var ue *UnrepresentableError
	if !errors.As(err, &ue) || sent != 0 || !strings.Contains(ue.Reason, "5.0") {
		t.Fatalf("stream into 4.0: %v, %d commands sent", err, sent)
	}
	bad := []byte(dump)
	bad[3] ^= 0xff
	err = Key([]byte("s"), bad[:len(bad)/2], 0, Options{Target: TargetOf("7.0.0")}, func([][]byte) error { return nil })
	if !errors.Is(err, ErrPayload) {
		t.Fatalf("truncated payload: %v", err)
	}
}

func TestVersions(t *testing.T) {
	for v, want := range map[string]int{"7.4.1": 12, "8.0.2": 12, "7.2.4": 11, "7.0.15": 10, "6.2.14": 9, "5.0.0": 9, "4.0.14": 8, "3.2.12": 7, "2.8.24": 6} {
		if got := RDBVersion(v); got != want {
			t.Errorf("RDBVersion(%s) = %d, want %d", v, got, want)
		}
	}
	if tg := TargetOf("7.0.15"); !tg.Streams || !tg.Streams7 || !tg.Consumers || tg.FieldExpiry {
		t.Errorf("TargetOf(7.0.15) = %+v", tg)
	}
	if tg := TargetOf("4.0.14"); tg.Streams {
		t.Errorf("TargetOf(4.0.14) = %+v", tg)
	}
}
