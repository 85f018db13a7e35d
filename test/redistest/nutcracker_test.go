package redistest

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestNutcrackerSpreadsKeys starts a proxy over two backends, writes
// through it with its go-redis client and finds every key on exactly one
// backend, both backends used; Stop ends the process and removes its dir.
func TestNutcrackerSpreadsKeys(t *testing.T) {
	ctx := testCtx(t, 30*time.Second)
	backends := []*Server{start(t, Options{}), start(t, Options{})}
	n, err := StartNutcracker(ctx, backends, NutcrackerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	conf, err := os.ReadFile(n.ConfigPath)
	if err != nil || !strings.Contains(string(conf), "hash: fnv1a_64") {
		t.Fatalf("config %s: %v\n%s", n.ConfigPath, err, conf)
	}
	// Keys differ in their first characters: nutcracker's fnv1a_64 keeps 32
	// bits of the hash, so keys that differ only at the end land close
	// together on the ketama ring, often on one backend.
	const keys = 200
	for i := range keys {
		if err := n.Client.Set(ctx, fmt.Sprintf("%d:key", i), i, 0).Err(); err != nil {
			t.Fatalf("SET through the proxy: %v", err)
		}
	}
	total := 0
	for _, b := range backends {
		size, err := b.Client.DBSize(ctx).Result()
		if err != nil {
			t.Fatal(err)
		}
		if size == 0 {
			t.Errorf("backend %s holds no key", b.Addr)
		}
		total += int(size)
	}
	if total != keys {
		t.Errorf("backends hold %d keys, want %d", total, keys)
	}
	if v, err := n.Client.Get(ctx, "7:key").Result(); err != nil || v != "7" {
		t.Errorf("GET through the proxy: %q, %v", v, err)
	}
	pid := n.Pid()
	if pid == 0 {
		t.Fatal("no pid")
	}
	if err := n.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("pid %d after Stop: kill 0 = %v, want ESRCH", pid, err)
	}
	if _, err := os.Stat(n.Dir); !os.IsNotExist(err) {
		t.Errorf("dir %s after Stop: %v", n.Dir, err)
	}
	if err := n.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

// TestNutcrackerPassword runs a pool with redis_auth over backends that
// require the same password.
func TestNutcrackerPassword(t *testing.T) {
	ctx := testCtx(t, 30*time.Second)
	o := Options{Args: []string{"--requirepass", "pw"}, Password: "pw"}
	backends := []*Server{start(t, o), start(t, o)}
	n, err := StartNutcracker(ctx, backends, NutcrackerOptions{Password: "pw", HashTag: "{}", MbufSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Stop() })
	if err := n.Client.MSet(ctx, "{t}a", 1, "{t}b", 2).Err(); err != nil {
		t.Fatalf("MSET through the proxy: %v", err)
	}
	found := 0
	for _, b := range backends {
		found += int(b.Client.Exists(ctx, "{t}a", "{t}b").Val())
	}
	if found != 2 {
		t.Errorf("found %d of 2 keys on the backends", found)
	}
}

func TestIsHello(t *testing.T) {
	for in, want := range map[string]bool{
		"*2\r\n$5\r\nHELLO\r\n$1\r\n2\r\n":   true,
		"*2\r\n$5\r\nhello\r\n$1\r\n3\r\n":   true,
		"*1\r\n$4\r\nPING\r\n":               false,
		"*2\r\n$3\r\nGET\r\n$5\r\nhello\r\n": false,
		"":                                   false,
	} {
		if got := isHello([]byte(in)); got != want {
			t.Errorf("isHello(%q) = %v", in, got)
		}
	}
}
