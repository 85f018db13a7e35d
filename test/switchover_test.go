package test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/replicant/replicant/test/redistest"
)

// TestSwitchoverThenCutover: with both servers in --source, the replica is
// promoted and the old master made its replica (a switchover: nothing
// dies). replicant moves its link to the new master with a partial
// resync; a cutover is refused while the paused server would be a replica;
// every INCR acknowledged on either master is on the target exactly once.
func TestSwitchoverThenCutover(t *testing.T) {
	ctx := context.Background()
	args := []string{"--repl-diskless-sync-delay", "0", "--repl-backlog-size", "64mb"}
	master := startServer(t, redistest.Options{Args: args})
	replica := startServer(t, redistest.Options{Args: args})
	dst := startServer(t, redistest.Options{})
	if err := replica.ReplicaOf(ctx, master); err != nil {
		t.Fatal(err)
	}
	adminAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	r := startReplicant(t, "sync", "--source", fmt.Sprintf("redis://%s,%s", master.Addr, replica.Addr),
		"--target", url(dst), "--retry-max", "500ms", "--log-format", "json", "--admin", adminAddr, "--expire-margin", "30s")
	r.waitOutput(t, `"message":"streaming"`, 30*time.Second)
	incr := func(s *redistest.Server, n int) {
		for range n {
			if err := s.Client.Incr(ctx, "switch:counter").Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	incr(master, 500)
	if err := redistest.WaitInSync(ctx, master, replica); err != nil {
		t.Fatal(err)
	}
	// Switchover: promote the replica, make the old master its replica.
	if err := replica.Client.Do(ctx, "REPLICAOF", "NO", "ONE").Err(); err != nil {
		t.Fatal(err)
	}
	if err := master.ReplicaOf(ctx, replica); err != nil {
		t.Fatal(err)
	}
	incr(replica, 500)
	// The old master drops its replicas as it becomes one (the link then
	// goes to a master first), or the poller moves the link: either way,
	// a partial resync on the new master.
	waitUntil(t, 15*time.Second, func() bool {
		for _, line := range strings.Split(r.out.String(), "\n") {
			if strings.Contains(line, "partial resync accepted") && strings.Contains(line, replica.Addr) {
				return true
			}
		}
		return false
	})
	waitUntil(t, 30*time.Second, func() bool {
		n, _ := dst.Client.Get(ctx, "switch:counter").Int()
		return n == 1000
	})
	c := startReplicant(t, "cutover", "--admin", adminAddr, "--timeout", "10s")
	if code := c.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("cutover exit status %d:\n%s", code, c.out.String())
	}
	if n, err := dst.Client.Get(ctx, "switch:counter").Int(); err != nil || n != 1000 {
		t.Fatalf("target counter %d (%v), want 1000", n, err)
	}
	if full := infoInt(t, replica, "sync_full"); full != 0 {
		t.Fatalf("the promoted master did %d full syncs for replicant", full)
	}
}

// TestReadOnlyTarget: a target that refuses writes (a replica) is a target
// error, named as such at once, and costs the source no full sync.
func TestReadOnlyTarget(t *testing.T) {
	ctx := context.Background()
	src := startServer(t, redistest.Options{Args: []string{"--repl-diskless-sync-delay", "0"}})
	other := startServer(t, redistest.Options{})
	dst := startServer(t, redistest.Options{})
	if err := dst.ReplicaOf(ctx, other); err != nil {
		t.Fatal(err)
	}
	if err := src.Client.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	r := startReplicant(t, "sync", "--source", url(src), "--target", url(dst), "--log-format", "json")
	code := r.wait(t, 30*time.Second)
	if out := r.out.String(); code == 0 || !strings.Contains(out, "READONLY") || !strings.Contains(out, "target") {
		t.Fatalf("exit status %d, want a target error naming READONLY:\n%s", code, tail(out, 10))
	}
	if full := infoInt(t, src, "sync_full"); full != 0 {
		t.Fatalf("the source did %d full syncs for a target that refuses writes", full)
	}
}
