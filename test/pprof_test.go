package test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/replicant/replicant/test/redistest"
)

// TestPprofEndpoint: with --pprof, a running sync serves Go's profiles (the
// index and a CPU profile); without it, nothing listens there.
func TestPprofEndpoint(t *testing.T) {
	src := startServer(t, redistest.Options{Args: []string{"--repl-diskless-sync-delay", "0"}})
	dst := startServer(t, redistest.Options{})
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	r := startReplicant(t, "sync", "--source", url(src), "--target", url(dst), "--pprof", addr, "--log-format", "json")
	r.waitOutput(t, `"message":"streaming"`, 30*time.Second)
	get := func(path string) (int, string) {
		t.Helper()
		c := http.Client{Timeout: 10 * time.Second}
		resp, err := c.Get("http://" + addr + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/debug/pprof/"); code != 200 || !strings.Contains(body, "goroutine") {
		t.Fatalf("index: %d %.200s", code, body)
	}
	if code, body := get("/debug/pprof/profile?seconds=1"); code != 200 || len(body) == 0 {
		t.Fatalf("CPU profile: %d, %d bytes", code, len(body))
	}
	if code := r.stop(t); code != 0 {
		t.Fatalf("exit status %d", code)
	}
	if _, err := (&http.Client{Timeout: time.Second}).Get("http://" + addr + "/debug/pprof/"); err == nil {
		t.Fatal("the profile endpoint still answers after replicant stopped")
	}
}
