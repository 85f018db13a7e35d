package test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/replicant/replicant/test/redistest"
)

// replicantBin is the binary built once for all tests.
var replicantBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "replicant-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	replicantBin = filepath.Join(dir, "replicant")
	build := exec.Command("go", "build", "-race", "-o", replicantBin, "../cmd/replicant")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building replicant:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// startServer starts a redis-server for the test and stops it at cleanup.
func startServer(t *testing.T, opts redistest.Options) *redistest.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := redistest.Start(ctx, opts)
	if err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("redis-server %s log:\n%s", s.Addr, s.LogTail(20))
		}
		s.Stop()
	})
	return s
}

// replicant is a running "replicant" process with its output captured.
type replicant struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	code int
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startReplicant(t *testing.T, args ...string) *replicant {
	t.Helper()
	r := &replicant{out: &syncBuffer{}, done: make(chan struct{})}
	r.cmd = exec.Command(replicantBin, args...)
	r.cmd.Stdout, r.cmd.Stderr = r.out, r.out
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		r.cmd.Wait()
		r.code = r.cmd.ProcessState.ExitCode()
		close(r.done)
	}()
	t.Cleanup(func() {
		r.cmd.Process.Kill()
		<-r.done
		if t.Failed() {
			t.Logf("replicant %s output:\n%s", strings.Join(args, " "), tail(r.out.String(), 60))
		}
	})
	return r
}

// wait returns the exit code, failing the test if the process does not end
// within d.
func (r *replicant) wait(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-r.done:
		return r.code
	case <-time.After(d):
		t.Fatalf("replicant still running after %v", d)
		return -1
	}
}

// stop sends SIGTERM and returns the exit code.
func (r *replicant) stop(t *testing.T) int {
	t.Helper()
	r.cmd.Process.Signal(syscall.SIGTERM)
	return r.wait(t, 30*time.Second)
}

func (r *replicant) running() bool {
	select {
	case <-r.done:
		return false
	default:
		return true
	}
}

// waitOutput waits until the output contains s.
func (r *replicant) waitOutput(t *testing.T, s string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if strings.Contains(r.out.String(), s) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("replicant output has no %q after %v", s, d)
}

func tail(s string, lines int) string {
	parts := strings.Split(s, "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

func url(s *redistest.Server) string { return "redis://" + s.Addr }

// checkpointKey is where replicant keeps its checkpoint on the target: the
// one key the target has and the source does not.
const checkpointKey = "replicant:checkpoint"

// heartbeatKey is where replicant writes the time on the source (its
// --heartbeat-key), copied to the target like any key: left out too, as its
// value moves every second.
const heartbeatKey = "replicant:heartbeat"

// isCheckpoint reports replicant's own keys: the checkpoint, the keys
// named after it (the lease, the cut-over mark), and the heartbeat.
func isCheckpoint(key string) bool {
	return strings.HasPrefix(key, checkpointKey) || key == heartbeatKey
}

// assertEqual waits until the target equals the source key by key, the
// checkpoint key aside, with each key's DEBUG DIGEST-VALUE too. The
// comparison is retried until within runs out: keys that expire while it
// runs can differ for a moment.
func assertEqual(t *testing.T, src, dst *redistest.Server, within time.Duration) {
	t.Helper()
	waitEqual(t, src, dst, within, redistest.CompareOptions{Digest: true, SkipKeys: isCheckpoint})
}

// assertEqualShifted is assertEqual for a replicant run with an expire
// margin: each TTL on the target may be longer by up to the margin.
func assertEqualShifted(t *testing.T, src, dst *redistest.Server, within, margin time.Duration) {
	t.Helper()
	waitEqual(t, src, dst, within, redistest.CompareOptions{Digest: true, SkipKeys: isCheckpoint,
		TTLTolerance: margin + 2*time.Second})
}

// assertEqualAfterStop runs once replicant has stopped: it drops the
// checkpoint key from the target, then compares everything, DEBUG DIGEST
// of the whole servers included. margin is replicant's --expire-margin
// beyond the default: with one, keys the source expired after replicant
// stopped live on in the target for up to the margin, so the whole-server
// digest is left out and each key's is compared.
func assertEqualAfterStop(t *testing.T, src, dst *redistest.Server, margin time.Duration) {
	t.Helper()
	if err := dst.Client.Del(context.Background(), checkpointKey, checkpointKey+":lease", checkpointKey+":cutover", heartbeatKey).Err(); err != nil {
		t.Fatal(err)
	}
	if err := src.Client.Del(context.Background(), heartbeatKey).Err(); err != nil {
		t.Fatal(err)
	}
	o := redistest.CompareOptions{Digest: true, TTLTolerance: margin + 2*time.Second}
	if margin > 0 {
		o.SkipKeys = isCheckpoint
	}
	waitEqual(t, src, dst, 30*time.Second, o)
}

func waitEqual(t *testing.T, src, dst *redistest.Server, within time.Duration, o redistest.CompareOptions) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	diffs, err := redistest.WaitEqual(ctx, src, dst, o, 200*time.Millisecond)
	if len(diffs) > 0 {
		t.Fatalf("target differs from source after %v:\n%s", within, joinDiffs(diffs))
	}
	if err != nil {
		t.Fatalf("compare: %v", err)
	}
}

func joinDiffs(diffs []redistest.Diff) string {
	var b strings.Builder
	for _, d := range diffs {
		b.WriteString("  " + d.String() + "\n")
	}
	return b.String()
}
