package replicate

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/replicant/replicant/forwarder"
)

// target is where a sync writes: the kind of target, its addresses and
// connection settings, and what its writers need of the rest of the sync.
// It dials the writers (target*.go) and is the one place that reaches the
// target with go-redis, for replicant's own keys, version, scans and
// sweeps (interlock.go, sweep.go, snapshot_plan.go).
type target struct {
	kind  string           // KindStandalone, KindCluster, KindTwemproxy, kindPool
	cfg   forwarder.Config // connection settings; Addr: the server, a cluster's first seed, a pool's first server
	addrs []string         // the server, a cluster's seeds, or a pool's servers
	pool  *poolTarget      // the pool of a kindPool target
	log   zerolog.Logger

	checkpointKey   string
	twemproxyConfig string // nutcracker.yml of a twemproxy target
	twemproxyPool   string // its pool, by name
	connectTimeout  time.Duration
	// commandKeys and commandKeyIndexes give a command's keys and their
	// positions, from the source's key specs once loaded.
	commandKeys       func(args [][]byte) ([][]byte, bool)
	commandKeyIndexes func(args [][]byte) ([]int, bool)
}

// targetWriters connects the writers of one kind of target.
type targetWriters struct {
	snapshot func(ctx context.Context, t *target) (forwarder.SnapshotWriter, error)
	stream   func(ctx context.Context, t *target) (forwarder.StreamWriter, error)
}

// writersOf holds the writers of every kind but auto; the files of other
// kinds add theirs in init.
var writersOf = map[string]targetWriters{
	KindStandalone: {
		snapshot: func(ctx context.Context, t *target) (forwarder.SnapshotWriter, error) {
			return forwarder.Dial(ctx, t.cfg)
		},
		stream: func(ctx context.Context, t *target) (forwarder.StreamWriter, error) {
			return forwarder.DialTxn(ctx, t.cfg, t.checkpointKey)
		},
	},
}

// db0Only makes a key of a database other than 0, which a target with db
// 0 only refuses with the error wrapping its sentinel, a fatal error that
// says how to map it: retrying cannot mend it.
type db0Only struct {
	forwarder.SnapshotWriter
	sentinel error
}

func (c db0Only) Restore(db int, key []byte, expireAtMs int64, payload []byte) error {
	return c.hint(c.SnapshotWriter.Restore(db, key, expireAtMs, payload), db)
}

func (c db0Only) SetString(db int, key, value []byte) error {
	return c.hint(c.SnapshotWriter.SetString(db, key, value), db)
}

func (c db0Only) Rewrite(db int, args [][]byte, first bool) error {
	return c.hint(c.SnapshotWriter.Rewrite(db, args, first), db)
}

func (c db0Only) hint(err error, db int) error {
	if errors.Is(err, c.sentinel) {
		return fatalError{fmt.Errorf("%w: the source has keys in db %d; map it with --db-map %d=0:<prefix> (or leave it out with --skip-db %d)", err, db, db, db)}
	}
	return err
}

// resolveTargetKind turns --target-kind and the target URL into a kind.
func resolveTargetKind(flag string, dst Endpoint) (string, error) {
	kind := strings.ToLower(flag)
	if kind == "proxy" { // verify's old word for it
		kind = KindTwemproxy
	}
	switch {
	case kind == "" || kind == KindAuto:
		if dst.Cluster {
			return KindCluster, nil
		}
		return KindStandalone, nil
	case dst.Cluster && kind != KindCluster:
		return "", fmt.Errorf("--target-kind %s does not fit a redis+cluster:// target", kind)
	}
	if _, ok := writersOf[kind]; !ok || kind == kindPool {
		return "", fmt.Errorf("--target-kind %q: want one of %s", flag, strings.Join(knownKinds(), ", "))
	}
	return kind, nil
}

func knownKinds() []string {
	names := []string{KindAuto}
	for k := range writersOf {
		if k == kindPool {
			continue // twemproxy with a config and no target address
		}
		names = append(names, k)
	}
	sort.Strings(names[1:])
	return names
}

// dialSnapshot connects the writer of a full sync's keys to the target.
func (t *target) dialSnapshot(ctx context.Context) (forwarder.SnapshotWriter, error) {
	return writersOf[t.kind].snapshot(ctx, t)
}

// dialStream connects the writer of the live stream to the target and
// reads its checkpoint.
func (t *target) dialStream(ctx context.Context) (forwarder.StreamWriter, error) {
	return writersOf[t.kind].stream(ctx, t)
}
