package main

import (
	"context"

	"github.com/replicant/replicant/forwarder"
)

// dialSnapshot connects the writer of a full sync's keys to the target.
func (s *syncer) dialSnapshot(ctx context.Context) (forwarder.SnapshotWriter, error) {
	return forwarder.Dial(ctx, s.dstCfg)
}

// dialStream connects the writer of the live stream to the target and
// reads its checkpoint.
func (s *syncer) dialStream(ctx context.Context) (forwarder.StreamWriter, error) {
	return forwarder.DialTxn(ctx, s.dstCfg, s.opts.CheckpointKey)
}
