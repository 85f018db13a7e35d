package replicate

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/replicant/replicant/forwarder"
)

// targetKind connects the writers of one kind of target.
type targetKind struct {
	snapshot func(ctx context.Context, s *replica) (forwarder.SnapshotWriter, error)
	stream   func(ctx context.Context, s *replica) (forwarder.StreamWriter, error)
}

// targetKinds holds every kind but auto; the files of other kinds add
// theirs in init.
var targetKinds = map[string]targetKind{
	KindStandalone: {
		snapshot: func(ctx context.Context, s *replica) (forwarder.SnapshotWriter, error) {
			return forwarder.Dial(ctx, s.dstCfg)
		},
		stream: func(ctx context.Context, s *replica) (forwarder.StreamWriter, error) {
			return forwarder.DialTxn(ctx, s.dstCfg, s.opts.CheckpointKey)
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
	if _, ok := targetKinds[kind]; !ok || kind == kindPool {
		return "", fmt.Errorf("--target-kind %q: want one of %s", flag, strings.Join(knownKinds(), ", "))
	}
	return kind, nil
}

func knownKinds() []string {
	names := []string{KindAuto}
	for k := range targetKinds {
		if k == kindPool {
			continue // twemproxy with a config and no target address
		}
		names = append(names, k)
	}
	sort.Strings(names[1:])
	return names
}

// dialSnapshot connects the writer of a full sync's keys to the target.
func (s *replica) dialSnapshot(ctx context.Context) (forwarder.SnapshotWriter, error) {
	return targetKinds[s.targetKind].snapshot(ctx, s)
}

// dialStream connects the writer of the live stream to the target and
// reads its checkpoint.
func (s *replica) dialStream(ctx context.Context) (forwarder.StreamWriter, error) {
	return targetKinds[s.targetKind].stream(ctx, s)
}
