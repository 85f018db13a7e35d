package test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/replicant/replicant/test/redistest"
	"github.com/replicant/replicant/twemproxy"
)

// pool is a nutcracker pool over redis-server backends, with the router
// replicant places keys by, read from the proxy's own config file.
type pool struct {
	backends []*redistest.Server
	proxy    *redistest.Nutcracker
	router   *twemproxy.Router
}

// startPool starts backends that keep every write (AOF, fsync always, so a
// restart loses nothing confirmed) and nutcracker over them; servers(i)
// gives the "host:port:weight [name]" entry of backend i.
func startPool(t *testing.T, n int, o redistest.NutcrackerOptions, servers func(i int, addr string) string) *pool {
	t.Helper()
	p := &pool{}
	for i := range n {
		b := startServer(t, redistest.Options{Args: []string{"--appendonly", "yes", "--appendfsync", "always"}})
		p.backends = append(p.backends, b)
		if servers != nil {
			o.Servers = append(o.Servers, servers(i, b.Addr))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	proxy, err := redistest.StartNutcracker(ctx, p.backends, o)
	if err != nil {
		t.Fatalf("start nutcracker: %v", err)
	}
	t.Cleanup(func() { proxy.Stop() })
	p.proxy = proxy
	cfg, err := twemproxy.LoadConfig(proxy.ConfigPath)
	if err == nil {
		var pl *twemproxy.Pool
		if pl, err = cfg.Pool(""); err == nil {
			p.router, err = twemproxy.NewRouter(pl)
		}
	}
	if err != nil {
		t.Fatalf("the pool of %s: %v", proxy.ConfigPath, err)
	}
	return p
}

// syncArgs are the arguments of a sync into the pool, straight to its
// servers.
func (p *pool) syncArgs(src *redistest.Server, state string) []string {
	return []string{"sync", "--source", url(src), "--target-kind", "twemproxy", "--twemproxy-config", p.proxy.ConfigPath,
		"--log-format", "json", "--state-dir", state, "--status-interval", "0", "--expire-margin", "30s"}
}

// waitEqual waits until the backends together equal the source (every key,
// type, value, expiry and DEBUG DIGEST-VALUE, replicant's own keys aside),
// every key sits on the backend nutcracker picks for it, and every backend
// holds the source's function libraries.
func (p *pool) waitEqual(t *testing.T, src *redistest.Server, within time.Duration) {
	t.Helper()
	merged := startServer(t, redistest.Options{})
	o := redistest.CompareOptions{Digest: true, SkipKeys: isReplicantKey, TTLTolerance: 32 * time.Second, SkipFunctions: true}
	deadline := time.Now().Add(within)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err := p.misplaced(ctx)
		if err == nil {
			err = p.sameFunctions(ctx, src)
		}
		var diffs []redistest.Diff
		if err == nil {
			if err = mergeBackends(ctx, merged, p.backends); err == nil {
				diffs, err = redistest.Compare(ctx, src, merged, o)
			}
		}
		cancel()
		if err == nil && len(diffs) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the pool differs from the source after %v: %v\n%s", within, err, joinDiffs(diffs))
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// misplaced returns an error naming a key that sits on a backend the
// router does not pick for it.
func (p *pool) misplaced(ctx context.Context) error {
	for i, b := range p.backends {
		keys, err := b.Client.Keys(ctx, "*").Result()
		if err != nil {
			return err
		}
		for _, k := range keys {
			if want := p.router.IndexString(k); want != i {
				return fmt.Errorf("key %q is on backend %d (%s); nutcracker places it on backend %d", k, i, b.Addr, want)
			}
		}
	}
	return nil
}

// sameFunctions checks that every backend holds the source's libraries.
func (p *pool) sameFunctions(ctx context.Context, src *redistest.Server) error {
	want, err := libraryCodes(ctx, src.Client)
	if err != nil {
		return err
	}
	for _, b := range p.backends {
		got, err := libraryCodes(ctx, b.Client)
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("backend %s has the libraries %q, the source %q", b.Addr, got, want)
		}
	}
	return nil
}

func libraryCodes(ctx context.Context, c *redis.Client) (string, error) {
	libs, err := c.FunctionList(ctx, redis.FunctionListQuery{WithCode: true}).Result()
	if err != nil {
		return "", err
	}
	var out []string
	for _, l := range libs {
		out = append(out, l.Name+"="+l.Code)
	}
	return strings.Join(out, ";"), nil
}

// throughProxy checks that every key of the source reads back through the
// proxy with the source's type.
func (p *pool) throughProxy(t *testing.T, src *redistest.Server) {
	t.Helper()
	ctx := context.Background()
	keys, err := src.Client.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if isReplicantKey(k) {
			continue
		}
		want, err1 := src.Client.Type(ctx, k).Result()
		if err1 == nil && want == "none" {
			continue // expired on the source since KEYS; the target keeps it --expire-margin longer
		}
		got, err2 := p.proxy.Client.Type(ctx, k).Result()
		if err1 != nil || err2 != nil || got != want {
			t.Errorf("key %q through the proxy: type %q (%v), on the source %q (%v)", k, got, err2, want, err1)
		}
	}
}

// counters writes INCR and LPUSH on a few keys until stopped: a command
// applied twice or lost shows in their values.
type counters struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	n      int
	err    error
}

func startCounters(src *redistest.Server) *counters {
	ctx, cancel := context.WithCancel(context.Background())
	c := &counters{cancel: cancel}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		for ctx.Err() == nil {
			p := src.Client.Pipeline()
			p.Incr(ctx, "pc:"+strconv.Itoa(c.n%7))
			p.LPush(ctx, "pl:"+strconv.Itoa(c.n%5), c.n)
			if _, err := p.Exec(ctx); err != nil {
				if ctx.Err() == nil {
					c.err = err
				}
				return
			}
			c.n++
			time.Sleep(time.Millisecond)
		}
	}()
	return c
}

func (c *counters) stop(t *testing.T) {
	t.Helper()
	c.cancel()
	c.wg.Wait()
	if c.err != nil {
		t.Fatalf("counters: %v", c.err)
	}
	t.Logf("%d INCR and LPUSH rounds", c.n)
}

// checkCounts compares each counter and list length through the proxy
// with the source.
func (p *pool) checkCounts(t *testing.T, src *redistest.Server) {
	t.Helper()
	ctx := context.Background()
	for i := range 7 {
		k := "pc:" + strconv.Itoa(i)
		want, _ := src.Client.Get(ctx, k).Result()
		got, err := p.proxy.Client.Get(ctx, k).Result()
		if err != nil || got != want {
			t.Errorf("%s through the proxy: %q (%v), the source %q", k, got, err, want)
		}
	}
	for i := range 5 {
		k := "pl:" + strconv.Itoa(i)
		want, _ := src.Client.LLen(ctx, k).Result()
		got, err := p.proxy.Client.LLen(ctx, k).Result()
		if err != nil || got != want {
			t.Errorf("LLEN %s through the proxy: %d (%v), the source %d", k, got, err, want)
		}
	}
}

// endWrites stops the live writes and the counters, sends the cross-server
// writes, and checks the pool: equal to the source, every key read back
// through the proxy, counts exact.
func (p *pool) endWrites(t *testing.T, src *redistest.Server, live *liveLoad, count *counters, within time.Duration) {
	t.Helper()
	live.stop(t)
	count.stop(t)
	crossSlotWrites(t, src.Client)
	p.waitEqual(t, src, within)
	p.throughProxy(t, src)
	p.checkCounts(t, src)
}

// TestTwemproxyDirect syncs a source into a pool of three weighted, named
// backends written straight to the servers (--twemproxy-config, no
// --target): the full dataset of every type with a function library, then
// live writes of every kind with counters that would show a duplicate,
// replicant SIGKILLed and started again, a backend restarted mid-stream,
// and cross-server writes (RENAME, the *STORE family, a transaction).
// After each stage every key is on the backend nutcracker picks, the
// backends together equal the source, and every key reads back through
// the proxy. The source saw one full sync.
func TestTwemproxyDirect(t *testing.T) {
	// A backlog that holds the writes made while replicant is down, so
	// that the restart resumes rather than syncs again.
	src := startServer(t, redistest.Options{Args: []string{"--repl-backlog-size", "256mb"}})
	p := startPool(t, 3, redistest.NutcrackerOptions{}, func(i int, addr string) string {
		return fmt.Sprintf("%s:%d srv%c", addr, i+1, 'a'+i)
	})
	ctx := context.Background()
	if _, err := redistest.Fill(ctx, src, redistest.FillOptions{DBs: 1, Seed: 17}); err != nil {
		t.Fatal(err)
	}
	args := p.syncArgs(src, t.TempDir())
	r := startReplicant(t, args...)
	r.waitOutput(t, `"message":"streaming"`, 60*time.Second)
	p.waitEqual(t, src, 60*time.Second)
	p.throughProxy(t, src)

	live, count := startLive(t, src), startCounters(src)
	time.Sleep(time.Second)
	r.cmd.Process.Kill() // SIGKILL
	r.wait(t, 10*time.Second)
	time.Sleep(500 * time.Millisecond)
	r = startReplicant(t, args...)
	time.Sleep(time.Second)
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	if err := p.backends[1].Restart(rctx); err != nil {
		t.Fatalf("restart backend: %v", err)
	}
	cancel()
	time.Sleep(2 * time.Second)
	p.endWrites(t, src, live, count, 90*time.Second)

	info, err := src.Client.Info(ctx, "stats").Result()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(info, "sync_full:1\r") {
		t.Errorf("the source saw more than one full sync:\n%s", info)
	}
	// replicant verify agrees, reading each key from its server.
	v := startReplicant(t, "verify", "--source", url(src), "--target-kind", "twemproxy",
		"--twemproxy-config", p.proxy.ConfigPath, "--ttl-tolerance", "32s")
	if code := v.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("replicant verify exit status %d:\n%s", code, v.out.String())
	}
	if code := r.stop(t); code != 0 {
		t.Fatalf("exit status %d", code)
	}
}

// TestTwemproxyDirectPools syncs into a hash_tag pool and a modula pool,
// straight to the servers: a full sync, live writes, the whole dataset
// compared and every key on the backend nutcracker picks.
func TestTwemproxyDirectPools(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    redistest.NutcrackerOptions
	}{
		{"hash_tag", redistest.NutcrackerOptions{HashTag: "{}"}},
		{"modula", redistest.NutcrackerOptions{Distribution: "modula", Hash: "crc32a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := startServer(t, redistest.Options{})
			p := startPool(t, 3, tc.o, func(i int, addr string) string { return fmt.Sprintf("%s:%d", addr, 1+i%2) })
			ctx := context.Background()
			if _, err := redistest.Fill(ctx, src, redistest.FillOptions{DBs: 1, Seed: 23, KeysPerType: 10}); err != nil {
				t.Fatal(err)
			}
			r := startReplicant(t, p.syncArgs(src, t.TempDir())...)
			r.waitOutput(t, `"message":"streaming"`, 60*time.Second)
			live, count := startLive(t, src), startCounters(src)
			time.Sleep(2 * time.Second)
			p.endWrites(t, src, live, count, 60*time.Second)
			if code := r.stop(t); code != 0 {
				t.Fatalf("exit status %d", code)
			}
		})
	}
}
