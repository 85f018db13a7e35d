package replicate

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/replicant/replicant/internal/redisreply"
	"github.com/replicant/replicant/verify"
)

// The target reached with go-redis, for what is not the stream or the
// snapshot: replicant's own keys (lease, cut-over mark), the servers'
// run_ids, the version, and scans for the checks and the sweep.

// client is a plain client of the target for replicant's own key
// (db 0): of the server, of the cluster, of the proxy, or of the pool
// server that holds key.
func (t *target) client(key string) redis.UniversalClient {
	if t.kind == kindPool {
		return t.poolServerClient(key)
	}
	if t.kind == KindCluster {
		return redis.NewClusterClient(t.clusterOptions())
	}
	o := t.clientOptions()
	if t.kind == KindTwemproxy {
		o.Protocol, o.DisableIndentity = 2, true
		o.Dialer = verify.ProxyDialer(o)
	}
	return redis.NewClient(o)
}

// servers names the servers of the target: the server, every node
// of a cluster, the pool's servers of a proxy whose --twemproxy-config is
// known.
func (t *target) servers(ctx context.Context) []serverID {
	var out []serverID
	switch t.kind {
	case KindCluster:
		c := redis.NewClusterClient(t.clusterOptions())
		defer c.Close()
		var mu sync.Mutex
		c.ForEachShard(ctx, func(ctx context.Context, node *redis.Client) error {
			id := serverID{node.Options().Addr, t.runID(ctx, node.Options())}
			mu.Lock()
			defer mu.Unlock()
			out = append(out, id)
			return nil
		})
		for _, addr := range t.addrs {
			out = append(out, serverID{addr: addr})
		}
	case KindTwemproxy, kindPool:
		servers, err := t.poolServers()
		if err != nil {
			return nil
		}
		for _, addr := range servers {
			out = append(out, serverID{addr, t.runID(ctx, t.clientOptionsFor(addr))})
		}
	default:
		out = append(out, serverID{t.cfg.Addr, t.runID(ctx, t.clientOptions())})
	}
	return out
}

// runID reads run_id from INFO server of the server of o; "" on failure.
func (t *target) runID(ctx context.Context, o *redis.Options) string {
	o = &redis.Options{Addr: o.Addr, Username: o.Username, Password: o.Password, TLSConfig: o.TLSConfig,
		DialTimeout: o.DialTimeout, MaxRetries: -1, Protocol: 2, DisableIndentity: true}
	ctx, cancel := context.WithTimeout(ctx, t.connectTimeout+2*time.Second)
	defer cancel()
	c := redis.NewClient(o)
	defer c.Close()
	info, err := c.Info(ctx, "server").Result()
	if err != nil {
		t.log.Debug().Err(err).Str("addr", o.Addr).Msg("cannot read INFO server: its run_id is unknown")
		return ""
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "run_id:"); ok {
			return v
		}
	}
	return ""
}

// scan calls visit with the keys of every database of the target,
// page by page, until it returns true.
func (t *target) scan(ctx context.Context, visit func(db int, keys []string) bool) error {
	switch t.kind {
	case KindCluster:
		c := redis.NewClusterClient(t.clusterOptions())
		defer c.Close()
		var mu sync.Mutex
		stop := false
		return c.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
			_, err := scanDB(ctx, node, 0, func(db int, keys []string) bool {
				mu.Lock()
				defer mu.Unlock()
				stop = stop || visit(db, keys)
				return stop
			})
			return err
		})
	case KindTwemproxy, kindPool:
		servers, err := t.poolServers()
		if err != nil {
			return err
		}
		for _, addr := range servers {
			if stop, err := scanServer(ctx, t.clientOptionsFor(addr), visit); stop || err != nil {
				return err
			}
		}
		return nil
	}
	_, err := scanServer(ctx, t.clientOptions(), visit)
	return err
}

// eachDB calls fn for each database of the target that written says
// this sync writes to,
// with a client and a SCAN over every node holding that database.
func (t *target) eachDB(ctx context.Context, written func(db int) bool, fn func(db int, c redis.UniversalClient, scan func(uint64) ([]string, uint64, error)) error) error {
	if t.kind == KindCluster {
		c := redis.NewClusterClient(t.clusterOptions())
		defer c.Close()
		var mu sync.Mutex // ForEachMaster runs fn on every master at once; fn is not safe for that
		return c.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
			mu.Lock()
			defer mu.Unlock()
			return fn(0, c, func(cur uint64) ([]string, uint64, error) { return node.Scan(ctx, cur, "", 1000).Result() })
		})
	}
	if t.kind == kindPool {
		return t.eachPoolServer(func(addr string, c *redis.Client) error {
			return fn(0, c, func(cur uint64) ([]string, uint64, error) { return c.Scan(ctx, cur, "", 1000).Result() })
		})
	}
	if t.kind != KindStandalone {
		return fmt.Errorf("a %s target cannot be scanned for keys", t.kind)
	}
	o := t.clientOptions()
	c := redis.NewClient(o)
	info, err := c.Info(ctx, "keyspace").Result()
	c.Close()
	if err != nil {
		return err
	}
	for _, db := range redisreply.KeyspaceDBs(info) {
		if !written(db) {
			continue
		}
		o.DB = db
		c := redis.NewClient(o)
		err := fn(db, c, func(cur uint64) ([]string, uint64, error) { return c.Scan(ctx, cur, "", 1000).Result() })
		c.Close()
		if err != nil {
			return fmt.Errorf("db %d: %w", db, err)
		}
	}
	return nil
}

// clientOptions are the options of a plain client of a standalone
// target.
func (t *target) clientOptions() *redis.Options {
	return &redis.Options{
		Addr: t.cfg.Addr, Username: t.cfg.Username, Password: t.cfg.Password,
		TLSConfig: t.cfg.TLS, DialTimeout: t.cfg.DialTimeout, MaxRetries: -1,
	}
}

// clientOptionsFor are clientOptions for one server of the target, at addr.
func (t *target) clientOptionsFor(addr string) *redis.Options {
	o := t.clientOptions()
	o.Addr = addr
	return o
}

// clusterOptions are the options of a cluster client of the target.
func (t *target) clusterOptions() *redis.ClusterOptions {
	return &redis.ClusterOptions{
		Addrs: t.addrs, Username: t.cfg.Username, Password: t.cfg.Password,
		TLSConfig: t.cfg.TLS, DialTimeout: t.cfg.DialTimeout,
	}
}

// version asks INFO server of the target (a master of a cluster,
// the first server of a proxy's pool) for its version, and CONFIG GET for
// its proto-max-bulk-len (0 when refused).
func (t *target) version(ctx context.Context) (string, int, error) {
	o := t.clientOptions()
	switch t.kind {
	case KindTwemproxy, kindPool:
		servers, err := t.poolServers()
		if err != nil {
			return "", 0, errors.New("a twemproxy target does not take INFO, and no --twemproxy-config names its servers")
		}
		o.Addr = servers[0]
	case KindCluster:
		o.Addr = t.addrs[0]
	}
	o.Protocol, o.DisableIndentity = 2, true
	ctx, cancel := context.WithTimeout(ctx, t.connectTimeout+5*time.Second)
	defer cancel()
	c := redis.NewClient(o)
	defer c.Close()
	info, err := c.InfoMap(ctx, "server").Result()
	if err != nil {
		return "", 0, err
	}
	bulk := 0
	if cfg, err := c.ConfigGet(ctx, "proto-max-bulk-len").Result(); err == nil {
		bulk, _ = strconv.Atoi(cfg["proto-max-bulk-len"])
	}
	return info["Server"]["redis_version"], bulk, nil
}
