package verify

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/replicant/replicant/internal/redisreply"
)

// side is the source or the target: its clients, one per database for a
// standalone server, one for a cluster or a proxy.
type side struct {
	name     string // "source" or "target"
	ep       Endpoint
	poolSize int
	version  string // redis_version; "" when unknown (proxy)
	auto     bool   // the kind is to be found out

	mu      sync.Mutex
	clients map[int]redis.UniversalClient
	servers *poolServers // a pool's servers (Endpoint.Pool); nil for other sides
}

func newSide(name string, ep Endpoint, poolSize int) *side {
	return &side{name: name, ep: ep, poolSize: poolSize, auto: ep.Kind == Auto, clients: map[int]redis.UniversalClient{}}
}

// multiDB reports a side with several databases (SELECT).
func (s *side) multiDB() bool { return s.ep.Kind == Standalone }

// canList reports a side that can enumerate its keys (SCAN, RANDOMKEY):
// not a proxy, unless its pool's servers are reachable.
func (s *side) canList() bool { return s.ep.Kind != Proxy || s.ep.Pool != nil }

// pool returns the side's pool servers, created on first use; nil when the
// side has no pool.
func (s *side) pool() *poolServers {
	if s.ep.Pool == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.poolLocked()
}

// poolLocked is pool with s.mu held.
func (s *side) poolLocked() *poolServers {
	if s.servers == nil {
		ps, err := newPoolServers(s.ep.Pool, s.options(s.ep.Pool.RedisDB))
		if err != nil {
			return nil // refused by Config.validate already
		}
		s.servers = ps
	}
	return s.servers
}

// dbOf maps a compared database to this side's database.
func (s *side) dbOf(db int) int {
	if s.multiDB() {
		return db
	}
	return 0
}

// client returns the client for database db, created on first use.
func (s *side) client(db int) redis.UniversalClient {
	db = s.dbOf(db)
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.clients[db]; ok {
		return c
	}
	o := s.options(db)
	var c redis.UniversalClient
	switch s.ep.Kind {
	case Pool:
		c = s.poolLocked().routed(o)
	case Cluster:
		c = redis.NewClusterClient(clusterOptions(&o))
	case Proxy:
		o.Dialer = ProxyDialer(&o)
		c = redis.NewClient(&o)
	default:
		c = redis.NewClient(&o)
	}
	s.clients[db] = c
	return c
}

// options are the client options for database db of the side.
func (s *side) options(db int) redis.Options {
	o := s.ep.Options
	o.DB, o.PoolSize, o.Protocol, o.DisableIndentity = db, s.poolSize, 2, true
	if o.ReadTimeout == 0 {
		o.ReadTimeout = DefaultReadTimeout
	}
	return o
}

func clusterOptions(o *redis.Options) *redis.ClusterOptions {
	return &redis.ClusterOptions{
		Addrs: []string{o.Addr}, ClientName: o.ClientName, Dialer: o.Dialer,
		Protocol: o.Protocol, Username: o.Username, Password: o.Password,
		CredentialsProvider: o.CredentialsProvider, MaxRetries: o.MaxRetries,
		DialTimeout: o.DialTimeout, ReadTimeout: o.ReadTimeout, WriteTimeout: o.WriteTimeout,
		PoolSize: o.PoolSize, TLSConfig: o.TLSConfig, DisableIndentity: o.DisableIndentity,
	}
}

func (s *side) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for db, c := range s.clients {
		errs = append(errs, c.Close())
		delete(s.clients, db)
	}
	if s.servers != nil {
		errs = append(errs, s.servers.close())
		s.servers = nil
	}
	return errors.Join(errs...)
}

// wrap adds the side's name and address, and what failed, to err.
func (s *side) wrap(what string, err error) error {
	return fmt.Errorf("%s %s: %s: %w", s.name, s.addr(), what, err)
}

// addr names the side in errors: its address, or its pool.
func (s *side) addr() string {
	if s.ep.Kind == Pool {
		return fmt.Sprintf("twemproxy pool %q", s.ep.Pool.Name)
	}
	return s.ep.Options.Addr
}

// connect checks the side answers (and accepts the credentials), reads
// its version where it can, and resolves an Auto kind.
func (s *side) connect(ctx context.Context) error {
	if s.ep.Kind == Auto {
		s.ep.Kind = Standalone // until INFO cluster says otherwise
	}
	if s.ep.Pool != nil {
		if err := s.connectPool(ctx); err != nil || s.ep.Kind == Pool {
			return err
		}
	}
	c := s.client(0)
	if err := c.Ping(ctx).Err(); err != nil {
		return s.wrap("connect", err)
	}
	if s.ep.Kind == Proxy {
		return nil
	}
	info, err := c.Info(ctx).Result() // the default sections: server and cluster among them
	if err != nil {
		return s.wrap("INFO", err)
	}
	s.version = redisreply.InfoField(info, "redis_version")
	if s.ep.Kind == Standalone && s.auto && redisreply.InfoField(info, "cluster_enabled") == "1" {
		_ = s.close()
		s.ep.Kind = Cluster
		return s.connect(ctx)
	}
	return nil
}

// masters runs fn on the client of every master (the side itself unless
// it is a cluster), concurrently for a cluster.
func (s *side) masters(ctx context.Context, db int, fn func(context.Context, *redis.Client) error) error {
	if ps := s.pool(); ps != nil {
		return ps.each(ctx, func(ctx context.Context, _ int, c *redis.Client) error { return fn(ctx, c) })
	}
	switch c := s.client(db).(type) {
	case *redis.ClusterClient:
		return c.ForEachMaster(ctx, fn)
	case *redis.Client:
		return fn(ctx, c)
	}
	return fmt.Errorf("unexpected client type")
}

// node returns a client for one server of the side (a master of a cluster).
func (s *side) node(ctx context.Context) (*redis.Client, error) {
	if c, ok := s.client(0).(*redis.ClusterClient); ok {
		return c.MasterForKey(ctx, "")
	}
	return s.client(0).(*redis.Client), nil
}

// scan calls fn with every page of a full SCAN of db (of every master).
// fn may be called concurrently for a cluster.
func (s *side) scan(ctx context.Context, db, count int, fn func([]string) error) error {
	err := s.masters(ctx, db, func(ctx context.Context, c *redis.Client) error {
		var cursor uint64
		for {
			keys, next, err := c.Scan(ctx, cursor, "", int64(count)).Result()
			if err != nil {
				return err
			}
			if len(keys) > 0 {
				if err := fn(keys); err != nil {
					return err
				}
			}
			if cursor = next; cursor == 0 {
				return nil
			}
		}
	})
	if err != nil && ctx.Err() == nil {
		return s.wrap(fmt.Sprintf("SCAN db %d", s.dbOf(db)), err)
	}
	return err
}

// dbSize is the number of keys in db (over every master).
func (s *side) dbSize(ctx context.Context, db int) (int64, error) {
	var mu sync.Mutex
	var total int64
	err := s.masters(ctx, db, func(ctx context.Context, c *redis.Client) error {
		n, err := c.DBSize(ctx).Result()
		mu.Lock()
		total += n
		mu.Unlock()
		return err
	})
	if err != nil {
		return 0, s.wrap("DBSIZE", err)
	}
	return total, nil
}

// randomKeys returns up to n distinct keys of db picked by RANDOMKEY,
// batch at a time; it gives up on more after three batches that found
// nothing new (a database mostly made of skipped keys).
func (s *side) randomKeys(ctx context.Context, db, n, batch int, keep func(string) bool) ([]string, error) {
	return s.randomKeysOf(ctx, s.client(db), n, batch, keep)
}

// randomKeysOf is randomKeys on client c.
func (s *side) randomKeysOf(ctx context.Context, c redis.Cmdable, n, batch int, keep func(string) bool) ([]string, error) {
	seen := make(map[string]struct{}, n)
	keys := make([]string, 0, n)
	for fruitless := 0; len(keys) < n && fruitless < 3; {
		p := c.Pipeline()
		cmds := make([]*redis.StringCmd, min(batch, n-len(keys)+n/10+1))
		for i := range cmds {
			cmds[i] = p.RandomKey(ctx)
		}
		if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return nil, s.wrap("RANDOMKEY", err)
		}
		before := len(keys)
		for _, c := range cmds {
			k, err := c.Result()
			if _, dup := seen[k]; err != nil || dup || !keep(k) || len(keys) == n {
				continue
			}
			seen[k] = struct{}{}
			keys = append(keys, k)
		}
		if len(keys) == before {
			fruitless++
		}
	}
	return keys, nil
}

// keyspace lists the databases that INFO keyspace shows as non-empty.
func (s *side) keyspace(ctx context.Context) ([]int, error) {
	info, err := s.client(0).Info(ctx, "keyspace").Result()
	if err != nil {
		return nil, s.wrap("INFO keyspace", err)
	}
	return redisreply.KeyspaceDBs(info), nil
}

// atLeast7 reports a known version 7.0 or newer.
func atLeast7(version string) bool {
	major, _, _ := strings.Cut(version, ".")
	n, err := strconv.Atoi(major)
	return err == nil && n >= 7
}

// sortedUnion merges database lists.
func sortedUnion(lists ...[]int) []int {
	set := map[int]bool{}
	for _, l := range lists {
		for _, db := range l {
			set[db] = true
		}
	}
	out := make([]int, 0, len(set))
	for db := range set {
		out = append(out, db)
	}
	sort.Ints(out)
	return out
}
