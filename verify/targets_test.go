package verify_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/replicant/replicant/test/redistest"
	"github.com/replicant/replicant/verify"
)

// TestProxyTarget compares a source with a real replica of it seen through
// twemproxy: equal, then a missing key.
func TestProxyTarget(t *testing.T) {
	src, dst := replicated(t, redistest.FillOptions{Seed: 7, DBs: 1, KeysPerType: 5}, false)
	proxy := startProxy(t, dst)
	cfg := config(src, dst)
	cfg.Target.Options.Addr, cfg.Target.Kind = proxy, verify.Proxy
	res := run(t, cfg)
	mustEqual(t, res)
	notes := strings.Join(res.Notes, "\n")
	if !strings.Contains(notes, "keys only on the target are not looked for") || !strings.Contains(notes, "functions not compared") {
		t.Errorf("notes: %q", res.Notes)
	}

	do(t, dst, 0, "REPLICAOF", "NO", "ONE")
	do(t, src, 0, "SET", "p:missing", "1")
	do(t, dst, 0, "XGROUP", "SETID", "x:full", "g1", "0")
	res = run(t, cfg)
	if d := findDiff(t, res, 0, "p:missing"); d.Kind != verify.Missing {
		t.Errorf("%s: want missing", d)
	}
	if d := findDiff(t, res, 0, "x:full"); d.Kind != verify.Value || !strings.Contains(d.Detail, "DUMP payloads differ") {
		t.Errorf("%s: want a DUMP difference", d)
	}
	if res.Differing != 2 {
		t.Errorf("differing %d, want 2:\n%s", res.Differing, diffList(res))
	}
}

// TestClusterTarget compares a standalone source with a one-node cluster
// holding the same data: equal, then a changed value, an extra key and a
// changed function library.
func TestClusterTarget(t *testing.T) {
	ctx := testCtx(t, 20*time.Second)
	src := start(t, redistest.Options{})
	node := startCluster(t, ctx)
	for _, s := range []*redistest.Server{src, node} {
		if _, err := redistest.Fill(ctx, s, redistest.FillOptions{Seed: 8, DBs: 1, KeysPerType: 5}); err != nil {
			t.Fatal(err)
		}
	}
	cfg := config(src, node)
	cfg.Target.Kind = verify.Cluster
	mustEqual(t, run(t, cfg))

	do(t, node, 0, "SET", "c:extra", "1")
	do(t, node, 0, "HSET", "hash:small:0", "f", "x")
	do(t, node, 0, "FUNCTION", "DELETE", redistest.LibraryName)
	cfg.Target.Kind = verify.Auto // found out from INFO
	res := run(t, cfg)
	if d := findDiff(t, res, 0, "c:extra"); d.Kind != verify.Extra {
		t.Errorf("%s: want extra", d)
	}
	if d := findDiff(t, res, 0, "hash:small:0"); d.Kind != verify.Value {
		t.Errorf("%s: want a value difference", d)
	}
	if !res.Functions || !strings.Contains(res.Diffs[0].Detail, "missing on target") {
		t.Errorf("functions: %v", res.Diffs)
	}
}

// startCluster starts a cluster of one node that holds every slot.
func startCluster(t *testing.T, ctx context.Context) *redistest.Server {
	t.Helper()
	node := start(t, redistest.Options{Args: []string{"--cluster-enabled", "yes"}})
	do(t, node, 0, "CLUSTER", "ADDSLOTSRANGE", 0, 16383)
	for {
		info, err := node.Client.ClusterInfo(ctx).Result()
		if err == nil && strings.Contains(info, "cluster_state:ok") {
			return node
		}
		select {
		case <-ctx.Done():
			t.Fatalf("cluster not ok: %v %s", err, info)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// startProxy runs nutcracker (twemproxy) in front of s and returns its
// address.
func startProxy(t *testing.T, s *redistest.Server) string {
	t.Helper()
	bin, err := exec.LookPath("nutcracker")
	if err != nil {
		t.Fatalf("nutcracker (twemproxy) is not installed: %v", err)
	}
	addr, stats := freeAddr(t), freeAddr(t)
	_, statsPort, _ := net.SplitHostPort(stats)
	dir := t.TempDir()
	conf := fmt.Sprintf("pool:\n  listen: %s\n  redis: true\n  hash: fnv1a_64\n  distribution: ketama\n  servers:\n   - %s:1\n", addr, s.Addr)
	confPath := filepath.Join(dir, "nutcracker.yml")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", confPath, "-o", filepath.Join(dir, "nutcracker.log"),
		"-s", statsPort, "-a", "127.0.0.1", "-p", filepath.Join(dir, "nutcracker.pid"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr
		}
	}
	t.Fatalf("nutcracker does not listen on %s", addr)
	return ""
}

// freeAddr is a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
