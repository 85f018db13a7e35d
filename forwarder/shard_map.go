package forwarder

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
)

// shardMap places keys on the masters of a sharded target: the hash slots
// of a Redis Cluster (slotMap) or the servers of a twemproxy pool written
// directly (poolMap). A shard is the unit one checkpoint key covers and
// one MULTI group may not leave: a slot of a cluster, a server of a pool.
type shardMap interface {
	shardOf(key []byte) int
	shardCount() int
	ownerOf(shard int) string // "host:port"; "" when no master serves it
	masterAddrs() []string    // each master once, in a stable order
	// keyOn names a key, starting with prefix, that lands on shard.
	keyOn(prefix string, shard int) (string, error)
	// reload reads the placement again; a pool's never changes.
	reload(ctx context.Context, cfg ClusterConfig) (shardMap, error)
	sameAs(o shardMap) bool
}

// PoolRouter names the server of a twemproxy pool that holds a key, as
// nutcracker places it (twemproxy.Router).
type PoolRouter interface {
	Index(key []byte) int // position of the server in ClusterConfig.Seeds
}

// loadShardMap is the pool's placement when cfg names a pool, else the
// cluster's slot map read from the seeds.
func loadShardMap(ctx context.Context, cfg ClusterConfig) (shardMap, error) {
	if cfg.Pool != nil {
		return newPoolMap(cfg.Pool, cfg.Seeds)
	}
	return loadSlotMap(ctx, cfg.Config, cfg.Seeds)
}

func (m *slotMap) shardOf(key []byte) int  { return Slot(key) }
func (m *slotMap) shardCount() int         { return SlotCount }
func (m *slotMap) ownerOf(slot int) string { return m.owner[slot] }
func (m *slotMap) masterAddrs() []string   { return m.masters }
func (m *slotMap) keyOn(prefix string, slot int) (string, error) {
	return prefix + ":{" + SlotTag(slot) + "}", nil
}

func (m *slotMap) reload(ctx context.Context, cfg ClusterConfig) (shardMap, error) {
	return loadSlotMap(ctx, cfg.Config, slices.Concat(m.masters, cfg.Seeds))
}

func (m *slotMap) sameAs(o shardMap) bool {
	om, ok := o.(*slotMap)
	return ok && m.equal(om)
}

// poolMap places keys on the servers of a twemproxy pool by nutcracker's
// own hashing. Keys with a chosen server are found by trying suffixes; the
// names found are kept (a handful: checkpoints and emulation temporaries).
type poolMap struct {
	route   PoolRouter
	servers []string

	mu    sync.Mutex
	named map[poolKeyName]string
}

type poolKeyName struct {
	prefix string
	server int
}

// poolKeySearch bounds the suffixes tried for a key on one server: a
// server of weight w among a total W takes about w/W of the keys, so even
// one of weight 1 in 10,000 is found within it.
const poolKeySearch = 1 << 22

func newPoolMap(route PoolRouter, servers []string) (*poolMap, error) {
	if len(servers) == 0 {
		return nil, fmt.Errorf("forwarder: twemproxy pool: no servers")
	}
	return &poolMap{route: route, servers: servers, named: map[poolKeyName]string{}}, nil
}

func (m *poolMap) shardOf(key []byte) int { return m.route.Index(key) }
func (m *poolMap) shardCount() int        { return len(m.servers) }
func (m *poolMap) masterAddrs() []string  { return m.servers }

func (m *poolMap) ownerOf(server int) string {
	if server < 0 || server >= len(m.servers) {
		return ""
	}
	return m.servers[server]
}

func (m *poolMap) keyOn(prefix string, server int) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id := poolKeyName{prefix, server}
	if k, ok := m.named[id]; ok {
		return k, nil
	}
	buf := []byte(prefix + ":")
	for n := 0; n < poolKeySearch; n++ {
		k := strconv.AppendInt(buf, int64(n), 10)
		if m.route.Index(k) == server {
			m.named[id] = string(k)
			return string(k), nil
		}
	}
	return "", fmt.Errorf("forwarder: twemproxy pool: no key %s:N with N < %d lands on server %s", prefix, poolKeySearch, m.ownerOf(server))
}

func (m *poolMap) reload(context.Context, ClusterConfig) (shardMap, error) { return m, nil }

func (m *poolMap) sameAs(o shardMap) bool { return o == shardMap(m) }
