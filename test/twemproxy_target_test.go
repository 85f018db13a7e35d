package test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/replicant/replicant/test/redistest"
)

// TestSyncToTwemproxy syncs a source with keys of every type into two
// backends behind nutcracker (--target-kind twemproxy), then follows live
// writes, a RENAME between backends among them. The stream key, which the
// proxy cannot carry, is reported and left out; every other key of the
// source is found on one of the backends with its value and TTL.
func TestSyncToTwemproxy(t *testing.T) {
	ctx := context.Background()
	src := startServer(t, redistest.Options{})
	backends := []*redistest.Server{startServer(t, redistest.Options{}), startServer(t, redistest.Options{})}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	proxy, err := redistest.StartNutcracker(sctx, backends, redistest.NutcrackerOptions{})
	if err != nil {
		t.Fatalf("start nutcracker: %v", err)
	}
	t.Cleanup(func() { proxy.Stop() })
	fillTwemproxySource(t, src)

	r := startReplicant(t, "sync", "--source", url(src), "--target", "redis://"+proxy.Addr,
		"--target-kind", "twemproxy", "--twemproxy-config", proxy.ConfigPath, "--status-interval", "1s")
	assertEqualThroughProxy(t, src, backends, 60*time.Second)
	r.waitOutput(t, "streaming", 10*time.Second)

	proxyRun(t, src,
		"SET 1:str:new fresh", "INCR 2:counter", "INCR 2:counter", "LPUSH 3:list z",
		"HSET 4:hash g w", "DEL 5:str 6:str 7:str", "EXPIRE 8:str 300",
		"RENAME 9:str a:renamed", "XADD s:stream * f v2",
		// store commands whose keys the proxy hashes apart: emulated
		"SADD u:a 1 2", "SADD v:b 2 3", "SUNIONSTORE w:u u:a v:b", "SINTERSTORE 0:si u:a v:b",
		"SET x:b1 abc", "SET y:b2 xyz", "BITOP OR z:bo x:b1 y:b2 nope",
		"PFADD h:1 a b", "PFADD k:2 c", "PFMERGE m:3 h:1 k:2",
		"ZADD f:z 1 a", "ZUNIONSTORE n:zu 2 e:zset f:z WEIGHTS 2 3", "MSETNX p:1 1 q:2 2")
	assertEqualThroughProxy(t, src, backends, 30*time.Second)
	// and every key reads back through the proxy
	keys, err := src.Client.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k == "s:stream" || isCheckpoint(k) {
			continue
		}
		if typ, err := proxy.Client.Type(ctx, k).Result(); err != nil || typ == "none" {
			t.Errorf("key %q through the proxy: type %q, %v", k, typ, err)
		}
	}
	for _, b := range backends {
		if n, _ := b.Client.Exists(ctx, "s:stream").Result(); n != 0 {
			t.Errorf("backend %s holds the stream key", b.Addr)
		}
		if n, _ := b.Client.DBSize(ctx).Result(); n < 3 {
			t.Errorf("backend %s holds %d keys: the proxy spread nothing there", b.Addr, n)
		}
	}
	out := r.out.String()
	for _, want := range []string{"stream key", `"cmd":"XADD"`} {
		if !strings.Contains(out, want) {
			t.Errorf("the log does not report %q", want)
		}
	}
	if code := r.stop(t); code != 0 {
		t.Fatalf("exit status %d after SIGTERM, want 0", code)
	}
}

// fillTwemproxySource writes keys of every type into db 0 of src. Their
// names start with different characters so that the proxy's hash spreads
// them over both backends.
func fillTwemproxySource(t *testing.T, src *redistest.Server) {
	t.Helper()
	var cmds []string
	for i := 1; i <= 9; i++ {
		cmds = append(cmds, fmt.Sprintf("SET %d:str v%d", i, i))
	}
	cmds = append(cmds,
		"SET 2:counter 10", "SET b:ttl v PX 600000", "SET c:ttl2 v EX 3600",
		"HSET 4:hash f v e u", "RPUSH 3:list a b c", "SADD d:set x y z",
		"ZADD e:zset 1 one 2.5 two", "XADD s:stream * f v")
	proxyRun(t, src, cmds...)
}

// proxyRun runs commands (words split on spaces) on s.
func proxyRun(t *testing.T, s *redistest.Server, cmds ...string) {
	t.Helper()
	for _, c := range cmds {
		var args []any
		for _, w := range strings.Fields(c) {
			args = append(args, w)
		}
		if err := s.Client.Do(context.Background(), args...).Err(); err != nil {
			t.Fatalf("%s: %v", c, err)
		}
	}
}

// assertEqualThroughProxy waits until the union of the backends equals the
// source, the stream key, the checkpoint and the heartbeat aside: it copies
// every key of the backends into a server of its own (DUMP, PTTL, RESTORE)
// and compares that with the source, key by key.
func assertEqualThroughProxy(t *testing.T, src *redistest.Server, backends []*redistest.Server, within time.Duration) {
	t.Helper()
	merged := startServer(t, redistest.Options{})
	skip := func(key string) bool { return isCheckpoint(key) || key == "s:stream" }
	o := redistest.CompareOptions{Digest: true, SkipKeys: skip, TTLTolerance: 3 * time.Second}
	deadline := time.Now().Add(within)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := mergeBackends(ctx, merged, backends)
		var diffs []redistest.Diff
		if err == nil {
			diffs, err = redistest.Compare(ctx, src, merged, o)
		}
		cancel()
		if err == nil && len(diffs) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the backends differ from the source after %v: %v\n%s", within, err, joinDiffs(diffs))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// mergeBackends empties merged and copies every key of the backends into
// it, with its TTL.
func mergeBackends(ctx context.Context, merged *redistest.Server, backends []*redistest.Server) error {
	if err := merged.Client.FlushAll(ctx).Err(); err != nil {
		return err
	}
	for _, b := range backends {
		keys, err := b.Client.Keys(ctx, "*").Result()
		if err != nil {
			return err
		}
		for _, k := range keys {
			dump, err := b.Client.Dump(ctx, k).Result()
			if err != nil {
				continue // gone meanwhile
			}
			ttl, err := b.Client.PTTL(ctx, k).Result()
			if err != nil {
				return err
			}
			if ttl < 0 {
				ttl = 0
			}
			if err := merged.Client.RestoreReplace(ctx, k, ttl, dump).Err(); err != nil {
				return fmt.Errorf("merge %s from %s: %w", k, b.Addr, err)
			}
		}
	}
	return nil
}
