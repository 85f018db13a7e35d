package test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/replicant/replicant/test/redistest"
)

// TestClusterTarget syncs a standalone source into a 3-master cluster
// with a replica per master: a full sync of every type, then live writes
// of every kind (multi-key and cross-slot ones, transactions, EVAL,
// functions) while the target reshards slots between masters and fails a
// master over to its replica; then cross-slot writes replicant must split
// or emulate, and replicant killed and started again. After each stage
// the whole dataset is compared key by key, with DEBUG DIGEST.
func TestClusterTarget(t *testing.T) {
	src := startServer(t, redistest.Options{})
	cl := startCluster(t, 3, 1)
	ctx := context.Background()
	if _, err := redistest.Fill(ctx, src, redistest.FillOptions{DBs: 1, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	// LiveWrites gives keys expiries of under two seconds, and a target
	// expires keys by its own clock: with the lag of a loaded 2-core machine
	// running a race-built replicant and six servers, the default 1 s margin
	// would let the target expire keys the source extends (README: Expiry).
	args := []string{"sync", "--source", url(src), "--target", "redis+cluster://" + strings.Join(cl.Addrs(), ","),
		"--log-format", "json", "--state-dir", state, "--status-interval", "0", "--expire-margin", "30s"}
	r := startReplicant(t, args...)
	r.waitOutput(t, `"message":"streaming"`, 60*time.Second)
	o := redistest.CompareOptions{Digest: true, SkipKeys: isReplicantKey, TTLTolerance: 32 * time.Second}
	waitEqualCluster(t, src, cl, o)

	masters, err := cl.Masters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	live := startLive(t, src)
	if err := cl.Reshard(ctx, 400, masters[0], masters[1]); err != nil {
		t.Fatalf("reshard: %v", err)
	}
	replicas, err := cl.ReplicasOf(ctx, masters[2])
	if err != nil || len(replicas) == 0 {
		t.Fatalf("replicas of %s: %v %v", masters[2].Addr, replicas, err)
	}
	if err := cl.Failover(ctx, replicas[0]); err != nil {
		t.Fatalf("failover: %v", err)
	}
	live.stop(t)
	waitEqualCluster(t, src, cl, o)

	crossSlotWrites(t, src.Client)
	waitEqualCluster(t, src, cl, o)

	// Killed and started again: it goes on from the checkpoints, and the
	// counters written meanwhile count once.
	r.cmd.Process.Kill() // SIGKILL
	r.wait(t, 10*time.Second)
	for range 50 {
		if err := src.Client.Incr(ctx, "counter:{a}").Err(); err != nil {
			t.Fatal(err)
		}
		if err := src.Client.Incr(ctx, "counter:b").Err(); err != nil {
			t.Fatal(err)
		}
	}
	r = startReplicant(t, args...)
	waitEqualCluster(t, src, cl, o)
	info, err := src.Client.Info(ctx, "stats").Result()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(info, "sync_full:1\r") {
		t.Fatalf("the restart made a full sync:\n%s", info)
	}
	// replicant verify agrees, through the cluster.
	v := startReplicant(t, "verify", "--source", url(src), "--target", "redis+cluster://"+strings.Join(cl.Addrs(), ","), "--ttl-tolerance", "32s")
	if code := v.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("replicant verify exit status %d:\n%s", code, v.out.String())
	}
	if code := r.stop(t); code != 0 {
		t.Fatalf("exit status %d", code)
	}
}

// crossSlotWrites sends multi-key writes whose keys lie in different
// slots: replicant splits or emulates each.
func crossSlotWrites(t *testing.T, c *redis.Client) {
	t.Helper()
	ctx := context.Background()
	cmds := [][]any{
		{"SADD", "s1", "a", "b", "c"}, {"SADD", "s2", "c", "d"},
		{"SUNIONSTORE", "su", "s1", "s2"}, {"SINTERSTORE", "si", "s1", "s2"}, {"SDIFFSTORE", "sd", "s1", "s2"},
		{"ZADD", "z1", "1", "a", "2", "b"}, {"ZADD", "z2", "5", "b"},
		{"ZUNIONSTORE", "zu", "2", "z1", "z2", "WEIGHTS", "2", "3"}, {"ZINTERSTORE", "zi", "2", "z1", "z2"},
		{"ZRANGESTORE", "zr", "z1", "0", "-1"},
		{"SET", "b1", "abc"}, {"SET", "b2", "xyz"}, {"BITOP", "OR", "bo", "b1", "b2"},
		{"PFADD", "h1", "a", "b"}, {"PFADD", "h2", "c"}, {"PFMERGE", "h3", "h1", "h2"},
		{"MSET", "m1", "1", "m2", "2", "m3", "3"}, {"MSETNX", "n1", "1", "n2", "2"},
		{"DEL", "m1", "m2", "nope"}, {"SET", "r1", "v", "EX", "1000"}, {"RENAME", "r1", "r2"},
		{"COPY", "r2", "r3"}, {"SMOVE", "s1", "s2", "a"}, {"RPUSH", "l1", "1", "2", "3"},
		{"LMOVE", "l1", "l2", "LEFT", "RIGHT"}, {"RPOPLPUSH", "l1", "l2"},
		{"SORT", "l2", "STORE", "l3"}, {"INCR", "counter:{a}"},
	}
	for _, args := range cmds {
		if err := c.Do(ctx, args...).Err(); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
	_, err := c.TxPipelined(ctx, func(p redis.Pipeliner) error { // a transaction across slots
		p.Incr(ctx, "tx:a")
		p.Incr(ctx, "tx:b")
		p.SUnionStore(ctx, "tx:s", "s1", "s2")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// liveLoad runs redistest.LiveWrites on db 0 until stopped.
type liveLoad struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	n      int
	err    error
}

func startLive(t *testing.T, src *redistest.Server) *liveLoad {
	ctx, cancel := context.WithCancel(context.Background())
	l := &liveLoad{cancel: cancel}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		l.n, l.err = redistest.LiveWrites(ctx, src, redistest.LiveOptions{Seed: 9, DBs: 1})
	}()
	t.Cleanup(cancel)
	return l
}

func (l *liveLoad) stop(t *testing.T) {
	t.Helper()
	l.cancel()
	l.wg.Wait()
	if l.err != nil {
		t.Fatalf("live writes: %v", l.err)
	}
	if l.n == 0 {
		t.Fatal("no live writes ran")
	}
	t.Logf("%d live writes", l.n)
}

// TestClusterToCluster syncs a 3-master cluster into another: one replica
// link per source master, each shard's stream applied per slot on the
// target, live writes, and a FLUSHALL on one source master that removes
// only that shard's keys from the target; replicant verify, which reads
// both clusters, must find them equal after each stage.
func TestClusterToCluster(t *testing.T) {
	src := startCluster(t, 3, 0)
	dst := startCluster(t, 3, 0)
	ctx := context.Background()
	fillCluster(t, src.Client, "snap", 600)
	srcURL := "redis+cluster://" + strings.Join(src.Addrs(), ",")
	dstURL := "redis+cluster://" + strings.Join(dst.Addrs(), ",")
	r := startReplicant(t, "sync", "--source", srcURL, "--target", dstURL, "--log-format", "json",
		"--state-dir", t.TempDir(), "--status-interval", "0")
	waitCondition(t, 60*time.Second, func() (bool, string) {
		n := strings.Count(r.out.String(), `"message":"streaming"`)
		return n == 3, "shards streaming: " + strconv.Itoa(n)
	})
	verifyClusters(t, srcURL, dstURL)

	liveOnCluster(t, src.Client)
	verifyClusters(t, srcURL, dstURL)

	masters, err := src.Masters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := masters[1].Client.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	verifyClusters(t, srcURL, dstURL)
	if code := r.stop(t); code != 0 {
		t.Fatalf("exit status %d", code)
	}
}

// verifyClusters runs replicant verify between two clusters until it
// finds them equal, for up to 30 s.
func verifyClusters(t *testing.T, srcURL, dstURL string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		v := startReplicant(t, "verify", "--source", srcURL, "--target", dstURL, "--rounds", "3")
		code := v.wait(t, 60*time.Second)
		if code == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("replicant verify exit status %d:\n%s", code, v.out.String())
		}
		time.Sleep(time.Second)
	}
}

// TestClusterTargetConnectionsKilled: every client connection of each
// target master is killed, six times, under live writes of every kind;
// replicant reconnects each time, reads the replies of what is in flight,
// goes on from the slot checkpoints, and the cluster ends equal to the
// source.
func TestClusterTargetConnectionsKilled(t *testing.T) {
	src := startServer(t, redistest.Options{})
	cl := startCluster(t, 3, 0)
	ctx := context.Background()
	r := startReplicant(t, "sync", "--source", url(src), "--target", "redis+cluster://"+strings.Join(cl.Addrs(), ","),
		"--log-format", "json", "--state-dir", t.TempDir(), "--status-interval", "0", "--expire-margin", "30s")
	r.waitOutput(t, `"message":"streaming"`, 60*time.Second)
	live := startLive(t, src)
	masters, err := cl.Masters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		time.Sleep(700 * time.Millisecond)
		if err := masters[i%3].Client.Do(ctx, "CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes").Err(); err != nil {
			t.Fatal(err)
		}
	}
	live.stop(t)
	waitEqualCluster(t, src, cl, redistest.CompareOptions{Digest: true, SkipKeys: isReplicantKey, TTLTolerance: 32 * time.Second})
	if n := strings.Count(r.out.String(), "applying the stream from its checkpoint"); n < 2 {
		t.Fatalf("replicant went on from its checkpoints %d times: the kills did not reach it", n)
	}
}
