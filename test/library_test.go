package test

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/replicant/replicant/replicate"
	"github.com/replicant/replicant/test/redistest"
)

// TestLibraryExample runs the code of replicate's Example against a real
// redis-server pair: a sync from Go code, with no binary, stopped cleanly
// by its context; then again from the same state dir, which resumes.
func TestLibraryExample(t *testing.T) {
	src := startServer(t, redistest.Options{})
	dst := startServer(t, redistest.Options{})
	ctx := context.Background()
	if _, err := redistest.Fill(ctx, src, redistest.FillOptions{Seed: 7, DBs: 2, KeysPerType: 20}); err != nil {
		t.Fatal(err)
	}
	stateDir := t.TempDir()
	cfg := replicate.Config{
		Source:   replicate.Endpoint{Addrs: []string{src.Addr}},
		Target:   replicate.Endpoint{Addrs: []string{dst.Addr}},
		StateDir: stateDir,
		Logger:   zerolog.New(zerolog.NewTestWriter(t)),
	}
	for round := 1; round <= 2; round++ {
		runCtx, stop := context.WithCancel(ctx)
		s, err := replicate.New(runCtx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- s.Run(runCtx) }()
		assertEqual(t, src, dst, 30*time.Second)
		deadline := time.Now().Add(10 * time.Second)
		for s.Status().Phase != "streaming" {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: phase %q, want streaming", round, s.Status().Phase)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if _, err := redistest.LiveWrites(ctx, src, redistest.LiveOptions{Seed: int64(10 + round), Ops: 2000, DBs: 2}); err != nil {
			t.Fatal(err)
		}
		assertEqual(t, src, dst, 30*time.Second)
		st := s.Status()
		if len(st.Shards) != 1 || st.Shards[0].AppliedOffset <= 0 {
			t.Fatalf("round %d: status %+v, want one shard with an applied offset", round, st)
		}
		if round == 2 && st.Shards[0].KeysRestored != 0 {
			t.Errorf("round 2 restored %d keys: want a resume, not a full sync", st.Shards[0].KeysRestored)
		}
		stop()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("round %d: Run after its context ended: %v, want nil", round, err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("round %d: Run did not return after its context ended", round)
		}
	}
}
