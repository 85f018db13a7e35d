package verify_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/replicant/replicant/test/redistest"
	"github.com/replicant/replicant/verify"
)

// start starts a redis-server for the test and stops it at cleanup. A
// missing redis-server fails the test: it is never skipped.
func start(t testing.TB, opts redistest.Options) *redistest.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	s, err := redistest.Start(ctx, opts)
	if err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	t.Cleanup(func() { _ = s.Stop() })
	return s
}

func testCtx(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// fastSync starts a master that sends its snapshot to a new replica at once.
var fastSync = redistest.Options{Args: []string{"--repl-diskless-sync-delay", "0"}}

// replicated starts a source filled with every type on dbs 0-3 and a real
// replica of it, in sync. detach stops the replication, so that the test
// can change the target alone.
func replicated(t testing.TB, fill redistest.FillOptions, detach bool) (src, dst *redistest.Server) {
	t.Helper()
	ctx := testCtx(t, 20*time.Second)
	src, dst = start(t, fastSync), start(t, redistest.Options{})
	if _, err := redistest.Fill(ctx, src, fill); err != nil {
		t.Fatal(err)
	}
	syncReplica(t, ctx, src, dst)
	if detach {
		if err := dst.Client.Do(ctx, "REPLICAOF", "NO", "ONE").Err(); err != nil {
			t.Fatal(err)
		}
	}
	return src, dst
}

func syncReplica(t testing.TB, ctx context.Context, src, dst *redistest.Server) {
	t.Helper()
	if err := dst.ReplicaOf(ctx, src); err != nil {
		t.Fatal(err)
	}
	if err := redistest.WaitInSync(ctx, src, dst); err != nil {
		t.Fatal(err)
	}
}

// config compares src with dst: one round unless the test wants more.
func config(src, dst *redistest.Server) verify.Config {
	return verify.Config{
		Source: verify.Endpoint{Options: *src.ClientOptions(0)},
		Target: verify.Endpoint{Options: *dst.ClientOptions(0)},
		Rounds: 1,
	}
}

func run(t testing.TB, cfg verify.Config) *verify.Result {
	t.Helper()
	res, err := verify.Run(testCtx(t, 30*time.Second), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res
}

// mustEqual fails the test unless res says equal.
func mustEqual(t testing.TB, res *verify.Result) {
	t.Helper()
	for _, d := range res.Diffs {
		t.Errorf("diff: %s", d)
	}
	if !res.Equal || res.Differing != 0 {
		t.Fatalf("not equal: %+v", res)
	}
}

// do runs one command, failing the test on an error.
func do(t testing.TB, s *redistest.Server, db int, args ...any) {
	t.Helper()
	if err := s.ClientDB(db).Do(context.Background(), args...).Err(); err != nil {
		t.Fatalf("%v: %v", args, err)
	}
}

// findDiff returns the difference of key in db, failing the test if there
// is none.
func findDiff(t testing.TB, res *verify.Result, db int, key string) verify.Diff {
	t.Helper()
	for _, d := range res.Diffs {
		if d.DB == db && d.Key == key {
			return d
		}
	}
	t.Fatalf("no difference reported for db %d key %q; got:\n%s", db, key, diffList(res))
	return verify.Diff{}
}

func diffList(res *verify.Result) string {
	var b strings.Builder
	for _, d := range res.Diffs {
		b.WriteString("  " + d.String() + "\n")
	}
	return b.String()
}

func redisZ(score float64, member any) redis.Z { return redis.Z{Score: score, Member: member} }

// xadd adds entry i with an explicit id.
func xadd(key string, i int) *redis.XAddArgs {
	return &redis.XAddArgs{Stream: key, ID: fmt.Sprintf("%d-%d", 1000+i/2, i%2), Values: []any{"n", i, "s", "x"}}
}
