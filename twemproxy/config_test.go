package twemproxy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const twoPools = `alpha:
  listen: 127.0.0.1:22121
  hash: fnv1a_64
  hash_tag: "{}"
  distribution: ketama
  auto_eject_hosts: true
  redis: true
  redis_auth: s3cret
  redis_db: 2
  server_retry_timeout: 2000
  server_failure_limit: 1
  timeout: 400
  servers:
   - 127.0.0.1:6379:1 server1
   - 127.0.0.1:6380:2 server2
   - 10.0.0.7:11211:1
   - /var/run/redis.sock:3

beta:
  listen: 127.0.0.1:22122
  redis: true
  servers:
   - 127.0.0.1:6381:1
`

func TestParseConfig(t *testing.T) {
	c, err := ParseConfig([]byte(twoPools))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Pools) != 2 || c.Pools[0].Name != "alpha" || c.Pools[1].Name != "beta" {
		t.Fatalf("pools %+v", c.Pools)
	}
	a := c.Pools[0]
	if a.Listen != "127.0.0.1:22121" || a.Hash != HashFNV1a_64 || a.HashTag != "{}" ||
		a.Distribution != DistKetama || !a.Redis || a.RedisAuth != "s3cret" || a.RedisDB != 2 || !a.AutoEjectHosts {
		t.Errorf("pool alpha %+v", a)
	}
	if a.Directives["timeout"] != "400" || a.Directives["server_retry_timeout"] != "2000" {
		t.Errorf("directives %v", a.Directives)
	}
	want := []Server{
		{Index: 0, Addr: "127.0.0.1:6379", Host: "127.0.0.1", Port: 6379, Weight: 1, Name: "server1", Ident: "server1"},
		{Index: 1, Addr: "127.0.0.1:6380", Host: "127.0.0.1", Port: 6380, Weight: 2, Name: "server2", Ident: "server2"},
		{Index: 2, Addr: "10.0.0.7:11211", Host: "10.0.0.7", Port: 11211, Weight: 1, Ident: "10.0.0.7"},
		{Index: 3, Addr: "/var/run/redis.sock", Host: "/var/run/redis.sock", Weight: 3, Ident: "/var/run/redis.sock:"},
	}
	if len(a.Servers) != len(want) {
		t.Fatalf("servers %+v", a.Servers)
	}
	for i, s := range a.Servers {
		if s != want[i] {
			t.Errorf("server %d: %+v, want %+v", i, s, want[i])
		}
	}
	if a.Servers[3].Network() != "unix" || a.Servers[0].Network() != "tcp" {
		t.Error("Network")
	}
	// Defaults.
	b := c.Pools[1]
	if b.Hash != DefaultHash || b.Distribution != DefaultDistribution || b.HashTag != "" || b.RedisDB != 0 || b.AutoEjectHosts {
		t.Errorf("pool beta defaults %+v", b)
	}
	if b.Servers[0].Ident != "127.0.0.1:6381" {
		t.Errorf("unnamed server ident %q", b.Servers[0].Ident)
	}
}

func TestConfigPool(t *testing.T) {
	c, err := ParseConfig([]byte(twoPools))
	if err != nil {
		t.Fatal(err)
	}
	if p, err := c.Pool("beta"); err != nil || p.Name != "beta" {
		t.Errorf("Pool(beta) = %v, %v", p, err)
	}
	if _, err := c.Pool(""); err == nil || !strings.Contains(err.Error(), "2 pools") {
		t.Errorf("Pool(\"\") of two: %v", err)
	}
	if _, err := c.Pool("gamma"); err == nil || !strings.Contains(err.Error(), `"alpha" on 127.0.0.1:22121`) {
		t.Errorf("Pool(gamma): %v", err)
	}
	if p, err := c.PoolListening("127.0.0.1:22122"); err != nil || p.Name != "beta" {
		t.Errorf("PoolListening = %v, %v", p, err)
	}
	if _, err := c.PoolListening("127.0.0.1:1"); err == nil {
		t.Error("PoolListening of no pool did not fail")
	}
	one, err := ParseConfig([]byte("only:\n  listen: 0.0.0.0:1\n  servers:\n   - h:1:1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p, err := one.Pool(""); err != nil || p.Name != "only" {
		t.Errorf("Pool(\"\") of one = %v, %v", p, err)
	}
}

func TestLoadConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nutcracker.yml")
	if err := os.WriteFile(path, []byte(twoPools), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(path)
	if err != nil || len(c.Pools) != 2 {
		t.Fatalf("LoadConfig: %v", err)
	}
	if _, err := LoadConfig(path + ".missing"); err == nil {
		t.Error("missing file did not fail")
	}
}

// TestParseConfigErrors: files nutcracker refuses at start are refused.
func TestParseConfigErrors(t *testing.T) {
	pool := func(lines ...string) string {
		return "p:\n  " + strings.Join(lines, "\n  ") + "\n"
	}
	srv := "servers:\n   - 127.0.0.1:6379:1"
	for name, c := range map[string]struct{ yaml, want string }{
		"not yaml":        {"p: [", "config"},
		"empty":           {"", "mapping"},
		"list":            {"- a\n- b\n", "mapping"},
		"no pools":        {"{}\n", "no pools"},
		"pool not a map":  {"p: 1\n", "mapping of directives"},
		"no listen":       {pool(srv), `"listen" is missing`},
		"bad listen":      {pool("listen: localhost", srv), "host:port"},
		"bad listen port": {pool("listen: h:99999", srv), "port"},
		"no servers":      {pool("listen: h:1"), "no servers"},
		"servers scalar":  {pool("listen: h:1", "servers: x"), "list"},
		"unknown":         {pool("listen: h:1", "hashh: md5", srv), `"hashh" is unknown`},
		"duplicate":       {pool("listen: h:1", "hash: md5", "hash: crc16", srv), "duplicate"},
		"bad hash":        {pool("listen: h:1", "hash: sha1", srv), "unknown hash"},
		"bad dist":        {pool("listen: h:1", "distribution: vnode", srv), "not ketama"},
		"tag of 1":        {pool("listen: h:1", `hash_tag: "{"`, srv), "two characters"},
		"tag of 3":        {pool("listen: h:1", `hash_tag: "{}}"`, srv), "two characters"},
		"tag unquoted":    {pool("listen: h:1", "hash_tag: {}", srv), "quote it"},
		"bad bool":        {pool("listen: h:1", "redis: yes", srv), "true or false"},
		"bad db":          {pool("listen: h:1", "redis_db: -1", srv), "not a number"},
		"bad number":      {pool("listen: h:1", "timeout: 4s", srv), "not a number"},
		"no weight":       {pool("listen: h:1", "servers:\n   - 127.0.0.1:6379"), "weight"},
		"zero weight":     {pool("listen: h:1", "servers:\n   - 127.0.0.1:6379:0"), "weight"},
		"no port":         {pool("listen: h:1", "servers:\n   - 127.0.0.1:1 name"), "host:port:weight"},
		"bad port":        {pool("listen: h:1", "servers:\n   - h:0:1"), "port"},
		"same name":       {pool("listen: h:1", "servers:\n   - a:1:1 x\n   - b:2:1 x"), `two servers named "x"`},
		"same address":    {pool("listen: h:1", "servers:\n   - a:1:1\n   - a:1:2"), `two servers named "a:1"`},
		"server mapping":  {pool("listen: h:1", "servers:\n   - {a: b}"), "host:port:weight"},
		"same listen":     {"a:\n  listen: h:1\n  " + srv + "\nb:\n  listen: h:1\n  " + srv + "\n", "same address"},
		"same pool":       {"a:\n  listen: h:1\n  " + srv + "\na:\n  listen: h:2\n  " + srv + "\n", "a"},
	} {
		_, err := ParseConfig([]byte(c.yaml))
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q does not say %q", name, err, c.want)
		}
	}
}

func TestParseServer(t *testing.T) {
	for _, c := range []struct {
		in    string
		ident string
		addr  string
	}{
		{"127.0.0.1:6379:1", "127.0.0.1:6379", "127.0.0.1:6379"},
		{"127.0.0.1:6379:10 cache-1", "cache-1", "127.0.0.1:6379"},
		{"redis.local:11211:1", "redis.local", "redis.local:11211"},
		{"redis.local:11211:1 m", "m", "redis.local:11211"},
		{"[::1]:6379:1", "[::1]:6379", "[::1]:6379"},
		{"/tmp/r.sock:2 s", "s", "/tmp/r.sock"},
	} {
		s, err := ParseServer(c.in)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if s.Ident != c.ident || s.Addr != c.addr {
			t.Errorf("%q: ident %q addr %q, want %q %q", c.in, s.Ident, s.Addr, c.ident, c.addr)
		}
	}
	for _, bad := range []string{"", "h", "h:1", ":1:1", "h:1:1 ", "h:1:x", "h:x:1", "h:1:1 a b:"} {
		if _, err := ParseServer(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(twoPools))
	f.Add([]byte("p:\n  listen: h:1\n  hash_tag: \"{}\"\n  servers:\n   - a:1:1 x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err != nil {
			return
		}
		for _, p := range c.Pools {
			if len(p.Servers) == 0 || p.Listen == "" {
				t.Fatalf("pool %q accepted without servers or listen", p.Name)
			}
			r, err := NewRouter(p)
			if err != nil {
				continue
			}
			if i := r.IndexString("some{key}"); i < 0 || i >= len(p.Servers) {
				t.Fatalf("index %d of %d servers", i, len(p.Servers))
			}
		}
	})
}
