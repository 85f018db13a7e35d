package main

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/replicant/replicant/forwarder"
)

// Target kinds (--target-kind).
const (
	kindAuto       = "auto"
	kindStandalone = "standalone"
	kindCluster    = "cluster"
	kindTwemproxy  = "twemproxy"
)

// targetKind connects the writers of one kind of target.
type targetKind struct {
	snapshot func(ctx context.Context, s *syncer) (forwarder.SnapshotWriter, error)
	stream   func(ctx context.Context, s *syncer) (forwarder.StreamWriter, error)
}

// targetKinds holds every kind but auto; the files of other kinds add
// theirs in init.
var targetKinds = map[string]targetKind{
	kindStandalone: {
		snapshot: func(ctx context.Context, s *syncer) (forwarder.SnapshotWriter, error) {
			return forwarder.Dial(ctx, s.dstCfg)
		},
		stream: func(ctx context.Context, s *syncer) (forwarder.StreamWriter, error) {
			return forwarder.DialTxn(ctx, s.dstCfg, s.opts.CheckpointKey)
		},
	},
}

// resolveTargetKind turns --target-kind and the target URL into a kind.
func resolveTargetKind(flag string, dst endpoint) (string, error) {
	kind := strings.ToLower(flag)
	switch {
	case kind == "" || kind == kindAuto:
		if dst.Cluster {
			return kindCluster, nil
		}
		return kindStandalone, nil
	case dst.Cluster && kind != kindCluster:
		return "", fmt.Errorf("--target-kind %s does not fit a redis+cluster:// target", kind)
	}
	if _, ok := targetKinds[kind]; !ok {
		return "", fmt.Errorf("--target-kind %q: want one of %s", flag, strings.Join(knownKinds(), ", "))
	}
	return kind, nil
}

func knownKinds() []string {
	names := []string{kindAuto}
	for k := range targetKinds {
		names = append(names, k)
	}
	sort.Strings(names[1:])
	return names
}

// dialSnapshot connects the writer of a full sync's keys to the target.
func (s *syncer) dialSnapshot(ctx context.Context) (forwarder.SnapshotWriter, error) {
	return targetKinds[s.targetKind].snapshot(ctx, s)
}

// dialStream connects the writer of the live stream to the target and
// reads its checkpoint.
func (s *syncer) dialStream(ctx context.Context) (forwarder.StreamWriter, error) {
	return targetKinds[s.targetKind].stream(ctx, s)
}
