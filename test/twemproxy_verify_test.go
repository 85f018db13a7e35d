package test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/replicant/replicant/test/redistest"
)

// TestTwemproxyVerify runs "replicant verify" against a twemproxy pool of
// three backends (weights 1, 2, 3, named) read straight from nutcracker's
// config, the proxy aside. Every key was written through a real nutcracker
// on that config, so each sits where nutcracker put it: verify says equal
// (and so it does through the proxy). A key moved to another backend is
// reported misplaced, a changed value as a value difference, a key only on
// a backend as extra.
func TestTwemproxyVerify(t *testing.T) {
	ctx := context.Background()
	src := startServer(t, redistest.Options{})
	backends := verifyBackends(t)
	names := []string{"alpha", "beta", "gamma"}
	proxy := startVerifyPool(t, backends, redistest.NutcrackerOptions{Servers: []string{
		backends[0].Addr + ":1 alpha", backends[1].Addr + ":2 beta", backends[2].Addr + ":3 gamma"}})
	fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := redistest.Fill(fctx, src, redistest.FillOptions{Seed: 21, DBs: 1, KeysPerType: 10}); err != nil {
		t.Fatal(err)
	}
	n := placeThroughProxy(t, src, proxy, backends)

	direct := []string{"verify", "--source", url(src), "--target-kind", "twemproxy",
		"--twemproxy-config", proxy.ConfigPath, "--round-delay", "10ms", "--log-format", "json"}
	out := runVerifyExit(t, 0, direct...)
	if last := lastLine(out); !regexp.MustCompile(fmt.Sprintf(`^equal: %d keys in 1 dbs `, n)).MatchString(last) {
		t.Fatalf("summary %q, want equal over %d keys", last, n)
	}
	through := []string{"verify", "--source", url(src), "--target", "redis://" + proxy.Addr, "--target-kind", "twemproxy",
		"--twemproxy-config", proxy.ConfigPath, "--round-delay", "10ms", "--log-format", "json"}
	runVerifyExit(t, 0, through...)

	// Move a key to a backend nutcracker does not send it to.
	moved := "str:raw:3"
	own := backendOf(t, backends, moved)
	wrong := (own + 1) % 3
	dumpRestore(t, backends[own].Client, backends[wrong].Client, moved)
	runOn(t, backends[own], "DEL", moved)
	want := fmt.Sprintf(`db 0 key %q: misplaced: on %s (%s), belongs on %s (%s), where it is missing`,
		moved, names[wrong], backends[wrong].Addr, names[own], backends[own].Addr)
	for _, args := range [][]string{direct, through} {
		out = runVerifyExit(t, 1, args...)
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
		if last := lastLine(out); !strings.HasPrefix(last, "DIFFERENT: 1 of ") || !strings.Contains(last, "(1 misplaced)") {
			t.Errorf("summary %q", last)
		}
	}
	dumpRestore(t, backends[wrong].Client, backends[own].Client, moved)
	runOn(t, backends[wrong], "DEL", moved)
	runVerifyExit(t, 0, direct...)

	// Change a value on its own backend; add a key on a backend only.
	changed := "hash:small:4"
	runOn(t, backends[backendOf(t, backends, changed)], "HSET", changed, "planted", "x")
	runOn(t, backends[1], "SET", "p:only-on-target", "1")
	out = runVerifyExit(t, 1, direct...)
	if !strings.Contains(out, fmt.Sprintf(`db 0 key %q: value: field "planted" extra on target`, changed)) {
		t.Errorf("the value difference is not reported")
	}
	if !strings.Contains(out, `db 0 key "p:only-on-target": `) {
		t.Errorf("the key only on a backend is not reported")
	}
	if last := lastLine(out); !strings.HasPrefix(last, "DIFFERENT: 2 of ") {
		t.Errorf("summary %q", last)
	}
}

// TestTwemproxyVerifyTagAndModula: pools with hash_tag "{}" and with
// distribution modula, written through nutcracker, verify equal.
func TestTwemproxyVerifyTagAndModula(t *testing.T) {
	src := startServer(t, redistest.Options{})
	backends := verifyBackends(t)
	for i := range 200 {
		runOn(t, src, "SET", fmt.Sprintf("{user%d}:name", i%30), i)
		runOn(t, src, "HSET", fmt.Sprintf("u:{%d}:h", i%50), fmt.Sprint(i), "v")
		runOn(t, src, "RPUSH", fmt.Sprintf("list:%d", i), i)
	}
	for _, o := range []redistest.NutcrackerOptions{
		{HashTag: "{}", Hash: "murmur"},
		{Distribution: "modula", Hash: "crc32a"},
	} {
		t.Run(o.HashTag+o.Distribution, func(t *testing.T) {
			for _, b := range backends {
				runOn(t, b, "FLUSHALL")
			}
			var servers []string
			for i, b := range backends {
				servers = append(servers, fmt.Sprintf("%s:%d s%d", b.Addr, i+1, i))
			}
			o.Servers = servers
			proxy := startVerifyPool(t, backends, o)
			n := placeThroughProxy(t, src, proxy, backends)
			out := runVerifyExit(t, 0, "verify", "--source", url(src), "--target-kind", "twemproxy",
				"--twemproxy-config", proxy.ConfigPath, "--twemproxy-pool", "replicant", "--log-format", "json")
			if last := lastLine(out); !strings.HasPrefix(last, fmt.Sprintf("equal: %d keys", n)) {
				t.Errorf("summary %q", last)
			}
		})
	}
}

// TestTwemproxyVerifyRefused: a pool verify cannot check is refused with one
// line, and the pool flags are in the help of verify and sync.
func TestTwemproxyVerifyRefused(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	random := write("random.yml", "p:\n  listen: 127.0.0.1:22121\n  redis: true\n  distribution: random\n  servers:\n   - 127.0.0.1:7001:1\n   - 127.0.0.1:7002:1\n")
	unix := write("unix.yml", "p:\n  listen: 127.0.0.1:22121\n  redis: true\n  servers:\n   - 127.0.0.1:7001:1\n   - /tmp/r.sock:1\n")
	two := write("two.yml", "a:\n  listen: 127.0.0.1:22121\n  servers:\n   - 127.0.0.1:7001:1\nb:\n  listen: 127.0.0.1:22122\n  servers:\n   - 127.0.0.1:7002:1\n")
	base := []string{"verify", "--source", "redis://127.0.0.1:1", "--target-kind", "twemproxy", "--twemproxy-config"}
	for _, c := range []struct {
		args []string
		want []string
	}{
		{append(base, random), []string{"distribution random"}},
		{append(base, unix), []string{"/tmp/r.sock is a Unix socket"}},
		{append(base, two), []string{"2 pools", "name one"}},
		{append(base, two, "--twemproxy-pool", "c"), []string{`no pool "c"`}},
		{[]string{"verify", "--source", "redis://127.0.0.1:1", "--twemproxy-config", two}, []string{"--target-kind twemproxy"}},
	} {
		code, out := runOnce(t, nil, c.args...)
		if code != 2 {
			t.Errorf("%q: exit status %d, want 2", c.args, code)
		}
		oneLine(t, strings.Join(c.args, " "), out, c.want...)
	}
	for _, cmd := range []string{"verify", "sync"} {
		_, out := runOnce(t, nil, cmd, "--help")
		for _, flag := range []string{"-twemproxy-config", "-twemproxy-pool"} {
			if !strings.Contains(out, flag) {
				t.Errorf("%s --help lacks %s", cmd, flag)
			}
		}
	}
}

func verifyBackends(t *testing.T) []*redistest.Server {
	return []*redistest.Server{startServer(t, redistest.Options{}), startServer(t, redistest.Options{}), startServer(t, redistest.Options{})}
}

func startVerifyPool(t *testing.T, backends []*redistest.Server, o redistest.NutcrackerOptions) *redistest.Nutcracker {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	proxy, err := redistest.StartNutcracker(ctx, backends, o)
	if err != nil {
		t.Fatalf("start nutcracker: %v", err)
	}
	t.Cleanup(func() { proxy.Stop() })
	return proxy
}

// placeThroughProxy copies every key of src (DUMP, RESTORE with its TTL)
// through the proxy, so that nutcracker places each, and the function
// libraries to every backend. It returns the number of keys and fails
// unless two backends at least got some.
func placeThroughProxy(t *testing.T, src *redistest.Server, proxy *redistest.Nutcracker, backends []*redistest.Server) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	keys, err := src.Client.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		dumpRestore(t, src.Client, proxy.Client, k)
	}
	used := 0
	for _, b := range backends {
		if n, _ := b.Client.DBSize(ctx).Result(); n > 0 {
			used++
		}
	}
	if used < 2 {
		t.Fatalf("nutcracker put every key on one backend")
	}
	if lib, err := src.Client.FunctionDump(ctx).Result(); err == nil {
		for _, b := range backends {
			if err := b.Client.FunctionRestore(ctx, lib).Err(); err != nil && !strings.Contains(err.Error(), "already exists") {
				t.Fatal(err)
			}
		}
	}
	return len(keys)
}

// dumpRestore copies key from one client to another with DUMP and RESTORE
// (exactly "key ttl payload", which nutcracker takes).
func dumpRestore(t *testing.T, from, to *redis.Client, key string) {
	t.Helper()
	ctx := context.Background()
	payload, err := from.Dump(ctx, key).Result()
	if err != nil {
		t.Fatalf("DUMP %q: %v", key, err)
	}
	ttl, err := from.PTTL(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	if ttl < 0 {
		ttl = 0
	}
	if err := to.Restore(ctx, key, ttl, payload).Err(); err != nil {
		t.Fatalf("RESTORE %q: %v", key, err)
	}
}

// backendOf is the backend that holds key: where nutcracker put it.
func backendOf(t *testing.T, backends []*redistest.Server, key string) int {
	t.Helper()
	for i, b := range backends {
		if n, _ := b.Client.Exists(context.Background(), key).Result(); n == 1 {
			return i
		}
	}
	t.Fatalf("no backend holds %q", key)
	return -1
}

func runOn(t *testing.T, s *redistest.Server, args ...any) {
	t.Helper()
	if err := s.Client.Do(context.Background(), args...).Err(); err != nil {
		t.Fatalf("%v: %v", args, err)
	}
}

// runVerifyExit runs replicant and fails the test unless it exits with code.
func runVerifyExit(t *testing.T, code int, args ...string) string {
	t.Helper()
	r := startReplicant(t, args...)
	if got := r.wait(t, 60*time.Second); got != code {
		t.Fatalf("replicant %s: exit status %d, want %d:\n%s", strings.Join(args, " "), got, code, tail(r.out.String(), 30))
	}
	return r.out.String()
}
