package admin

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestEndpointsCloseWaits: the three listeners answer, and after Close
// none does any more and their goroutines have returned.
func TestEndpointsCloseWaits(t *testing.T) {
	e := &Endpoints{}
	adminAddr, err := e.StartAdmin("127.0.0.1:0", Options{}, newFake())
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr, err := e.StartMetrics("127.0.0.1:0", newFake())
	if err != nil {
		t.Fatal(err)
	}
	pprofAddr, err := e.StartPprof("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialTimeout("tcp", adminAddr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write([]byte("PING\r\n"))
	if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || !strings.HasPrefix(line, "+PONG") {
		t.Errorf("admin PING: %q %v", line, err)
	}
	c.Close()
	for _, u := range []string{"http://" + metricsAddr + "/healthz", "http://" + pprofAddr + "/debug/pprof/"} {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %s", u, resp.Status)
		}
	}
	done := make(chan struct{})
	go func() { e.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return: a serving goroutine is still running")
	}
	for _, addr := range []string{adminAddr, metricsAddr, pprofAddr} {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after Close", addr)
		}
	}
}

// TestRequestCutover: the client sends CUTOVER with the timeout and
// KEEPSYNCING, and returns the endpoint's report.
func TestRequestCutover(t *testing.T) {
	e := &Endpoints{}
	defer e.Close()
	f := newFake()
	addr, err := e.StartAdmin("127.0.0.1:0", Options{Password: "pw"}, f)
	if err != nil {
		t.Fatal(err)
	}
	out, err := RequestCutover(context.Background(), addr, "pw", 1500*time.Millisecond, true)
	if err != nil || out == "" {
		t.Fatalf("RequestCutover: %q, %v", out, err)
	}
	if calls := f.Calls(); calls != "cutover 1.5s keep" {
		t.Errorf("the endpoint was asked %q, want a cutover of 1.5s, keep syncing", calls)
	}
	if _, err := RequestCutover(context.Background(), addr, "wrong", time.Second, false); err == nil {
		t.Error("a wrong password was taken")
	}
}
