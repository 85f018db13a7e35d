package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/replicant/replicant/forwarder"
)

func init() {
	targetKinds[kindCluster] = targetKind{
		snapshot: func(ctx context.Context, s *syncer) (forwarder.SnapshotWriter, error) {
			w, err := forwarder.DialClusterSnapshot(ctx, s.clusterConfig())
			if err != nil {
				return nil, err
			}
			return clusterDBCheck{w}, nil
		},
		stream: func(ctx context.Context, s *syncer) (forwarder.StreamWriter, error) {
			return forwarder.DialClusterStream(ctx, s.clusterConfig())
		},
	}
}

// clusterConfig describes the cluster target: its seeds, the connection
// settings and the key positions of the source's commands.
func (s *syncer) clusterConfig() forwarder.ClusterConfig {
	return forwarder.ClusterConfig{
		Config: s.dstCfg, Seeds: s.dstAddrs, CheckpointKey: s.opts.CheckpointKey,
		KeyIndexes: s.commandKeyIndexes,
	}
}

// clusterDBCheck makes a key of a database other than 0 a fatal error
// that says how to map it: retrying cannot mend it.
type clusterDBCheck struct{ forwarder.SnapshotWriter }

func (c clusterDBCheck) Restore(db int, key []byte, expireAtMs int64, payload []byte) error {
	return dbHint(c.SnapshotWriter.Restore(db, key, expireAtMs, payload), db)
}

func (c clusterDBCheck) SetString(db int, key, value []byte) error {
	return dbHint(c.SnapshotWriter.SetString(db, key, value), db)
}

func dbHint(err error, db int) error {
	if errors.Is(err, forwarder.ErrClusterDB) {
		return fatalError{fmt.Errorf("%w: the source has keys in db %d; map it with --db-map %d=0:<prefix> (or leave it out with --skip-db %d)", err, db, db, db)}
	}
	return err
}
