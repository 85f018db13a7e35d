package test

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/replicant/replicant/test/redistest"
)

// The interlocks: each refusal ends replicant with exit status 1 and one
// line that says why, and leaves the source and the target as they were.

// leaseKey and cutoverKey are replicant's keys next to its checkpoint on
// the target: the lease naming the process that writes to it, and the
// mark of a target that was cut over.
const (
	leaseKey   = checkpointKey + ":lease"
	cutoverKey = checkpointKey + ":cutover"
)

// fillPlain writes n plain keys of each kind, without expiry, in db 0 and
// db 1, named prefix:<kind>:<i>, so that a dataset's fingerprint is stable.
func fillPlain(t *testing.T, s *redistest.Server, prefix string, n int) {
	t.Helper()
	ctx := context.Background()
	for db := range 2 {
		p := s.ClientDB(db).Pipeline()
		for i := range n {
			k := fmt.Sprintf("%s:%%s:%d", prefix, i)
			p.Set(ctx, fmt.Sprintf(k, "str"), "v"+strconv.Itoa(i), 0)
			p.HSet(ctx, fmt.Sprintf(k, "hash"), "f", i)
			p.RPush(ctx, fmt.Sprintf(k, "list"), i, i+1)
		}
		if _, err := p.Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// fingerprint is every key of every database of s with its DEBUG
// DIGEST-VALUE, sorted; the lease aside, whose value moves with each
// heartbeat of a running replicant (noLease checks it is gone).
func fingerprint(t *testing.T, s *redistest.Server) string {
	t.Helper()
	ctx := context.Background()
	var lines []string
	for db := range 16 {
		c := s.ClientDB(db)
		keys, err := c.Keys(ctx, "*").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			if db == 0 && k == leaseKey {
				continue
			}
			d, err := c.Do(ctx, "DEBUG", "DIGEST-VALUE", k).Slice()
			if err != nil {
				t.Fatal(err)
			}
			lines = append(lines, fmt.Sprintf("db%d %q %v", db, k, d))
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// noLease fails when the lease key is on s: a replicant that stopped left
// it, or one that refused wrote it.
func noLease(t *testing.T, s *redistest.Server) {
	t.Helper()
	if v, err := s.Client.Get(context.Background(), leaseKey).Result(); err == nil {
		t.Fatalf("lease key left on %s: %s", s.Addr, v)
	}
}

// assertUnchanged fails when s's dataset differs from before.
func assertUnchanged(t *testing.T, what string, s *redistest.Server, before string) {
	t.Helper()
	if after := fingerprint(t, s); after != before {
		t.Fatalf("%s changed:\nbefore:\n%s\nafter:\n%s", what, tail(before, 10), tail(after, 10))
	}
}

// refused waits for r to exit and checks the status and that the last
// line of its output holds each of want.
func refused(t *testing.T, r *replicant, want ...string) string {
	t.Helper()
	code := r.wait(t, 30*time.Second)
	out := r.out.String()
	if code != 1 {
		t.Fatalf("exit status %d, want 1:\n%s", code, tail(out, 20))
	}
	last := lastLine(out)
	for _, w := range want {
		if !strings.Contains(last, w) {
			t.Fatalf("last line %q lacks %q:\n%s", last, w, tail(out, 20))
		}
	}
	if strings.Contains(out, "panic") || strings.Contains(out, "goroutine ") {
		t.Fatalf("panic trace in the output:\n%s", out)
	}
	return last
}

// TestRefuseSourceIsTarget: a target that is the source itself, by the
// same address or by another name for it, is refused by the run_id both
// report in INFO server; nothing is written and the source sees no
// replica.
func TestRefuseSourceIsTarget(t *testing.T) {
	s := startServer(t, redistest.Options{})
	fillPlain(t, s, "data", 20)
	before := fingerprint(t, s)
	_, port, _ := net.SplitHostPort(s.Addr)
	for _, target := range []string{url(s), "redis://localhost:" + port} {
		r := startReplicant(t, "sync", "--source", url(s), "--target", target, "--log-format", "json")
		last := refused(t, r, "same server", "run_id")
		t.Logf("--target %s: %s", target, last)
	}
	assertUnchanged(t, "the source (and target)", s, before)
	noLease(t, s)
	if full := infoInt(t, s, "sync_full"); full != 0 {
		t.Fatalf("sync_full = %d: replicant asked the source for its data", full)
	}
}

// TestLeaseRefusesSecondReplicant: while one replicant syncs into a
// target, a second one (from another source) refuses to write to it and
// names the owner; after a SIGKILL of the first, its lease lives on until
// it expires (a process with another state dir is refused) unless the
// same --state-dir is used again (taken over at once); once the lease
// expired, anyone may sync; a clean stop removes it.
func TestLeaseRefusesSecondReplicant(t *testing.T) {
	stateA := t.TempDir()
	src, dst, r := syncPair(t, nil, nil, "--state-dir", stateA, "--lease-ttl", "6s")
	ctx := context.Background()
	if v, err := dst.Client.Get(ctx, leaseKey).Result(); err != nil || !strings.Contains(v, `"pid":`+strconv.Itoa(r.cmd.Process.Pid)) {
		t.Fatalf("lease %q (%v) does not name the running replicant (pid %d)", v, err, r.cmd.Process.Pid)
	}
	other := startServer(t, redistest.Options{})
	fillPlain(t, other, "other", 10)
	otherBefore := fingerprint(t, other)

	r2 := startReplicant(t, "sync", "--source", url(other), "--target", url(dst), "--log-format", "json")
	last := refused(t, r2, "target is owned by another replicant", "heartbeat", "ago", "stop it first, or wait for the lease to expire")
	t.Log(last)
	if !r.running() {
		t.Fatal("the first replicant stopped")
	}
	for db := range 2 {
		if keys, _ := dst.ClientDB(db).Keys(ctx, "other:*").Result(); len(keys) > 0 {
			t.Fatalf("the refused replicant wrote %d keys to db %d of the target", len(keys), db)
		}
	}
	assertUnchanged(t, "the refused replicant's source", other, otherBefore)
	assertEqualShifted(t, src, dst, 30*time.Second, faultMargin)

	// Killed: the lease outlives it.
	r.cmd.Process.Kill()
	r.wait(t, 10*time.Second)
	r3 := startReplicant(t, "sync", "--source", url(src), "--target", url(dst), "--log-format", "json")
	refused(t, r3, "target is owned by another replicant")
	// The same state dir takes over at once.
	r4 := startReplicant(t, "sync", "--source", url(src), "--target", url(dst), "--state-dir", stateA,
		"--lease-ttl", "6s", "--log-format", "json", "--expire-margin", faultMargin.String())
	r4.waitOutput(t, `"message":"streaming"`, 30*time.Second)
	r4.cmd.Process.Kill()
	r4.wait(t, 10*time.Second)
	// Another process once the lease expired.
	waitCondition(t, 10*time.Second, func() (bool, string) {
		n, err := dst.Client.Exists(ctx, leaseKey).Result()
		return err == nil && n == 0, fmt.Sprintf("lease key exists (%d, %v)", n, err)
	})
	r5 := startReplicant(t, "sync", "--source", url(src), "--target", url(dst), "--log-format", "json",
		"--expire-margin", faultMargin.String())
	r5.waitOutput(t, `"message":"streaming"`, 30*time.Second)
	assertEqualShifted(t, src, dst, 30*time.Second, faultMargin)
	if code := r5.stop(t); code != 0 {
		t.Fatalf("exit status %d", code)
	}
	if n, err := dst.Client.Exists(ctx, leaseKey).Result(); err != nil || n != 0 {
		t.Fatalf("lease key left after a clean stop (%d, %v)", n, err)
	}
}

// TestRefuseNonEmptyTarget: a first sync (no checkpoint of replicant on
// the target) into a target holding data is refused, touching neither
// side; with --overwrite it goes ahead.
func TestRefuseNonEmptyTarget(t *testing.T) {
	src := startServer(t, redistest.Options{})
	dst := startServer(t, redistest.Options{})
	ctx := context.Background()
	fillPlain(t, src, "data", 20)
	must(t, src.Client.Set(ctx, "shared", "the source's", 0).Err())
	fillPlain(t, dst, "theirs", 5)
	must(t, dst.Client.Set(ctx, "shared", "the target's own", 0).Err())
	srcBefore, dstBefore := fingerprint(t, src), fingerprint(t, dst)

	args := []string{"sync", "--source", url(src), "--target", url(dst), "--log-format", "json"}
	r := startReplicant(t, args...)
	t.Log(refused(t, r, "target is not empty", "--overwrite"))
	assertUnchanged(t, "the target", dst, dstBefore)
	assertUnchanged(t, "the source", src, srcBefore)
	noLease(t, dst)
	if full := infoInt(t, src, "sync_full"); full != 0 {
		t.Fatalf("sync_full = %d: replicant asked the source for its data", full)
	}

	r = startReplicant(t, append(args, "--overwrite")...)
	r.waitOutput(t, `"message":"streaming"`, 30*time.Second)
	waitCondition(t, 10*time.Second, func() (bool, string) {
		v, err := dst.Client.Get(ctx, "shared").Result()
		return v == "the source's", fmt.Sprintf("shared = %q (%v)", v, err)
	})
	if code := r.stop(t); code != 0 {
		t.Fatalf("exit status %d", code)
	}
}

// TestNoFlushOverDataNotOurs: when the target loses replicant's
// checkpoint while holding data (someone deleted it, and wrote there), the
// full resync that follows does not FLUSHALL it: replicant stops with the
// reason, the target's data as it was.
func TestNoFlushOverDataNotOurs(t *testing.T) {
	// No heartbeat and no source PINGs: nothing rewrites the checkpoint
	// between its deletion and the kill of the target's connections.
	src := startServer(t, redistest.Options{Args: []string{"--repl-ping-replica-period", "3600"}})
	dst := startServer(t, redistest.Options{})
	ctx := context.Background()
	fillPlain(t, src, "data", 20)
	r := startReplicant(t, "sync", "--source", url(src), "--target", url(dst), "--log-format", "json",
		"--heartbeat-key", "", "--retry-max", "1s")
	r.waitOutput(t, `"message":"streaming"`, 30*time.Second)
	assertEqual(t, src, dst, 30*time.Second)

	must(t, dst.Client.Del(ctx, checkpointKey).Err())
	must(t, dst.Client.Set(ctx, "written:elsewhere", "keep me", 0).Err())
	must(t, dst.Client.Do(ctx, "CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes").Err())
	dstBefore := fingerprint(t, dst)
	// A write makes the applier reconnect and find the checkpoint gone.
	must(t, src.Client.Set(ctx, "after", "1", 0).Err())
	t.Log(refused(t, r, "--overwrite"))
	if !strings.Contains(r.out.String(), "full resync") {
		t.Fatalf("no full resync was attempted:\n%s", tail(r.out.String(), 20))
	}
	assertUnchanged(t, "the target", dst, dstBefore)
	noLease(t, dst)
}

// TestRefuseSyncAfterCutover: "replicant cutover" marks the target; a
// sync started again into it (as a restart policy would) refuses and
// leaves the writes made on the new primary alone; with
// --after-cutover-ok it makes the target a copy again.
func TestRefuseSyncAfterCutover(t *testing.T) {
	src := startServer(t, redistest.Options{})
	dst := startServer(t, redistest.Options{})
	ctx := context.Background()
	fillPlain(t, src, "data", 20)
	must(t, src.Client.Set(ctx, "counter", 400, 0).Err())
	adminAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	args := []string{"sync", "--source", url(src), "--target", url(dst), "--log-format", "json", "--admin", adminAddr}
	r := startReplicant(t, args...)
	r.waitOutput(t, `"message":"streaming"`, 30*time.Second)
	c := startReplicant(t, "cutover", "--admin", adminAddr, "--timeout", "10s")
	if code := c.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("cutover exit status %d:\n%s", code, c.out.String())
	}
	if code := r.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("sync exit status %d after the cutover", code)
	}
	// The old source refuses writes until the cutover's rollback.
	if err := src.Client.Set(ctx, "refused:write", "old source", 0).Err(); err == nil || !strings.Contains(err.Error(), "NOREPLICAS") {
		t.Fatalf("a write to the source after the cutover: %v, want NOREPLICAS", err)
	}
	must(t, src.Client.ConfigSet(ctx, "min-replicas-to-write", "0").Err())
	if v, err := dst.Client.Get(ctx, cutoverKey).Result(); err != nil || v == "" {
		t.Fatalf("no cut-over mark on the target: %q, %v", v, err)
	}
	// The target is the primary now; the old source goes on too.
	must(t, dst.Client.IncrBy(ctx, "counter", 14).Err())
	must(t, dst.Client.Set(ctx, "after:cutover", "new primary", 0).Err())
	must(t, src.Client.IncrBy(ctx, "counter", 261).Err())
	dstBefore := fingerprint(t, dst)

	r = startReplicant(t, args[:len(args)-2]...)
	t.Log(refused(t, r, "cut over", "--after-cutover-ok"))
	assertUnchanged(t, "the cut-over target", dst, dstBefore)
	noLease(t, dst)

	r = startReplicant(t, append(args[:len(args)-2], "--after-cutover-ok")...)
	r.waitOutput(t, `"message":"streaming"`, 30*time.Second)
	assertEqual(t, src, dst, 30*time.Second)
	if n, err := dst.Client.Exists(ctx, cutoverKey).Result(); err != nil || n != 0 {
		t.Fatalf("the cut-over mark is still there (%d, %v)", n, err)
	}
	if code := r.stop(t); code != 0 {
		t.Fatalf("exit status %d", code)
	}
}
