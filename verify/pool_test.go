package verify

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/replicant/replicant/twemproxy"
)

func TestCmdKey(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		cmd  redis.Cmder
		want string
		ok   bool
	}{
		{redis.NewStringCmd(ctx, "getrange", "k1", 0, 10), "k1", true},
		{keyCmd(ctx, 2, "xinfo", "stream", "s1"), "s1", true},
		{redis.NewCmd(ctx, "XINFO", "GROUPS", "s2"), "s2", true},
		{redis.NewCmd(ctx, "object", "encoding", "o"), "o", true},
		{redis.NewCmd(ctx, "dump", []byte("b")), "b", true},
		{redis.NewCmd(ctx, "ping"), "", false},
		{redis.NewCmd(ctx, "xinfo", "help"), "", false},
	} {
		if got, ok := cmdKey(c.cmd); got != c.want || ok != c.ok {
			t.Errorf("cmdKey(%v) = %q, %v; want %q, %v", c.cmd.Args(), got, ok, c.want, c.ok)
		}
	}
}

const threeServers = `p:
  listen: 127.0.0.1:22121
  redis: true
  servers:
   - 127.0.0.1:7001:1 one
   - 127.0.0.1:7002:2 two
   - 127.0.0.1:7003:3
`

func testPool(t *testing.T, yaml string) *twemproxy.Pool {
	t.Helper()
	c, err := twemproxy.ParseConfig([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return c.Pools[0]
}

func TestCheckPool(t *testing.T) {
	if err := CheckPool(testPool(t, threeServers)); err != nil {
		t.Fatal(err)
	}
	random := testPool(t, strings.Replace(threeServers, "redis: true", "redis: true\n  distribution: random", 1))
	if err := CheckPool(random); !errors.Is(err, twemproxy.ErrRandom) || !strings.Contains(err.Error(), `pool "p"`) {
		t.Errorf("random: %v", err)
	}
	unix := testPool(t, strings.Replace(threeServers, "127.0.0.1:7003:3", "/tmp/redis.sock:3", 1))
	if err := CheckPool(unix); err == nil || !strings.Contains(err.Error(), "/tmp/redis.sock is a Unix socket") {
		t.Errorf("unix socket: %v", err)
	}
	cfg := Config{Source: Endpoint{Options: redis.Options{Addr: "a:1"}}, Target: Endpoint{Kind: Pool, Pool: random}}
	if err := cfg.validate(); !errors.Is(err, twemproxy.ErrRandom) {
		t.Errorf("validate: %v", err)
	}
	cfg.Target.Pool = nil
	if err := cfg.validate(); err == nil {
		t.Error("a Pool target without a pool validated")
	}
}

func TestMisplacedDetail(t *testing.T) {
	ps, err := newPoolServers(testPool(t, threeServers), redis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ps.close()
	key := "k"
	own := ps.own(key)
	other := (own + 1) % 3
	present, absent := meta{typ: "string"}, meta{typ: "none"}
	for _, c := range []struct {
		s, d meta
		was  verdict
		want string
	}{
		{present, absent, verdict{Missing, "x"}, ", where it is missing"},
		{absent, absent, verdict{}, ", where it is missing; not on source"},
		{present, present, verdict{}, ", which holds it too (equal to the source's)"},
		{present, present, verdict{Value, `"a" vs "b"`}, `, which holds it too (value: "a" vs "b")`},
	} {
		got := ps.misplaced(key, []int{other}, c.s, c.d, c.was)
		want := "on " + ps.label(other) + ", belongs on " + ps.label(own) + c.want
		if got.kind != Misplaced || got.detail != want {
			t.Errorf("got %s %q\nwant %q", got.kind, got.detail, want)
		}
	}
	if ps.label(0) != "one (127.0.0.1:7001)" || ps.label(2) != "127.0.0.1:7003" {
		t.Errorf("labels %q %q", ps.label(0), ps.label(2))
	}
}

// TestRoutedClient: a routed client refuses a command without a key, and
// sends nothing to a server (the servers here are not running) when it
// has none.
func TestRoutedClient(t *testing.T) {
	ps, err := newPoolServers(testPool(t, threeServers), redis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ps.close()
	c := ps.routed(redis.Options{})
	defer c.Close()
	ctx := context.Background()
	if err := c.Ping(ctx).Err(); !errors.Is(err, errNoKey) {
		t.Errorf("PING: %v", err)
	}
	p := c.Pipeline()
	ping := p.Ping(ctx)
	if _, err := p.Exec(ctx); !errors.Is(err, errNoKey) || !errors.Is(ping.Err(), errNoKey) {
		t.Errorf("pipelined PING: %v, %v", err, ping.Err())
	}
}
