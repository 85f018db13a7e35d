package test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/replicant/replicant/test/redistest"
)

// startCluster starts a Redis Cluster for the test and stops it at cleanup.
func startCluster(t *testing.T, masters, replicas int) *redistest.Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl, err := redistest.StartCluster(ctx, masters, replicas)
	if err != nil {
		t.Fatalf("start cluster: %v", err)
	}
	t.Cleanup(func() { cl.Stop() })
	return cl
}

// isReplicantKey reports replicant's own keys: the checkpoint and heartbeat
// keys and those named after them (per shard, per slot).
func isReplicantKey(key string) bool {
	return strings.HasPrefix(key, checkpointKey) || strings.HasPrefix(key, heartbeatKey)
}

// fillCluster writes keys of every common type, some with TTLs, spread
// over every slot range.
func fillCluster(t *testing.T, c *redis.ClusterClient, prefix string, n int) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		k := fmt.Sprintf("%s:%d", prefix, i)
		var err error
		switch i % 6 {
		case 0:
			err = c.Set(ctx, k, i, 0).Err()
		case 1:
			err = c.Set(ctx, k, strings.Repeat("v", i%200), time.Hour).Err()
		case 2:
			err = c.RPush(ctx, k, "a", i, "c").Err()
		case 3:
			err = c.HSet(ctx, k, "f", i, "g", "x").Err()
		case 4:
			err = c.ZAdd(ctx, k, redis.Z{Score: float64(i), Member: "m"}, redis.Z{Score: -1.5, Member: "n"}).Err()
		case 5:
			err = c.XAdd(ctx, &redis.XAddArgs{Stream: k, Values: []any{"f", i}}).Err()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestClusterSource syncs a 3-master cluster into a standalone target: one
// replica link per master, the shards in INFO, live writes on every master
// (transactions within a slot included), a FLUSHALL on one master that
// must remove that shard's keys only, then key-by-key comparisons.
func TestClusterSource(t *testing.T) {
	cl := startCluster(t, 3, 0)
	dst := startServer(t, redistest.Options{})
	ctx := context.Background()
	fillCluster(t, cl.Client, "snap", 600)
	adminAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	r := startReplicant(t, "sync", "--source", "redis+cluster://"+strings.Join(cl.Addrs(), ","),
		"--target", url(dst), "--log-format", "json", "--state-dir", t.TempDir(), "--admin", adminAddr,
		"--status-interval", "0")
	waitCondition(t, 30*time.Second, func() (bool, string) {
		n := strings.Count(r.out.String(), `"message":"streaming"`)
		return n == 3, fmt.Sprintf("%d shards streaming, want 3", n)
	})
	o := redistest.CompareOptions{Digest: true, SkipKeys: isReplicantKey, SkipFunctions: true}
	waitEqualCluster(t, dst, cl, o)

	adm := redis.NewClient(&redis.Options{Addr: adminAddr, Protocol: 2, DisableIndentity: true, MaxRetries: -1})
	defer adm.Close()
	info, err := adm.Info(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(regexp.MustCompile(`(?m)^# Shard`).FindAllString(info, -1)); n != 3 {
		t.Fatalf("INFO shows %d shards, want 3:\n%s", n, info)
	}

	liveOnCluster(t, cl.Client)
	waitEqualCluster(t, dst, cl, o)

	// FLUSHALL on one master: its shard's keys go from the target, the
	// other shards' stay.
	masters, err := cl.Masters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := dst.Client.DBSize(ctx).Result()
	if err := masters[0].Client.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	waitEqualCluster(t, dst, cl, o)
	after, _ := dst.Client.DBSize(ctx).Result()
	if after == 0 || after >= before {
		t.Fatalf("target keys %d before the FLUSHALL of one master, %d after", before, after)
	}
	if !strings.Contains(r.out.String(), "removed the keys this sync copies") {
		t.Fatal("no sweep was logged for the FLUSHALL of one master")
	}
	if code := r.stop(t); code != 0 {
		t.Fatalf("exit status %d", code)
	}
}

// liveOnCluster writes to every master: counters, lists, hashes,
// expiries, deletes, renames and MULTI/EXEC within one slot.
func liveOnCluster(t *testing.T, c *redis.ClusterClient) {
	t.Helper()
	ctx := context.Background()
	for i := range 300 {
		k := fmt.Sprintf("live:%d", i%50)
		tag := fmt.Sprintf("{t%d}", i%20)
		var err error
		switch i % 7 {
		case 0:
			err = c.Incr(ctx, k+":n").Err()
		case 1:
			err = c.LPush(ctx, k+":l", i).Err()
		case 2:
			err = c.HSet(ctx, k+":h", fmt.Sprint(i), i).Err()
		case 3:
			err = c.Expire(ctx, fmt.Sprintf("snap:%d", i), time.Hour).Err()
		case 4:
			err = c.Del(ctx, fmt.Sprintf("snap:%d", i+1)).Err()
		case 5:
			if err = c.Set(ctx, tag+"a", i, 0).Err(); err == nil {
				err = c.Rename(ctx, tag+"a", tag+"b").Err()
			}
		case 6:
			_, err = c.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Incr(ctx, tag+"tx")
				p.LPush(ctx, tag+"txl", i)
				return nil
			})
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func waitEqualCluster(t *testing.T, standalone *redistest.Server, cl *redistest.Cluster, o redistest.CompareOptions) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	diffs, err := redistest.WaitEqualCluster(ctx, standalone, cl, o, 200*time.Millisecond)
	if len(diffs) > 0 || err != nil {
		t.Fatalf("the standalone server and the cluster differ (%v):\n%v", err, diffs)
	}
}
