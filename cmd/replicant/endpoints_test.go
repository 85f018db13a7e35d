package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/replicant/replicant/admin"
)

// idle is an admin.Provider with nothing to report.
type idle struct{}

func (idle) Snapshot() admin.Status { return admin.Status{} }
func (idle) Cutover(context.Context, time.Duration, bool) (admin.CutoverResult, error) {
	return admin.CutoverResult{}, nil
}
func (idle) PauseApplying()  {}
func (idle) ResumeApplying() {}
func (idle) Shutdown()       {}

// TestMetricsWarnsOffLoopback: --metrics on an address other than loopback
// logs one warning; on loopback none.
func TestMetricsWarnsOffLoopback(t *testing.T) {
	for _, tc := range []struct {
		addr  string
		warns int
	}{{"127.0.0.1:0", 0}, {"localhost:0", 0}, {"0.0.0.0:0", 1}, {":0", 1}} {
		var buf bytes.Buffer
		closeAll, err := listenEndpoints(syncOptions{Metrics: tc.addr}, idle{}, zerolog.New(&buf))
		if err != nil {
			t.Fatalf("%s: %v", tc.addr, err)
		}
		closeAll()
		if got := strings.Count(buf.String(), `"level":"warn"`); got != tc.warns ||
			(got > 0 && !strings.Contains(buf.String(), "not on a loopback address")) {
			t.Errorf("--metrics %s: %d warnings, want %d:\n%s", tc.addr, got, tc.warns, buf.String())
		}
	}
}
