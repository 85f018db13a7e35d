package replicate

import (
	"context"

	"github.com/replicant/replicant/forwarder"
)

func init() {
	targetKinds[KindCluster] = targetKind{
		snapshot: func(ctx context.Context, s *replica) (forwarder.SnapshotWriter, error) {
			w, err := forwarder.DialClusterSnapshot(ctx, s.clusterConfig())
			if err != nil {
				return nil, err
			}
			return db0Only{w, forwarder.ErrClusterDB}, nil
		},
		stream: func(ctx context.Context, s *replica) (forwarder.StreamWriter, error) {
			return forwarder.DialClusterStream(ctx, s.clusterConfig())
		},
	}
}

// clusterConfig describes the cluster target: its seeds, the connection
// settings and the key positions of the source's commands.
func (s *replica) clusterConfig() forwarder.ClusterConfig {
	return forwarder.ClusterConfig{
		Config: s.dstCfg, Seeds: s.dstAddrs, CheckpointKey: s.opts.CheckpointKey,
		KeyIndexes: s.commandKeyIndexes,
	}
}
