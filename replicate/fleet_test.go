package replicate

import (
	"strconv"
	"strings"
	"testing"

	"github.com/replicant/replicant/forwarder"
)

// TestJoinFleetKeysPerShard: a shard of a fleet writes its own checkpoint
// key, and its target's writers use that key, not the fleet's.
func TestJoinFleetKeysPerShard(t *testing.T) {
	s := testReplica(t, Config{CheckpointKey: "ckpt", HeartbeatKey: "hb"})
	s.joinFleet(shardInfo{addrs: []string{"127.0.0.1:7000"}, slots: make([]bool, forwarder.SlotCount), first: 5461})
	if s.opts.CheckpointKey != "ckpt:slot5461" {
		t.Errorf("checkpoint key %q, want ckpt:slot5461", s.opts.CheckpointKey)
	}
	if s.target.checkpointKey != s.opts.CheckpointKey {
		t.Errorf("the target's writers use %q, the shard %q", s.target.checkpointKey, s.opts.CheckpointKey)
	}
	if !strings.HasPrefix(s.opts.HeartbeatKey, "hb{") || forwarder.Slot([]byte(s.opts.HeartbeatKey)) != 5461 {
		t.Errorf("heartbeat key %q does not hash to the shard's first slot", s.opts.HeartbeatKey)
	}
	if s.srcCfg.Addr != "127.0.0.1:7000" {
		t.Errorf("source %q, want the shard's master", s.srcCfg.Addr)
	}
}

// TestSweepKeepsOtherShardsKeys: the sweep of one shard of a fleet (a
// FLUSHALL of its master) leaves every shard's checkpoint, lease and
// heartbeat keys, even those whose names hash into its slots, and removes
// the source's keys of its slots.
func TestSweepKeepsOtherShardsKeys(t *testing.T) {
	s := testReplica(t, Config{CheckpointKey: "replicant:checkpoint", HeartbeatKey: "replicant:heartbeat"})
	slots := make([]bool, forwarder.SlotCount)
	for i := 0; i <= 5460; i++ {
		slots[i] = true
	}
	s.joinFleet(shardInfo{addrs: []string{"127.0.0.1:7000"}, slots: slots, first: 0})
	s.sweepDBs = map[int][]int{0: s.filters.sourceDBsOf(0)}
	for _, key := range []string{"replicant:checkpoint:slot5461", "replicant:checkpoint:slot10923", "replicant:checkpoint:slot5461:lease", "replicant:heartbeat{" + forwarder.SlotTag(5461) + "}"} {
		if slot := forwarder.Slot([]byte(key)); slot <= 5460 && s.owned(0, []byte(key)) {
			t.Errorf("%s (slot %d) would be swept", key, slot)
		}
	}
	var mine string
	for i := 0; mine == ""; i++ {
		if k := "user:" + strconv.Itoa(i); forwarder.Slot([]byte(k)) <= 5460 {
			mine = k
		}
	}
	if !s.owned(0, []byte(mine)) {
		t.Errorf("%s of the shard's slots would not be swept", mine)
	}
}
