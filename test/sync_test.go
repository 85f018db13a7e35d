package test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/replicant/replicant/test/redistest"
)

// TestSyncEveryType fills a source with every type and encoding on dbs 0-3,
// syncs it, compares, then runs live writes of every kind and compares
// again; once with a disk-based and once with a diskless source.
func TestSyncEveryType(t *testing.T) {
	for _, mode := range []struct{ name, diskless string }{{"disk", "no"}, {"diskless", "yes"}} {
		t.Run(mode.name, func(t *testing.T) {
			src := startServer(t, redistest.Options{Args: []string{
				"--repl-diskless-sync", mode.diskless, "--repl-diskless-sync-delay", "0"}})
			dst := startServer(t, redistest.Options{})
			ctx := context.Background()
			if _, err := redistest.Fill(ctx, src, redistest.FillOptions{Seed: 1, BigValues: true}); err != nil {
				t.Fatal(err)
			}
			r := startReplicant(t, "sync", "--source", url(src), "--target", url(dst), "--status-interval", "1s")
			assertEqual(t, src, dst, 60*time.Second)
			r.waitOutput(t, "streaming", 10*time.Second)

			liveCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			if _, err := redistest.LiveWrites(liveCtx, src, redistest.LiveOptions{Seed: 2, Ops: 20000}); err != nil {
				t.Fatal(err)
			}
			assertEqual(t, src, dst, 60*time.Second)
			if code := r.stop(t); code != 0 {
				t.Fatalf("exit status %d after SIGTERM, want 0", code)
			}
			assertEqualAfterStop(t, src, dst, 0)
			final := lastLine(r.out.String())
			if !strings.Contains(final, `"restore_errors":0`) || !strings.Contains(final, `"command_errors":0`) {
				t.Fatalf("the target refused some writes: %s", final)
			}
		})
	}
}

// TestSyncWithPassword syncs from a source with requirepass.
func TestSyncWithPassword(t *testing.T) {
	src := startServer(t, redistest.Options{Args: []string{"--requirepass", "s3cret"}, Password: "s3cret"})
	dst := startServer(t, redistest.Options{})
	ctx := context.Background()
	if _, err := redistest.Fill(ctx, src, redistest.FillOptions{Seed: 3, DBs: 2, KeysPerType: 5}); err != nil {
		t.Fatal(err)
	}
	r := startReplicant(t, "sync", "--source", "redis://:s3cret@"+src.Addr, "--target", url(dst))
	assertEqual(t, src, dst, 30*time.Second)
	if _, err := redistest.LiveWrites(ctx, src, redistest.LiveOptions{Seed: 4, Ops: 2000, DBs: 2}); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, src, dst, 30*time.Second)
	// replicant verify agrees, leaving out the checkpoint key by itself.
	v := startReplicant(t, "verify", "--source", "redis://:s3cret@"+src.Addr, "--target", url(dst))
	if code := v.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("replicant verify exit status %d:\n%s", code, v.out.String())
	}
	if code := r.stop(t); code != 0 {
		t.Fatalf("exit status %d", code)
	}
	assertEqualAfterStop(t, src, dst, 0)
}

// TestSyncWithReplicationOnlyACLUser syncs as a user that may only
// replicate.
func TestSyncWithReplicationOnlyACLUser(t *testing.T) {
	src := startServer(t, redistest.Options{})
	dst := startServer(t, redistest.Options{})
	ctx := context.Background()
	err := src.Client.Do(ctx, "ACL", "SETUSER", "repl", "on", ">replpw", "-@all", "+psync", "+replconf", "+ping").Err()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := redistest.Fill(ctx, src, redistest.FillOptions{Seed: 5, DBs: 2, KeysPerType: 5}); err != nil {
		t.Fatal(err)
	}
	r := startReplicant(t, "sync", "--source", "redis://repl:replpw@"+src.Addr, "--target", url(dst))
	assertEqual(t, src, dst, 30*time.Second)
	if _, err := redistest.LiveWrites(ctx, src, redistest.LiveOptions{Seed: 6, Ops: 2000, DBs: 2}); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, src, dst, 30*time.Second)
	if code := r.stop(t); code != 0 {
		t.Fatalf("exit status %d", code)
	}
	assertEqualAfterStop(t, src, dst, 0)
}
