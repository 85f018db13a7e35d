package replicate

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/replicant/replicant/forwarder"
	"github.com/replicant/replicant/twemproxy"
)

// kindPool is a twemproxy target written straight to its pool's servers:
// --target-kind twemproxy with --twemproxy-config and no --target. Each key
// goes to the server nutcracker would pick for it, so the proxy need not
// run. It is not a --target-kind of its own.
const kindPool = "twemproxy-direct"

func init() {
	writersOf[kindPool] = targetWriters{
		snapshot: func(ctx context.Context, t *target) (forwarder.SnapshotWriter, error) {
			w, err := forwarder.DialClusterSnapshot(ctx, t.poolConfig())
			if err != nil {
				return nil, err
			}
			return db0Only{w, forwarder.ErrProxyDB}, nil
		},
		stream: func(ctx context.Context, t *target) (forwarder.StreamWriter, error) {
			return forwarder.DialClusterStream(ctx, t.poolConfig())
		},
	}
}

// poolTarget is the pool of a twemproxy target written directly.
type poolTarget struct {
	pool   *twemproxy.Pool
	router *twemproxy.Router
}

// directPool reports whether o asks for a twemproxy pool written directly:
// a twemproxy (or unsaid) kind, a nutcracker config and no target address.
func directPool(o Config) bool {
	return o.TwemproxyConfig != "" && len(o.Target.Addrs) == 0 &&
		(o.TargetKind == "" || o.TargetKind == KindAuto || o.TargetKind == KindTwemproxy)
}

// loadPoolTarget reads the pool of a nutcracker config: the one called
// name, or the only one. A pool replicant cannot place keys in as
// nutcracker does is refused.
func loadPoolTarget(path, name string) (*poolTarget, error) {
	cfg, err := twemproxy.LoadConfig(path)
	if err != nil {
		return nil, err
	}
	pool, err := cfg.Pool(name)
	if err != nil {
		return nil, err
	}
	if !pool.Redis {
		return nil, fmt.Errorf("pool %q is a memcached pool (redis: false)", pool.Name)
	}
	if pool.RedisDB != 0 {
		return nil, fmt.Errorf("pool %q: redis_db %d: writing straight to the servers supports redis_db 0 only; write through the proxy (--target redis://<its listen address>)", pool.Name, pool.RedisDB)
	}
	for _, srv := range pool.Servers {
		if srv.Network() != "tcp" {
			return nil, fmt.Errorf("pool %q: server %s is a Unix socket: writing straight to the servers needs host:port servers", pool.Name, srv.Addr)
		}
	}
	r, err := twemproxy.NewRouter(pool)
	if err != nil {
		return nil, err
	}
	return &poolTarget{pool: pool, router: r}, nil
}

// addrs lists the pool's servers in the order of the config.
func (p *poolTarget) addrs() []string {
	out := make([]string, len(p.pool.Servers))
	for i, srv := range p.pool.Servers {
		out[i] = srv.Addr
	}
	return out
}

// usePool makes the replica write to the pool's servers: their addresses,
// and the pool's redis_auth unless the target's password is given.
func (t *target) usePool(o Config) error {
	p, err := loadPoolTarget(o.TwemproxyConfig, o.TwemproxyPool)
	if err != nil {
		return fatalError{fmt.Errorf("--twemproxy-config: %w", err)}
	}
	t.pool, t.kind, t.addrs = p, kindPool, p.addrs()
	t.cfg.Addr = t.addrs[0]
	if t.cfg.Password == "" {
		t.cfg.Password = p.pool.RedisAuth
	}
	t.log.Info().Str("pool", p.pool.Name).Strs("servers", t.addrs).Str("hash", p.pool.Hash).
		Str("distribution", p.pool.Distribution).Str("hash_tag", p.pool.HashTag).
		Msg("target: a twemproxy pool, written straight to its servers with nutcracker's placement")
	return nil
}

// poolConfig describes the pool to the sharded writer: its servers in
// config order, placed by the pool's router.
func (t *target) poolConfig() forwarder.ClusterConfig {
	cfg := t.clusterConfig()
	cfg.Pool = t.pool.router
	return cfg
}

// poolServerClient is a client of the pool server that holds key.
func (t *target) poolServerClient(key string) *redis.Client {
	return redis.NewClient(t.clientOptionsFor(t.pool.router.Server([]byte(key)).Addr))
}

// eachPoolServer calls fn with a client of each server of the pool.
func (t *target) eachPoolServer(fn func(addr string, c *redis.Client) error) error {
	var errs []error
	for _, addr := range t.addrs {
		c := redis.NewClient(t.clientOptionsFor(addr))
		err := fn(addr, c)
		c.Close()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", addr, err))
			break
		}
	}
	return errors.Join(errs...)
}
