package test

import (
	"context"
	"fmt"
	"math/rand"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/replicant/replicant/test/redistest"
)

// Fault-injection tests: each runs live writes during the fault and ends
// with a key-by-key comparison; for faults of the source link and of
// replicant itself, the source's INFO proves that no full sync happened.

// faultMargin is the --expire-margin of the fault tests. A fault holds the
// stream back for seconds; a key the target expires by its own clock in
// that time would miss a write that extended it on the source just before
// (see the README on --expire-margin), so the margin covers the fault.
const faultMargin = 30 * time.Second

var marginArgs = []string{"--expire-margin", faultMargin.String()}

// infoInt reads one integer field of INFO.
func infoInt(t *testing.T, s *redistest.Server, field string) int64 {
	t.Helper()
	info, err := s.Client.Info(context.Background(), "everything").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatalf("INFO %s: %q", field, v)
			}
			return n
		}
	}
	t.Fatalf("INFO has no %s", field)
	return 0
}

// load runs writes of every kind on src until stop is called, plus counters
// (INCR, LPUSH, APPEND) whose final values show each write applied exactly
// once.
type load struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	err    error
}

func startLoad(t *testing.T, src *redistest.Server, seed int64) *load {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	l := &load{cancel: cancel}
	l.wg.Add(2)
	go func() {
		defer l.wg.Done()
		_, err := redistest.LiveWrites(ctx, src, redistest.LiveOptions{Seed: seed, DBs: 2})
		l.setErr(err)
	}()
	go func() {
		defer l.wg.Done()
		c := src.ClientDB(1)
		for i := 0; ctx.Err() == nil; i++ {
			p := c.Pipeline()
			p.Incr(ctx, "once:counter")
			p.LPush(ctx, "once:list", i)
			p.Append(ctx, "once:string", strconv.Itoa(i)+",")
			if _, err := p.Exec(ctx); err != nil && ctx.Err() == nil {
				l.setErr(err)
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	t.Cleanup(l.stop)
	return l
}

func (l *load) setErr(err error) {
	if err == nil || strings.Contains(err.Error(), "context canceled") {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil {
		l.err = err
	}
}

// stop ends the writes and returns the first error they met.
func (l *load) stop() {
	l.cancel()
	l.wg.Wait()
}

func (l *load) check(t *testing.T) {
	t.Helper()
	l.stop()
	if l.err != nil {
		t.Fatalf("live writes: %v", l.err)
	}
}

// syncPair starts a source filled with data, an empty target and replicant
// between them, and waits until it streams.
func syncPair(t *testing.T, srcArgs, dstArgs []string, extra ...string) (src, dst *redistest.Server, r *replicant) {
	t.Helper()
	// A backlog large enough for the seconds a fault lasts, as replicant's
	// start-up check advises.
	src = startServer(t, redistest.Options{Args: append([]string{"--repl-diskless-sync-delay", "0",
		"--repl-backlog-size", "64mb"}, srcArgs...)})
	dst = startServer(t, redistest.Options{Args: dstArgs})
	if _, err := redistest.Fill(context.Background(), src, redistest.FillOptions{Seed: 11, DBs: 2, KeysPerType: 10}); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"sync", "--source", url(src), "--target", url(dst), "--retry-max", "1s",
		"--log-format", "json", "--status-interval", "1s"}, append(marginArgs, extra...)...)
	r = startReplicant(t, args...)
	r.waitOutput(t, `"message":"streaming"`, 30*time.Second)
	return src, dst, r
}

func assertNoFullResync(t *testing.T, src *redistest.Server, wantFull int64) {
	t.Helper()
	if full := infoInt(t, src, "sync_full"); full != wantFull {
		t.Fatalf("source sync_full = %d, want %d: a full sync happened", full, wantFull)
	}
	if ok := infoInt(t, src, "sync_partial_ok"); ok < 1 {
		t.Fatalf("source sync_partial_ok = %d: no partial resync", ok)
	}
}

func TestSourceLinkKilledMidStream(t *testing.T) {
	src, dst, r := syncPair(t, nil, nil)
	l := startLoad(t, src, 21)
	for i := 0; i < 3; i++ {
		time.Sleep(700 * time.Millisecond)
		if err := src.Client.Do(context.Background(), "CLIENT", "KILL", "TYPE", "replica").Err(); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(time.Second)
	l.check(t)
	assertEqualShifted(t, src, dst, 30*time.Second, faultMargin)
	assertNoFullResync(t, src, 1)
	if code := r.stop(t); code != 0 {
		t.Fatalf("exit status %d", code)
	}
	assertEqualAfterStop(t, src, dst, faultMargin)
}

func TestSourceLinkKilledMidSnapshot(t *testing.T) {
	src := startServer(t, redistest.Options{Args: []string{"--repl-diskless-sync-delay", "0"}})
	dst := startServer(t, redistest.Options{})
	ctx := context.Background()
	// 200,000 keys of 128 random bytes: an RDB of about 30 MB that does
	// not compress, larger than what the socket buffers between the two
	// can hold, so that killing the link cuts the snapshot for sure.
	fillRandom(t, src, 200000, 128)
	// A window of 8 unanswered commands makes the restore slow enough to
	// cut in the middle.
	r := startReplicant(t, "sync", "--source", url(src), "--target", url(dst), "--window", "8",
		"--snapshot-commands", "restore", "--log-format", "json", "--retry-max", "1s", "--expire-margin", "30s")
	r.waitOutput(t, "receiving snapshot", 20*time.Second)
	time.Sleep(300 * time.Millisecond)
	if err := src.Client.Do(ctx, "CLIENT", "KILL", "TYPE", "replica").Err(); err != nil {
		t.Fatal(err)
	}
	r.waitOutput(t, "source link lost", 20*time.Second)
	l := startLoad(t, src, 22)
	time.Sleep(time.Second)
	l.check(t)
	assertEqualShifted(t, src, dst, 90*time.Second, faultMargin)
	if full := infoInt(t, src, "sync_full"); full != 2 {
		t.Fatalf("sync_full = %d, want 2 (the cut snapshot and its retry)", full)
	}
	if code := r.stop(t); code != 0 {
		t.Fatalf("exit status %d", code)
	}
	assertEqualAfterStop(t, src, dst, faultMargin)
}

// TestSourceLinkKilledMidDiskSnapshot: as TestSourceLinkKilledMidSnapshot,
// with a disk-based snapshot ("$<length>" payload). The link cut before the
// declared length arrived is a lost link, retried with a new full sync, not
// a corrupt RDB.
func TestSourceLinkKilledMidDiskSnapshot(t *testing.T) {
	src := startServer(t, redistest.Options{Args: []string{"--repl-diskless-sync", "no"}})
	dst := startServer(t, redistest.Options{})
	ctx := context.Background()
	fillRandom(t, src, 200000, 128) // about 30 MB, more than the socket buffers hold
	r := startReplicant(t, "sync", "--source", url(src), "--target", url(dst), "--window", "8",
		"--snapshot-commands", "restore", "--log-format", "json", "--retry-max", "1s", "--expire-margin", "30s")
	r.waitOutput(t, `"diskless":false`, 30*time.Second)
	time.Sleep(300 * time.Millisecond)
	if err := src.Client.Do(ctx, "CLIENT", "KILL", "TYPE", "slave").Err(); err != nil {
		t.Fatal(err)
	}
	r.waitOutput(t, "source link lost", 20*time.Second)
	if strings.Contains(r.out.String(), "corrupt") {
		t.Fatalf("the cut link was taken for a corrupt RDB:\n%s", tail(r.out.String(), 10))
	}
	l := startLoad(t, src, 26)
	time.Sleep(time.Second)
	l.check(t)
	assertEqualShifted(t, src, dst, 90*time.Second, faultMargin)
	if full := infoInt(t, src, "sync_full"); full != 2 {
		t.Fatalf("sync_full = %d, want 2 (the cut snapshot and its retry)", full)
	}
	if code := r.stop(t); code != 0 {
		t.Fatalf("exit status %d", code)
	}
	assertEqualAfterStop(t, src, dst, faultMargin)
}

func TestSourceRestarted(t *testing.T) {
	// With a save point, the source saves its dataset and replication id
	// when it shuts down, and restarts with them.
	src, dst, r := syncPair(t, []string{"--save", "3600 1"}, nil)
	ctx := context.Background()
	l := startLoad(t, src, 23)
	time.Sleep(time.Second)
	l.check(t)
	assertEqualShifted(t, src, dst, 30*time.Second, faultMargin)
	if err := src.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	r.waitOutput(t, "partial resync accepted", 30*time.Second)
	l = startLoad(t, src, 24)
	time.Sleep(time.Second)
	l.check(t)
	assertEqualShifted(t, src, dst, 30*time.Second, faultMargin)
	if full := infoInt(t, src, "sync_full"); full != 0 {
		t.Fatalf("restarted source did %d full syncs", full)
	}
	if ok := infoInt(t, src, "sync_partial_ok"); ok != 1 {
		t.Fatalf("restarted source sync_partial_ok = %d, want 1", ok)
	}
	if code := r.stop(t); code != 0 {
		t.Fatalf("exit status %d", code)
	}
	assertEqualAfterStop(t, src, dst, faultMargin)
}

func TestFollowPromotedReplica(t *testing.T) {
	ctx := context.Background()
	master := startServer(t, redistest.Options{Args: []string{"--repl-diskless-sync-delay", "0", "--repl-backlog-size", "64mb"}})
	replica := startServer(t, redistest.Options{Args: []string{"--repl-backlog-size", "64mb"}})
	dst := startServer(t, redistest.Options{})
	if _, err := redistest.Fill(ctx, master, redistest.FillOptions{Seed: 12, DBs: 2, KeysPerType: 10}); err != nil {
		t.Fatal(err)
	}
	if err := replica.ReplicaOf(ctx, master); err != nil {
		t.Fatal(err)
	}
	r := startReplicant(t, "sync", "--source", fmt.Sprintf("redis://%s,%s", master.Addr, replica.Addr),
		"--target", url(dst), "--retry-max", "500ms", "--log-format", "json", "--expire-margin", "30s")
	r.waitOutput(t, `"message":"streaming"`, 30*time.Second)
	l := startLoad(t, master, 25)
	time.Sleep(time.Second)
	l.check(t)
	if err := redistest.WaitInSync(ctx, master, replica); err != nil {
		t.Fatal(err)
	}
	assertEqualShifted(t, master, dst, 30*time.Second, faultMargin)
	// Failover: the master dies, its replica is promoted.
	if err := master.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := replica.Client.Do(ctx, "REPLICAOF", "NO", "ONE").Err(); err != nil {
		t.Fatal(err)
	}
	r.waitOutput(t, "partial resync accepted", 30*time.Second)
	l = startLoad(t, replica, 26)
	time.Sleep(time.Second)
	l.check(t)
	assertEqualShifted(t, replica, dst, 30*time.Second, faultMargin)
	if full := infoInt(t, replica, "sync_full"); full != 0 {
		t.Fatalf("promoted replica did %d full syncs", full)
	}
	if ok := infoInt(t, replica, "sync_partial_ok"); ok != 1 {
		t.Fatalf("promoted replica sync_partial_ok = %d, want 1", ok)
	}
	// The heartbeat follows the link to the promoted replica.
	waitCondition(t, 5*time.Second, func() (bool, string) {
		ms, err := replica.Client.Get(ctx, heartbeatKey).Int64()
		age := time.Since(time.UnixMilli(ms))
		return err == nil && age < 1500*time.Millisecond, fmt.Sprintf("heartbeat on the promoted replica %v old (%v)", age, err)
	})
	if code := r.stop(t); code != 0 {
		t.Fatalf("exit status %d", code)
	}
	assertEqualAfterStop(t, replica, dst, faultMargin)
}

func TestReplicantKilledAndRestarted(t *testing.T) {
	state := t.TempDir()
	src, dst, r := syncPair(t, nil, nil, "--state-dir", state)
	l := startLoad(t, src, 27)
	time.Sleep(time.Second)
	r.cmd.Process.Kill() // SIGKILL
	r.wait(t, 10*time.Second)
	time.Sleep(time.Second) // writes go on while replicant is down
	r2 := startReplicant(t, "sync", "--source", url(src), "--target", url(dst), "--state-dir", state, "--log-format", "json", "--expire-margin", "30s")
	r2.waitOutput(t, "partial resync accepted", 30*time.Second)
	time.Sleep(time.Second)
	l.check(t)
	assertEqualShifted(t, src, dst, 30*time.Second, faultMargin)
	assertNoFullResync(t, src, 1)
	if code := r2.stop(t); code != 0 {
		t.Fatalf("exit status %d", code)
	}
	assertEqualAfterStop(t, src, dst, faultMargin)
}

func TestTargetRestartedMidStream(t *testing.T) {
	src, dst, r := syncPair(t, nil, []string{"--appendonly", "yes", "--appendfsync", "always"})
	l := startLoad(t, src, 28)
	time.Sleep(time.Second)
	if err := dst.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	l.check(t)
	assertEqualShifted(t, src, dst, 30*time.Second, faultMargin)
	if full := infoInt(t, src, "sync_full"); full != 1 {
		t.Fatalf("sync_full = %d: the target's restart caused a full sync", full)
	}
	if code := r.stop(t); code != 0 {
		t.Fatalf("exit status %d", code)
	}
	assertEqualAfterStop(t, src, dst, faultMargin)
}

func TestTargetPaused(t *testing.T) {
	src, dst, r := syncPair(t, nil, nil)
	l := startLoad(t, src, 29)
	time.Sleep(500 * time.Millisecond)
	if err := dst.Client.Do(context.Background(), "DEBUG", "SLEEP", 5).Err(); err != nil {
		t.Fatal(err)
	}
	l.check(t)
	assertEqualShifted(t, src, dst, 30*time.Second, faultMargin)
	if full := infoInt(t, src, "sync_full"); full != 1 {
		t.Fatalf("sync_full = %d", full)
	}
	if code := r.stop(t); code != 0 {
		t.Fatalf("exit status %d", code)
	}
	assertEqualAfterStop(t, src, dst, faultMargin)
}

// TestSmallReplicaBufferWhileTargetPaused: a source that drops a replica
// holding 1 MB of unread stream must not drop replicant while the target
// sleeps: replicant reads on into its spool.
func TestSmallReplicaBufferWhileTargetPaused(t *testing.T) {
	src, dst, r := syncPair(t, []string{"--client-output-buffer-limit", "replica 1mb 1mb 0"}, nil)
	ctx := context.Background()
	l := startLoad(t, src, 30)
	go dst.Client.Do(ctx, "DEBUG", "SLEEP", 4)
	// 8 MB of writes while the target sleeps.
	big := strings.Repeat("x", 64<<10)
	for i := 0; i < 128; i++ {
		if err := src.Client.Set(ctx, "big:"+strconv.Itoa(i), big, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	l.check(t)
	assertEqualShifted(t, src, dst, 60*time.Second, faultMargin)
	if full := infoInt(t, src, "sync_full"); full != 1 {
		t.Fatalf("sync_full = %d: the source dropped replicant", full)
	}
	if strings.Contains(src.LogTail(200), "output buffer limits") {
		t.Fatalf("the source closed replicant's link for its output buffer:\n%s", src.LogTail(20))
	}
	if code := r.stop(t); code != 0 {
		t.Fatalf("exit status %d", code)
	}
	assertEqualAfterStop(t, src, dst, faultMargin)
}

// TestExactlyOnceAcrossOutageAndCrash: counters written during a target
// restart and a SIGKILL of replicant end equal on both sides (the
// comparison checks INCR's counter, LPUSH's list and APPEND's string).
func TestExactlyOnceAcrossOutageAndCrash(t *testing.T) {
	state := t.TempDir()
	src, dst, r := syncPair(t, nil, []string{"--appendonly", "yes", "--appendfsync", "always"}, "--state-dir", state)
	l := startLoad(t, src, 31)
	time.Sleep(500 * time.Millisecond)
	if err := dst.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	r.cmd.Process.Kill()
	r.wait(t, 10*time.Second)
	r2 := startReplicant(t, "sync", "--source", url(src), "--target", url(dst), "--state-dir", state, "--log-format", "json", "--expire-margin", "30s")
	time.Sleep(time.Second)
	l.check(t)
	assertEqualShifted(t, src, dst, 30*time.Second, faultMargin)
	assertNoFullResync(t, src, 1)
	n, err := src.ClientDB(1).Get(context.Background(), "once:counter").Int64()
	if err != nil || n < 100 {
		t.Fatalf("counter %d, %v: too few writes to prove anything", n, err)
	}
	if code := r2.stop(t); code != 0 {
		t.Fatalf("exit status %d", code)
	}
	assertEqualAfterStop(t, src, dst, faultMargin)
}

// fillRandom writes n string keys of size random bytes each.
func fillRandom(t *testing.T, s *redistest.Server, n, size int) {
	t.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewSource(1))
	val := make([]byte, size)
	p := s.Client.Pipeline()
	for i := range n {
		rng.Read(val)
		p.Set(ctx, "big:"+strconv.Itoa(i), string(val), 0)
		if p.Len() == 1000 || i == n-1 {
			if _, err := p.Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
}
