package verify_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/replicant/replicant/test/redistest"
	"github.com/replicant/replicant/twemproxy"
	"github.com/replicant/replicant/verify"
)

// TestPoolTarget compares a source with the three servers of a twemproxy
// pool (weights 1, 2, 3, two of them named) holding its keys where the
// pool's routing puts them, read directly: equal; then a key moved to a
// wrong server, a stray copy on a wrong server, a key only on a wrong
// server, an extra key on its own server and a changed value are each one
// difference.
func TestPoolTarget(t *testing.T) {
	ctx := testCtx(t, 60*time.Second)
	src := start(t, redistest.Options{})
	servers := []*redistest.Server{start(t, redistest.Options{}), start(t, redistest.Options{}), start(t, redistest.Options{})}
	pool, router := poolOf(t, "", servers, "a", "", "c")
	if _, err := redistest.Fill(ctx, src, redistest.FillOptions{Seed: 9, DBs: 1, KeysPerType: 10}); err != nil {
		t.Fatal(err)
	}
	n := copyRouted(t, ctx, src, servers, router)
	cfg := config(src, servers[0])
	cfg.Target = verify.Endpoint{Kind: verify.Pool, Pool: pool}
	res := run(t, cfg)
	mustEqual(t, res)
	if res.Keys != n {
		t.Errorf("compared %d keys, want %d", res.Keys, n)
	}
	if strings.Contains(strings.Join(res.Notes, "\n"), "functions not compared") {
		t.Errorf("functions not compared on a pool: %q", res.Notes)
	}

	keys, err := src.Client.Keys(ctx, "str:*").Result()
	if err != nil || len(keys) < 3 {
		t.Fatalf("keys %q, %v", keys, err)
	}
	moved, stray, changed := keys[0], keys[1], keys[2]
	move(t, ctx, servers, router, moved, true)
	move(t, ctx, servers, router, stray, false)
	do(t, servers[router.IndexString(changed)], 0, "SET", changed, "changed")
	do(t, servers[router.IndexString("p:extra")], 0, "SET", "p:extra", "1")
	do(t, servers[(router.IndexString("p:lost")+1)%3], 0, "SET", "p:lost", "1")
	do(t, src, 0, "SET", "p:lost:src", "1")
	do(t, servers[(router.IndexString("p:lost:src")+2)%3], 0, "SET", "p:lost:src", "1")

	cfg.Rounds, cfg.RoundDelay = 2, -1 // the recheck finds them again
	res = run(t, cfg)
	for key, want := range map[string]string{
		moved:        "misplaced: on " + label(pool, servers, moved, 1) + ", belongs on " + label(pool, servers, moved, 0) + ", where it is missing",
		stray:        "misplaced: on " + label(pool, servers, stray, 1) + ", belongs on " + label(pool, servers, stray, 0) + ", which holds it too (equal to the source's)",
		"p:lost":     "misplaced: on " + label(pool, servers, "p:lost", 1) + ", belongs on " + label(pool, servers, "p:lost", 0) + ", where it is missing; not on source",
		"p:lost:src": "misplaced: on " + label(pool, servers, "p:lost:src", 2) + ", belongs on " + label(pool, servers, "p:lost:src", 0) + ", where it is missing",
		"p:extra":    "extra: string on target",
		changed:      `value: `,
	} {
		if d := findDiff(t, res, 0, key); !strings.HasPrefix(fmt.Sprintf("%s: %s", d.Kind, d.Detail), want) {
			t.Errorf("%s\nwant %s", d, want)
		}
	}
	if res.Differing != 6 || res.ByKind[verify.Misplaced] != 4 || res.Rounds != 2 || res.Equal {
		t.Errorf("differing %d (%v) in %d rounds, want 6 (4 misplaced) in 2:\n%s", res.Differing, res.ByKind, res.Rounds, diffList(res))
	}

	// Sampling from each server finds no difference that is not there.
	do(t, servers[router.IndexString(changed)], 0, "DEL", changed)
	cfg.Mode, cfg.Sample, cfg.Rounds = verify.Sample, 10, 1
	if res = run(t, cfg); res.Keys == 0 {
		t.Errorf("sample compared nothing")
	}
	for _, d := range res.Diffs {
		if !strings.HasPrefix(d.Key, "p:") && d.Key != moved && d.Key != stray && d.Key != changed {
			t.Errorf("sample: %s", d)
		}
	}
}

// TestPoolTargetTags checks a pool with hash tag "{}" and a modula pool:
// keys that share a tag sit together, and the comparison is equal.
func TestPoolTargetTags(t *testing.T) {
	ctx := testCtx(t, 60*time.Second)
	src := start(t, redistest.Options{})
	servers := []*redistest.Server{start(t, redistest.Options{}), start(t, redistest.Options{}), start(t, redistest.Options{})}
	for i := range 300 {
		do(t, src, 0, "SET", fmt.Sprintf("{user%d}:name", i%40), i)
		do(t, src, 0, "RPUSH", fmt.Sprintf("list:%d", i), i)
	}
	for _, extra := range []string{"  hash_tag: \"{}\"\n", "  distribution: modula\n  hash: murmur\n"} {
		pool, router := poolOf(t, extra, servers, "", "", "")
		for _, s := range servers {
			do(t, s, 0, "FLUSHALL")
		}
		copyRouted(t, ctx, src, servers, router)
		cfg := config(src, servers[0])
		cfg.Target = verify.Endpoint{Kind: verify.Pool, Pool: pool}
		mustEqual(t, run(t, cfg))
	}
}

// poolOf makes a pool of servers with weights 1, 2, 3 and the names given
// ("" for none), with extra directives.
func poolOf(t *testing.T, extra string, servers []*redistest.Server, names ...string) (*twemproxy.Pool, *twemproxy.Router) {
	t.Helper()
	var b strings.Builder
	b.WriteString("p:\n  listen: 127.0.0.1:22121\n  redis: true\n" + extra + "  servers:\n")
	for i, s := range servers {
		fmt.Fprintf(&b, "   - %s:%d %s\n", s.Addr, i+1, names[i])
	}
	c, err := twemproxy.ParseConfig([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	r, err := twemproxy.NewRouter(c.Pools[0])
	if err != nil {
		t.Fatal(err)
	}
	return c.Pools[0], r
}

// copyRouted copies every key of src's db 0 to the server router names for
// it (DUMP, RESTORE with its TTL), and the function libraries to each
// server; it returns the number of keys and fails unless two servers at
// least got some (ketama spreads three servers unevenly).
func copyRouted(t *testing.T, ctx context.Context, src *redistest.Server, servers []*redistest.Server, router *twemproxy.Router) int64 {
	t.Helper()
	keys, err := src.Client.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	got := make([]int, len(servers))
	for _, k := range keys {
		i := router.IndexString(k)
		restore(t, ctx, src.Client, servers[i].Client, k)
		got[i]++
	}
	used := 0
	for _, n := range got {
		if n > 0 {
			used++
		}
	}
	if used < 2 {
		t.Fatalf("keys by server %v: the routing spread nothing", got)
	}
	if lib, err := src.Client.FunctionDump(ctx).Result(); err == nil {
		for _, s := range servers {
			if err := s.Client.FunctionRestore(ctx, lib).Err(); err != nil && !strings.Contains(err.Error(), "already exists") {
				t.Fatal(err)
			}
		}
	}
	return int64(len(keys))
}

func restore(t *testing.T, ctx context.Context, from, to *redis.Client, key string) {
	t.Helper()
	payload, err := from.Dump(ctx, key).Result()
	if err != nil {
		t.Fatalf("DUMP %s: %v", key, err)
	}
	ttl, err := from.PTTL(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	if ttl < 0 {
		ttl = 0
	}
	if err := to.RestoreReplace(ctx, key, ttl, payload).Err(); err != nil {
		t.Fatalf("RESTORE %s: %v", key, err)
	}
}

// move copies key from its own server to the next one, and deletes it
// from its own server if del.
func move(t *testing.T, ctx context.Context, servers []*redistest.Server, router *twemproxy.Router, key string, del bool) {
	t.Helper()
	own := router.IndexString(key)
	restore(t, ctx, servers[own].Client, servers[(own+1)%len(servers)].Client, key)
	if del {
		do(t, servers[own], 0, "DEL", key)
	}
}

// label names the server shift places after key's own, as reports do.
func label(pool *twemproxy.Pool, servers []*redistest.Server, key string, shift int) string {
	r, _ := twemproxy.NewRouter(pool)
	s := pool.Servers[(r.IndexString(key)+shift)%len(servers)]
	if s.Name == "" {
		return s.Addr
	}
	return s.Name + " (" + s.Addr + ")"
}
