package redistest

import (
	"context"
	"testing"
	"time"
)

// start starts a server for the test and stops it at cleanup. A missing
// redis-server fails the test: it is never skipped.
func start(t *testing.T, opts Options) *Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	s, err := Start(ctx, opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return s
}

// testCtx is a context that ends with the test or after d.
func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

// noDiffs fails the test if there are differences or err.
func noDiffs(t *testing.T, diffs []Diff, err error) {
	t.Helper()
	for _, d := range diffs {
		t.Errorf("diff: %s", d)
	}
	if err != nil {
		t.Fatalf("compare: %v", err)
	}
}
