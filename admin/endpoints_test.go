package admin

import (
	"bufio"
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
