package redistest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestCluster starts 3 masters with a replica each, compares a standalone
// server holding the same keys with it, then reshards and fails over and
// compares again.
func TestCluster(t *testing.T) {
	ctx := testCtx(t, 3*time.Minute)
	cl, err := StartCluster(ctx, 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cl.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	src := start(t, Options{})
	masters, err := cl.Masters(ctx)
	if err != nil || len(masters) != 3 {
		t.Fatalf("Masters: %d, %v", len(masters), err)
	}
	for _, k := range []string{"", "a", "foo", "{user1000}.following", "x{}y", "{}{a}", "héllo\x00"} {
		want, err := cl.Client.ClusterKeySlot(ctx, k).Result()
		if err != nil || int64(KeySlot(k)) != want {
			t.Errorf("KeySlot(%q) = %d, CLUSTER KEYSLOT %d (%v)", k, KeySlot(k), want, err)
		}
	}
	writeBoth(t, ctx, src, cl, 300)
	diffs, err := CompareCluster(ctx, src, cl, CompareOptions{Digest: true})
	noDiffs(t, diffs, err)

	// A difference on the cluster is found.
	if err := cl.Client.Set(ctx, "k:7", "changed", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := cl.Client.Set(ctx, "only-on-cluster", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	diffs, err = CompareCluster(ctx, src, cl, CompareOptions{})
	if err != nil || len(diffs) != 2 || !strings.Contains(diffs[0].What+diffs[1].What, "extra on target") {
		t.Fatalf("CompareCluster after two changes: %v, %v", diffs, err)
	}
	cl.Client.Del(ctx, "only-on-cluster")
	cl.Client.Set(ctx, "k:7", "v7", 0)

	if err := cl.Reshard(ctx, 100, masters[0], masters[1]); err != nil {
		t.Fatal(err)
	}
	replicas, err := cl.ReplicasOf(ctx, masters[2])
	if err != nil || len(replicas) != 1 {
		t.Fatalf("ReplicasOf: %v, %v", replicas, err)
	}
	if err := cl.Failover(ctx, replicas[0]); err != nil {
		t.Fatal(err)
	}
	after, err := cl.Masters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range after {
		if m == masters[2] {
			t.Errorf("%s still serves slots after the failover", m.Addr)
		}
	}
	diffs, err = CompareCluster(ctx, src, cl, CompareOptions{Digest: true})
	noDiffs(t, diffs, err)
}

// writeBoth writes the same n keys of several types to src and cl.
func writeBoth(t *testing.T, ctx context.Context, src *Server, cl *Cluster, n int) {
	t.Helper()
	for i := range n {
		k := fmt.Sprintf("k:%d", i)
		for _, args := range [][]any{
			{"SET", k, fmt.Sprintf("v%d", i)},
			{"RPUSH", "l:" + k, "a", i},
			{"HSET", "h:" + k, "f", i},
			{"ZADD", "z:" + k, i, "m"},
		} {
			if err := src.Client.Do(ctx, args...).Err(); err != nil {
				t.Fatal(err)
			}
			if err := cl.Client.Do(ctx, args...).Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestKeySlotTags checks hash tags without a server.
func TestKeySlotTags(t *testing.T) {
	if KeySlot("{user}a") != KeySlot("{user}b") || KeySlot("user") != KeySlot("{user}b") {
		t.Error("keys with the tag {user} differ in slot")
	}
	if KeySlot("123456789") != 12739 { // CRC16/XMODEM check value 0x31C3 & 16383
		t.Errorf("KeySlot(123456789) = %d", KeySlot("123456789"))
	}
}
