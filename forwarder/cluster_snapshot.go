package forwarder

import (
	"context"
	"errors"
	"fmt"
)

// ClusterConfig describes a Redis Cluster target.
type ClusterConfig struct {
	// Config holds what every connection shares: credentials, TLS,
	// timeouts, window and logger. Its Addr is ignored.
	Config
	// Seeds are nodes to read the slot map from, tried in turn.
	Seeds []string
	// Pool, when set, makes the target a twemproxy pool written straight
	// to its servers: Seeds are then the pool's servers, in the order
	// Pool.Index numbers them, and keys go where Pool places them (no
	// slot map, no redirection).
	Pool PoolRouter
	// CheckpointKey names the stream's checkpoint keys (ClusterStream).
	CheckpointKey string
	// KeyIndexes returns the positions of a command's keys in args, from
	// the source's key specs; ok is false for a command it does not know.
	KeyIndexes func(args [][]byte) (at []int, ok bool)
}

// ErrClusterDB is wrapped by the error of a key in a database other than
// 0: a cluster has database 0 only.
var ErrClusterDB = errors.New("a cluster has database 0 only")

// ErrSlotsMoved says the target's slot map changed while the snapshot was
// written: some keys may have been refused with MOVED, so the snapshot must
// be written again.
var ErrSlotsMoved = errors.New("the cluster target's slots moved during the snapshot (reshard or failover): the full sync starts over")

// ClusterSnapshot writes a snapshot into a Redis Cluster, or a twemproxy
// pool written directly: one pipelined Standalone per master (server),
// each key sent to the master of its slot (the server the pool places it
// on). Plain strings go as SET in a cluster (MSET would span slots), as
// MSET batches per server in a pool.
type ClusterSnapshot struct {
	cfg   ClusterConfig
	slots shardMap
	nodes map[string]*Standalone
}

var _ SnapshotWriter = (*ClusterSnapshot)(nil)

// DialClusterSnapshot reads the slot map and connects to every master.
func DialClusterSnapshot(ctx context.Context, cfg ClusterConfig) (*ClusterSnapshot, error) {
	cfg.Config = cfg.Config.withDefaults()
	if cfg.Pool == nil {
		cfg.StringBatch = 1 // an MSET of keys in different slots is refused
	}
	m, err := loadShardMap(ctx, cfg)
	if err != nil {
		return nil, err
	}
	cs := &ClusterSnapshot{cfg: cfg, slots: m, nodes: map[string]*Standalone{}}
	for _, addr := range m.masterAddrs() {
		c := cfg.Config
		c.Addr = addr
		f, err := Dial(ctx, c)
		if err != nil {
			cs.Close()
			return nil, err
		}
		cs.nodes[addr] = f
	}
	return cs, nil
}

func (cs *ClusterSnapshot) node(db int, key []byte) (*Standalone, error) {
	if db != 0 {
		return nil, fmt.Errorf("forwarder: key %s of db %d: %w", quoteKey(key), db, ErrClusterDB)
	}
	slot := cs.slots.shardOf(key)
	f := cs.nodes[cs.slots.ownerOf(slot)]
	if f == nil {
		return nil, fmt.Errorf("forwarder: cluster target: no master serves slot %d (key %s)", slot, quoteKey(key))
	}
	return f, nil
}

// Restore sends RESTORE to the master of key's slot.
func (cs *ClusterSnapshot) Restore(db int, key []byte, expireAtMs int64, payload []byte) error {
	f, err := cs.node(db, key)
	if err != nil {
		return err
	}
	return f.Restore(0, key, expireAtMs, payload)
}

// SetString sets a plain string on the master of key's slot.
func (cs *ClusterSnapshot) SetString(db int, key, value []byte) error {
	f, err := cs.node(db, key)
	if err != nil {
		return err
	}
	return f.SetString(0, key, value)
}

// Rewrite sends a command rebuilding a key to the master of its slot.
func (cs *ClusterSnapshot) Rewrite(db int, args [][]byte, first bool) error {
	f, err := cs.node(db, args[1])
	if err != nil {
		return err
	}
	return f.Rewrite(0, args, first)
}

// LoadFunction loads the library on every master: functions are per node.
func (cs *ClusterSnapshot) LoadFunction(code []byte) error {
	return cs.each(func(f *Standalone) error { return f.LoadFunction(code) })
}

// LoadScript loads the script on every master.
func (cs *ClusterSnapshot) LoadScript(body []byte) error {
	return cs.each(func(f *Standalone) error { return f.LoadScript(body) })
}

// Flush sends what every master's pipeline holds.
func (cs *ClusterSnapshot) Flush() error {
	return cs.each((*Standalone).Flush)
}

// Drain waits for every master's replies, then checks that the slot map
// is still the one the keys were routed by.
func (cs *ClusterSnapshot) Drain(ctx context.Context) error {
	if err := cs.each(func(f *Standalone) error { return f.Drain(ctx) }); err != nil {
		return err
	}
	now, err := cs.slots.reload(ctx, cs.cfg)
	if err != nil {
		return err
	}
	if !now.sameAs(cs.slots) {
		return ErrSlotsMoved
	}
	return nil
}

// Stats adds up the masters' counters.
func (cs *ClusterSnapshot) Stats() Stats {
	var total Stats
	for _, f := range cs.nodes {
		total = total.add(f.Stats())
	}
	return total
}

// Err returns the first master's sticky error.
func (cs *ClusterSnapshot) Err() error {
	for _, f := range cs.nodes {
		if err := f.Err(); err != nil {
			return err
		}
	}
	return nil
}

// Close closes every connection.
func (cs *ClusterSnapshot) Close() error {
	for _, f := range cs.nodes {
		f.Close()
	}
	return nil
}

func (cs *ClusterSnapshot) each(fn func(*Standalone) error) error {
	for _, addr := range cs.slots.masterAddrs() {
		if f := cs.nodes[addr]; f != nil {
			if err := fn(f); err != nil {
				return err
			}
		}
	}
	return nil
}
