package replicate

import (
	"context"
	"testing"
	"time"
)

func TestHeartbeatAge(t *testing.T) {
	var h heartbeats
	now := time.UnixMilli(10_000)
	set := func(v string) [][]byte {
		return [][]byte{[]byte("SET"), []byte("hb"), []byte(v), []byte("PXAT"), []byte("1")}
	}
	if got := h.age(100, now); got != -1 {
		t.Fatalf("no heartbeat: %v", got)
	}
	h.saw("hb", 0, set("8000"), 50)
	h.saw("hb", 1, set("9000"), 60)                                        // another db: not ours
	h.saw("hb", 0, [][]byte{[]byte("DEL"), []byte("hb"), []byte("x")}, 70) // not a SET
	h.saw("hb", 0, set("9500"), 200)
	if got := h.age(100, now); got != 2 {
		t.Fatalf("age at 100 = %v, want 2", got)
	}
	h.saw("hb", 0, set("9400"), 150) // applied again after a reconnect
	if got := h.age(199, now); got != 0.6 {
		t.Fatalf("age at 199 = %v, want 0.6", got)
	}
}

func TestPauser(t *testing.T) {
	var p pauser
	ctx := context.Background()
	if err := p.wait(ctx); err != nil || p.paused() {
		t.Fatal("not paused yet")
	}
	p.pause()
	done := make(chan error)
	go func() { done <- p.wait(ctx) }()
	select {
	case <-done:
		t.Fatal("wait returned while paused")
	case <-time.After(50 * time.Millisecond):
	}
	p.resume()
	if err := <-done; err != nil || p.paused() {
		t.Fatalf("after resume: %v", err)
	}
	p.pause()
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := p.wait(cctx); err == nil {
		t.Fatal("wait ignored ctx")
	}
}
