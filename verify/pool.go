package verify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/replicant/replicant/internal/redisreply"
	"github.com/replicant/replicant/twemproxy"
)

// A twemproxy pool's servers are reached directly (Endpoint.Pool). A Pool
// side reads each key from the server nutcracker's routing names for it,
// through a client whose hooks send every command, and every pipelined
// command, to that server's own client: the rest of verify sees one
// redis.UniversalClient. Whether the side is a Pool or a Proxy, the
// servers are scanned one by one, so that keys only on the target are
// found, and so are keys sitting on a server that is not theirs
// ("misplaced").

// CheckPool refuses a pool that Endpoint.Pool cannot be: one whose keys
// have no place to check (distribution random: twemproxy.ErrRandom) or
// with a server on a Unix socket (verify reaches the servers over TCP).
func CheckPool(p *twemproxy.Pool) error {
	if _, err := twemproxy.NewRouter(p); err != nil {
		return fmt.Errorf("twemproxy pool %q: %w", p.Name, err)
	}
	for _, s := range p.Servers {
		if s.Network() != "tcp" {
			return fmt.Errorf("twemproxy pool %q: server %s is a Unix socket: verify reaches a pool's servers over TCP only", p.Name, s.Addr)
		}
	}
	return nil
}

// poolServers are the clients of a pool's servers and the pool's router.
type poolServers struct {
	pool    *twemproxy.Pool
	router  *twemproxy.Router
	clients []*redis.Client // by position in pool.Servers
}

// newPoolServers makes a client per server from o (its timeouts, TLS and
// credentials), in the pool's database, with the pool's redis_auth unless
// o has a password.
func newPoolServers(p *twemproxy.Pool, o redis.Options) (*poolServers, error) {
	r, err := twemproxy.NewRouter(p)
	if err != nil {
		return nil, err
	}
	ps := &poolServers{pool: p, router: r, clients: make([]*redis.Client, len(p.Servers))}
	if o.Password == "" {
		o.Password = p.RedisAuth
	}
	o.DB = p.RedisDB
	for i, s := range p.Servers {
		so := o
		so.Addr = s.Addr
		ps.clients[i] = redis.NewClient(&so)
	}
	return ps, nil
}

// own is the position of the server that holds key.
func (ps *poolServers) own(key string) int { return ps.router.IndexString(key) }

// label names server i in a report: "name (host:port)", or "host:port".
func (ps *poolServers) label(i int) string {
	s := ps.pool.Servers[i]
	if s.Name == "" {
		return s.Addr
	}
	return s.Name + " (" + s.Addr + ")"
}

// each runs fn on every server's client at once and returns the first
// error, naming its server.
func (ps *poolServers) each(ctx context.Context, fn func(ctx context.Context, i int, c *redis.Client) error) error {
	errs := make([]error, len(ps.clients))
	var wg sync.WaitGroup
	for i, c := range ps.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(ctx, i, c); err != nil {
				errs[i] = fmt.Errorf("server %s: %w", ps.label(i), err)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (ps *poolServers) close() error {
	var errs []error
	for _, c := range ps.clients {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// routed returns a client that sends each command to the server holding its
// key. It never connects anywhere itself.
func (ps *poolServers) routed(o redis.Options) *redis.Client {
	o.Addr = "twemproxy-pool:0" // never dialed: the hooks never call on
	c := redis.NewClient(&o)
	c.AddHook(routeHook{ps})
	return c
}

// routeHook is the routed client's hooks.
type routeHook struct{ ps *poolServers }

var errNoKey = errors.New("command without a key: a twemproxy pool routes by key")

func (h routeHook) DialHook(redis.DialHook) redis.DialHook {
	return func(context.Context, string, string) (net.Conn, error) { return nil, errNoKey }
}

func (h routeHook) ProcessHook(redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		key, ok := cmdKey(cmd)
		if !ok {
			cmd.SetErr(errNoKey)
			return errNoKey
		}
		return h.ps.clients[h.ps.own(key)].Process(ctx, cmd)
	}
}

// ProcessPipelineHook splits a pipeline by server, runs the parts at once
// and returns the first error in the pipeline's order, as go-redis does.
func (h routeHook) ProcessPipelineHook(redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		parts := make(map[int][]redis.Cmder)
		for _, cmd := range cmds {
			key, ok := cmdKey(cmd)
			if !ok {
				cmd.SetErr(errNoKey)
				continue
			}
			i := h.ps.own(key)
			parts[i] = append(parts[i], cmd)
		}
		var wg sync.WaitGroup
		for i, part := range parts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p := h.ps.clients[i].Pipeline()
				for _, cmd := range part {
					_ = p.Process(ctx, cmd)
				}
				_, _ = p.Exec(ctx) // errors are set on each command
			}()
		}
		wg.Wait()
		for _, cmd := range cmds {
			if err := cmd.Err(); err != nil {
				return err
			}
		}
		return nil
	}
}

// cmdKey is the key of a command verify sends: its first argument after
// the name, the second for XINFO, MEMORY USAGE and OBJECT.
func cmdKey(cmd redis.Cmder) (string, bool) {
	args := cmd.Args()
	pos := 1
	switch strings.ToLower(cmd.Name()) {
	case "xinfo", "memory", "object":
		pos = 2
	}
	if len(args) <= pos {
		return "", false
	}
	switch k := args[pos].(type) {
	case string:
		return k, true
	case []byte:
		return string(k), true
	}
	return fmt.Sprint(args[pos]), true
}

// elsewhere looks for keys on every server but their own, and returns for
// each the servers that hold it (nil when none).
func (ps *poolServers) elsewhere(ctx context.Context, keys []string) ([][]int, error) {
	found := make([][]int, len(keys))
	var mu sync.Mutex
	err := ps.each(ctx, func(ctx context.Context, srv int, c *redis.Client) error {
		p := c.Pipeline()
		cmds := make([]*redis.IntCmd, len(keys))
		for i, k := range keys {
			if ps.own(k) != srv {
				cmds[i] = p.Exists(ctx, k)
			}
		}
		if p.Len() == 0 {
			return nil
		}
		if _, err := p.Exec(ctx); err != nil {
			return fmt.Errorf("EXISTS: %w", err)
		}
		mu.Lock()
		defer mu.Unlock()
		for i, c := range cmds {
			if c != nil && c.Val() > 0 {
				found[i] = append(found[i], srv)
			}
		}
		return nil
	})
	return found, err
}

// misplaced turns the verdict of a key found on servers other than its
// own into a Misplaced one that says where it is, where it belongs, and
// what its own server holds.
func (ps *poolServers) misplaced(key string, on []int, s, d meta, was verdict) verdict {
	where := make([]string, len(on))
	for j, srv := range on {
		where[j] = ps.label(srv)
	}
	detail := fmt.Sprintf("on %s, belongs on %s", strings.Join(where, " and "), ps.label(ps.own(key)))
	switch {
	case d.typ == "none" && s.typ == "none":
		detail += ", where it is missing; not on source"
	case d.typ == "none":
		detail += ", where it is missing"
	case was.kind == "":
		detail += ", which holds it too (equal to the source's)"
	default:
		detail += fmt.Sprintf(", which holds it too (%s: %s)", was.kind, was.detail)
	}
	return verdict{Misplaced, detail}
}

// connectPool checks that every server of the side's pool answers, and
// keeps the oldest version among them (the one that decides what can be
// compared).
func (s *side) connectPool(ctx context.Context) error {
	var mu sync.Mutex
	versions := make([]string, len(s.ep.Pool.Servers))
	err := s.pool().each(ctx, func(ctx context.Context, i int, c *redis.Client) error {
		if err := c.Ping(ctx).Err(); err != nil {
			return fmt.Errorf("connect: %w", err)
		}
		info, err := c.Info(ctx, "server").Result()
		if err != nil {
			return fmt.Errorf("INFO: %w", err)
		}
		mu.Lock()
		versions[i] = redisreply.InfoField(info, "redis_version")
		mu.Unlock()
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s twemproxy pool %q: %w", s.name, s.ep.Pool.Name, err)
	}
	if s.ep.Kind == Pool {
		s.version = versions[0]
		for _, v := range versions {
			if !atLeast7(v) {
				s.version = v
			}
		}
	}
	return nil
}

// scanServers calls fn with every page of a full SCAN of each server of
// the side's pool, and the server's position; fn is called concurrently.
func (s *side) scanServers(ctx context.Context, count int, fn func(srv int, keys []string) error) error {
	err := s.pool().each(ctx, func(ctx context.Context, srv int, c *redis.Client) error {
		var cursor uint64
		for {
			keys, next, err := c.Scan(ctx, cursor, "", int64(count)).Result()
			if err != nil {
				return fmt.Errorf("SCAN: %w", err)
			}
			if len(keys) > 0 {
				if err := fn(srv, keys); err != nil {
					return err
				}
			}
			if cursor = next; cursor == 0 {
				return nil
			}
		}
	})
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("%s twemproxy pool %q: %w", s.name, s.ep.Pool.Name, err)
	}
	return err
}

// sampleServers calls fn with up to n random keys (RANDOMKEY) of the side's
// pool, an equal share from each server, and the server's position.
func (s *side) sampleServers(ctx context.Context, n, batch int, keep func(string) bool, fn func(srv int, keys []string) error) error {
	share := (n + len(s.ep.Pool.Servers) - 1) / len(s.ep.Pool.Servers)
	err := s.pool().each(ctx, func(ctx context.Context, srv int, c *redis.Client) error {
		keys, err := s.randomKeysOf(ctx, c, share, batch, keep)
		if err != nil || len(keys) == 0 {
			return err
		}
		return fn(srv, keys)
	})
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("%s twemproxy pool %q: %w", s.name, s.ep.Pool.Name, err)
	}
	return err
}

// placement looks for keys of a batch on the servers of the target's pool
// that are not theirs: every key when look is set, else the keys missing
// on their own server. A key found elsewhere is Misplaced.
func (v *verifier) placement(ctx context.Context, p *pair, keys []string, sm, dm []meta, out []verdict, look bool) error {
	ps := v.dst.pool()
	if ps == nil || len(ps.clients) < 2 {
		return nil
	}
	var idx []int
	for i := range keys {
		if look || out[i].kind == Missing {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return nil
	}
	some := make([]string, len(idx))
	for j, i := range idx {
		some[j] = keys[i]
	}
	found, err := ps.elsewhere(ctx, some)
	if err != nil {
		return v.dst.wrap("look for misplaced keys", err)
	}
	for j, i := range idx {
		if len(found[j]) > 0 {
			out[i] = ps.misplaced(keys[i], found[j], sm[i], dm[i], out[i])
		}
	}
	return nil
}

// scanPool sends every key of every server of the target's pool, split in
// the keys on their own server (compared if not on the source, as any
// target key) and the misplaced ones.
func (v *verifier) scanPool(p *pair) producer {
	return func(ctx context.Context, send func(job) error) error {
		return v.dst.scanServers(ctx, v.cfg.Batch, func(srv int, keys []string) error {
			return v.sendPlaced(p, srv, keys, send)
		})
	}
}

// samplePool is scanPool for Config.Sample random keys of the pool, or
// every key when it has no more.
func (v *verifier) samplePool(p *pair) producer {
	return func(ctx context.Context, send func(job) error) error {
		n, err := v.dst.dbSize(ctx, 0)
		if err != nil {
			return err
		}
		if n <= int64(v.cfg.Sample) {
			return v.scanPool(p)(ctx, send)
		}
		keep := func(k string) bool { return len(v.kept(p.db, []string{k})) == 1 }
		return v.dst.sampleServers(ctx, v.cfg.Sample, v.cfg.Batch, keep, func(srv int, keys []string) error {
			for len(keys) > 0 {
				n := min(len(keys), v.cfg.Batch)
				if err := v.sendPlaced(p, srv, keys[:n:n], send); err != nil {
					return err
				}
				keys = keys[n:]
			}
			return nil
		})
	}
}

// sendPlaced sends keys found on server srv of the target's pool: those
// that belong there as target keys, the others as misplaced.
func (v *verifier) sendPlaced(p *pair, srv int, keys []string, send func(job) error) error {
	if keys = v.kept(p.db, keys); len(keys) == 0 {
		return nil
	}
	ps := v.dst.pool()
	var home, away []string
	for _, k := range keys {
		if ps.own(k) == srv {
			home = append(home, k)
		} else {
			away = append(away, k)
		}
	}
	if len(home) > 0 {
		if err := send(job{p: p, keys: home, onTarget: true}); err != nil {
			return err
		}
	}
	if len(away) > 0 {
		return send(job{p: p, keys: away, onTarget: true, misplaced: true})
	}
	return nil
}
