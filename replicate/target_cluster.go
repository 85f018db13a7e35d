package replicate

import (
	"context"

	"github.com/replicant/replicant/forwarder"
)

func init() {
	writersOf[KindCluster] = targetWriters{
		snapshot: func(ctx context.Context, t *target) (forwarder.SnapshotWriter, error) {
			w, err := forwarder.DialClusterSnapshot(ctx, t.clusterConfig())
			if err != nil {
				return nil, err
			}
			return db0Only{w, forwarder.ErrClusterDB}, nil
		},
		stream: func(ctx context.Context, t *target) (forwarder.StreamWriter, error) {
			return forwarder.DialClusterStream(ctx, t.clusterConfig())
		},
	}
}

// clusterConfig describes the cluster target: its seeds, the connection
// settings and the key positions of the source's commands.
func (t *target) clusterConfig() forwarder.ClusterConfig {
	return forwarder.ClusterConfig{
		Config: t.cfg, Seeds: t.addrs, CheckpointKey: t.checkpointKey,
		KeyIndexes: t.commandKeyIndexes,
	}
}
