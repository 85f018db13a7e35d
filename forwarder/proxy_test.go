package forwarder

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/replicant/replicant/test/redistest"
)

// proxyPool is nutcracker in front of two redis-server backends.
type proxyPool struct {
	backends []*redistest.Server
	proxy    *redistest.Nutcracker
}

// startProxyPool starts the pool and stops it when the test ends. A
// missing redis-server or nutcracker fails the test.
func startProxyPool(t *testing.T) *proxyPool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p := &proxyPool{}
	for range 2 {
		s, err := redistest.Start(ctx, redistest.Options{})
		if err != nil {
			t.Fatalf("start redis-server: %v", err)
		}
		t.Cleanup(func() { s.Stop() })
		p.backends = append(p.backends, s)
	}
	n, err := redistest.StartNutcracker(ctx, p.backends, redistest.NutcrackerOptions{})
	if err != nil {
		t.Fatalf("start nutcracker: %v", err)
	}
	t.Cleanup(func() { n.Stop() })
	p.proxy = n
	return p
}

// config is the ProxyConfig of the pool, logging into logs.
func (p *proxyPool) config(logs *logBuffer) ProxyConfig {
	return ProxyConfig{Config: Config{Addr: p.proxy.Addr, Logger: zerolog.New(logs)}}
}

// where returns the index of the backend holding key, -1 for none.
func (p *proxyPool) where(t *testing.T, key string) int {
	t.Helper()
	for i, b := range p.backends {
		n, err := b.Client.Exists(context.Background(), key).Result()
		if err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			return i
		}
	}
	return -1
}

// get reads key through the proxy ("" when absent).
func (p *proxyPool) get(t *testing.T, key string) string {
	t.Helper()
	v, _ := p.proxy.Client.Get(context.Background(), key).Result()
	return v
}

func TestProxySnapshot(t *testing.T) {
	p := startProxyPool(t)
	ctx := context.Background()
	logs := &logBuffer{}
	w, err := DialProxySnapshot(ctx, p.config(logs))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	rdb := p.backends[0].Client
	rdb.RPush(ctx, "src:list", "a", "b")
	rdb.XAdd(ctx, &redis.XAddArgs{Stream: "src:stream", Values: []string{"f", "v"}})
	list, _ := rdb.Dump(ctx, "src:list").Result()
	stream, _ := rdb.Dump(ctx, "src:stream").Result()
	exp := time.Now().Add(time.Hour).UnixMilli()
	long := strings.Repeat("k", (DefaultMbufSize-proxyMbufSlack)+1)
	steps := []error{
		w.Restore(0, []byte("a:list"), exp, []byte(list)),
		w.Restore(0, []byte("b:stream"), 0, []byte(stream)),
		w.Restore(0, []byte(long), 0, []byte(list)),
		w.SetString(0, []byte(long), []byte("v")),
		w.LoadFunction([]byte("#!lua name=lib\nredis.register_function('f', function() return 1 end)")),
	}
	for i := range 50 {
		steps = append(steps, w.SetString(0, fmt.Appendf(nil, "%d:str", i), []byte("v")))
	}
	for i, err := range steps {
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	if err := w.SetString(1, []byte("x"), []byte("v")); !errors.Is(err, ErrProxyDB) {
		t.Errorf("SetString in db 1: %v, want ErrProxyDB", err)
	}
	if err := w.Drain(ctx); err != nil {
		t.Fatalf("Drain: %v (the proxy closed the connection?)", err)
	}
	st := w.Stats()
	if st.Restored != 51 || st.RestoreErrors != 3 || st.FunctionErrors != 1 {
		t.Errorf("stats %+v: want 51 restored, 3 refused (stream, long key twice), 1 function", st)
	}
	if n, _ := p.proxy.Client.LLen(ctx, "a:list").Result(); n != 2 {
		t.Errorf("a:list has %d elements, want 2", n)
	}
	if ttl, _ := p.proxy.Client.PTTL(ctx, "a:list").Result(); ttl < 50*time.Minute {
		t.Errorf("a:list ttl %v, want about 1h", ttl)
	}
	if p.where(t, "b:stream") >= 0 {
		t.Error("the stream key was copied")
	}
	if got := p.get(t, "49:str"); got != "v" {
		t.Errorf("49:str = %q", got)
	}
	for _, want := range []string{"stream key", "longer than the proxy takes", "FUNCTION"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("no warning with %q in:\n%s", want, logs)
		}
	}
}

// proxyCmds adds every command of a batch.
func proxyCmds(w *ProxyStream, off *int64, lines ...string) {
	for _, l := range lines {
		*off += 10
		w.Add(cmd(strings.Fields(l)...), *off)
	}
}

func TestProxyStream(t *testing.T) {
	p := startProxyPool(t)
	ctx := context.Background()
	logs := &logBuffer{}
	w, err := DialProxyStream(ctx, p.config(logs), "cp")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, found, _ := w.Checkpoint(); found {
		t.Fatal("checkpoint found on an empty target")
	}
	var off int64
	w.Begin(0)
	proxyCmds(w, &off,
		"SELECT 0", "MULTI", "SET a:str 1", "INCR a:str", "EXEC", "PING",
		"LPUSH b:list x y z", "HSET c:hash f v", "MSET d:one 1 e:two 2 f:three 3",
		"SET g:del 1", "SET h:del 1", "DEL g:del h:del", "SADD i:set m n",
		"RENAME d:one j:renamed", "COPY e:two k:copy", "SMOVE i:set l:set m",
		"LMOVE b:list m:list LEFT RIGHT", "RPOPLPUSH b:list m:list",
		"RENAME no:such n:new", // the source key is gone: left as it is
		"XADD s:stream * f v", "SUNIONSTORE n:dst i:set l:set", "EXPIRE a:str 10 NX",
		"FLUSHALL", "PUBLISH ch msg", "SELECT 1", "SET o:db1 1", "SELECT 0", "SET p:after 1")
	cp := Checkpoint{ReplID: strings.Repeat("a", 40), Offset: off}
	if err := w.Commit(cp, ""); err != nil {
		t.Fatal(err)
	}
	if err := w.Drain(ctx); err != nil {
		t.Fatalf("Drain: %v", err)
	}
	if got := w.Applied(); got != off {
		t.Errorf("Applied %d, want %d", got, off)
	}
	if _, refused := w.Counts(); refused != 6 {
		t.Errorf("refused %d, want 6 (XADD, SUNIONSTORE, EXPIRE NX, FLUSHALL, PUBLISH, SET in db 1)\n%s", refused, logs)
	}
	c := p.proxy.Client
	for key, want := range map[string]string{"a:str": "2", "j:renamed": "1", "e:two": "2", "k:copy": "2", "f:three": "3", "p:after": "1"} {
		if got := p.get(t, key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	for _, key := range []string{"d:one", "g:del", "h:del", "s:stream", "n:dst", "o:db1", "n:new"} {
		if p.where(t, key) >= 0 {
			t.Errorf("%s exists", key)
		}
	}
	if m, _ := c.LRange(ctx, "m:list", 0, -1).Result(); fmt.Sprint(m) != "[x z]" {
		t.Errorf("m:list = %v, want [x z]", m)
	}
	if m, _ := c.LRange(ctx, "b:list", 0, -1).Result(); fmt.Sprint(m) != "[y]" {
		t.Errorf("b:list = %v, want [y]", m)
	}
	if m, _ := c.SMembers(ctx, "l:set").Result(); fmt.Sprint(m) != "[m]" {
		t.Errorf("l:set = %v, want [m]", m)
	}
	for _, want := range []string{`"cmd":"XADD","key":"\"s:stream\""`, "SUNIONSTORE", "its source key is not on the target"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("no warning with %q in:\n%s", want, logs)
		}
	}
	again, err := DialProxyStream(ctx, p.config(logs), "cp")
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if got, found, ok := again.Checkpoint(); !found || !ok || got != cp {
		t.Errorf("checkpoint %+v %v %v, want %+v", got, found, ok, cp)
	}
}

func TestProxyStreamFlushesBackends(t *testing.T) {
	p := startProxyPool(t)
	ctx := context.Background()
	for i := range 20 {
		p.proxy.Client.Set(ctx, fmt.Sprintf("%d:k", i), "v", 0)
	}
	cfg := p.config(&logBuffer{})
	cfg.Backends = []string{p.backends[0].Addr, p.backends[1].Addr}
	w, err := DialProxyStream(ctx, cfg, "cp")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.Begin(0)
	w.Add(cmd("FLUSHALL"), 0)
	if err := w.Commit(Checkpoint{}, "marker"); err != nil {
		t.Fatal(err)
	}
	if err := w.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	for _, b := range p.backends {
		keys, _ := b.Client.Keys(ctx, "*").Result()
		if fmt.Sprint(keys) != "[]" && fmt.Sprint(keys) != "[cp]" {
			t.Errorf("backend %s holds %v after FLUSHALL", b.Addr, keys)
		}
	}
	if got := p.get(t, "cp"); got != "marker" {
		t.Errorf("checkpoint %q, want marker", got)
	}
}

// TestProxyStreamBackendDown: the proxy's own error reply for a backend
// out of reach fails the writer; it is no refused command.
func TestProxyStreamBackendDown(t *testing.T) {
	p := startProxyPool(t)
	ctx := context.Background()
	key := ""
	for i := 0; i < 200 && key == ""; i++ {
		k := fmt.Sprintf("%d:probe", i)
		p.proxy.Client.Set(ctx, k, "v", 0)
		if p.where(t, k) == 1 {
			key = k
		}
	}
	if key == "" {
		t.Fatal("no key lands on backend 1")
	}
	w, err := DialProxyStream(ctx, p.config(&logBuffer{}), "cp")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := p.backends[1].Stop(); err != nil {
		t.Fatal(err)
	}
	w.Begin(0)
	w.Add(cmd("SET", key, "x"), 10)
	w.Commit(Checkpoint{ReplID: strings.Repeat("a", 40), Offset: 10}, "")
	select {
	case <-w.Dead():
	case <-time.After(10 * time.Second):
		t.Fatal("the writer did not fail")
	}
	if err := w.Err(); err == nil || !strings.Contains(err.Error(), "could not reach a backend") {
		t.Errorf("Err = %v", err)
	}
	if _, refused := w.Counts(); refused != 0 {
		t.Errorf("refused %d, want 0", refused)
	}
	if got := w.Applied(); got == 10 {
		t.Error("the checkpoint counts as applied")
	}
}
