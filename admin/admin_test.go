package admin

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/redis/go-redis/v9"
)

// fake is a Provider that records what it was asked.
type fake struct {
	mu       sync.Mutex
	st       Status
	calls    []string
	cutErr   error
	shutdown chan struct{}
}

func newFake() *fake {
	return &fake{shutdown: make(chan struct{}, 4), st: Status{
		Version: "test", Phase: "streaming", Uptime: 90 * time.Second, Target: "127.0.0.1:7001", Healthy: true,
		Shards: []Shard{{
			Phase: "streaming", Source: "127.0.0.1:7000", ReplID: "abc", SourceOffset: 1500,
			ReceivedOffset: 1400, AppliedOffset: 1000, LagBytes: 500, LagSeconds: 0.25,
			KeysRestored: 42, KeysSkipped: map[string]int64{"expired": 3, "refused": 1},
			CommandsSkipped: map[string]int64{"filtered": 5, "mixed": 1},
			Commands:        7, CommandErrors: 2, RestoreErrors: 1, OpsPerSec: 12.5,
		}},
	}}
}

func (f *fake) record(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, s)
}

func (f *fake) Calls() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.calls, ",")
}

func (f *fake) Snapshot() Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st
}

func (f *fake) Cutover(ctx context.Context, timeout time.Duration, keep bool) (CutoverResult, error) {
	f.record("cutover " + timeout.String() + map[bool]string{true: " keep", false: ""}[keep])
	f.mu.Lock()
	err := f.cutErr
	f.mu.Unlock()
	if err != nil {
		return CutoverResult{}, err
	}
	return CutoverResult{SourceOffset: 2000, AppliedOffset: 2000, WritesPaused: 150 * time.Millisecond,
		KeepSyncing: keep, PausedUntil: time.Now().Add(timeout)}, nil
}

func (f *fake) setCutErr(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cutErr = err
}

func (f *fake) PauseApplying()  { f.record("pause") }
func (f *fake) ResumeApplying() { f.record("resume") }
func (f *fake) Shutdown()       { f.record("shutdown"); f.shutdown <- struct{}{} }

func serve(t *testing.T, p Provider, opts Options) *redis.Client {
	t.Helper()
	s, err := Listen("127.0.0.1:0", opts, p)
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve()
	t.Cleanup(func() { s.Close() })
	c := redis.NewClient(&redis.Options{Addr: s.Addr(), Protocol: 2, DisableIndentity: true, MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	return c
}

func TestPingAndInfo(t *testing.T) {
	ctx := context.Background()
	c := serve(t, newFake(), Options{})
	if got, err := c.Ping(ctx).Result(); err != nil || got != "PONG" {
		t.Fatalf("PING: %q %v", got, err)
	}
	info, err := c.Info(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"# Replicant\r\n", "phase:streaming\r\n", "uptime_in_seconds:90\r\n", "target:127.0.0.1:7001\r\n",
		"applying:running\r\n", "\r\n# Shard0\r\n", "source:127.0.0.1:7000\r\n", "replid:abc\r\n",
		"source_offset:1500\r\n", "received_offset:1400\r\n", "applied_offset:1000\r\n", "lag_bytes:500\r\n",
		"lag_seconds:0.250\r\n", "keys_restored:42\r\n", "keys_skipped:4\r\n", "keys_skipped_expired:3\r\n",
		"keys_skipped_refused:1\r\n", "commands_skipped_filtered:5\r\n", "commands_skipped_mixed:1\r\n", "target_errors:3\r\n", "ops_per_sec:12.5\r\n",
	} {
		if !strings.Contains(info, want) {
			t.Errorf("INFO has no %q:\n%s", want, info)
		}
	}
	only, err := c.Info(ctx, "shard0").Result()
	if err != nil || strings.Contains(only, "# Replicant") || !strings.Contains(only, "# Shard0") {
		t.Fatalf("INFO shard0: %v\n%s", err, only)
	}
	if err := c.Do(ctx, "NOSUCH").Err(); err == nil || !strings.Contains(err.Error(), "unknown command") {
		t.Fatalf("NOSUCH: %v", err)
	}
}

func TestAuthRequired(t *testing.T) {
	ctx := context.Background()
	c := serve(t, newFake(), Options{Password: "pw"})
	if err := c.Info(ctx).Err(); err == nil || !strings.HasPrefix(err.Error(), "NOAUTH") {
		t.Fatalf("INFO before AUTH: %v", err)
	}
	if err := c.Do(ctx, "AUTH", "wrong").Err(); err == nil || !strings.HasPrefix(err.Error(), "WRONGPASS") {
		t.Fatalf("AUTH wrong: %v", err)
	}
	if err := c.Do(ctx, "AUTH", "pw").Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.Info(ctx).Err(); err != nil {
		t.Fatalf("INFO after AUTH: %v", err)
	}
	// A client configured with the password works at once.
	s2 := redis.NewClient(&redis.Options{Addr: c.Options().Addr, Password: "pw", Protocol: 2, DisableIndentity: true})
	defer s2.Close()
	if err := s2.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
}

func TestCheckAddr(t *testing.T) {
	for _, tc := range []struct {
		addr, pw string
		ok       bool
	}{
		{"127.0.0.1:1", "", true}, {"[::1]:1", "", true}, {"localhost:1", "", true},
		{"0.0.0.0:1", "", false}, {":1", "", false}, {"10.1.2.3:1", "", false}, {"0.0.0.0:1", "pw", true},
	} {
		err := CheckAddr(tc.addr, tc.pw)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrNoPassword)) {
			t.Errorf("CheckAddr(%q, %q) = %v", tc.addr, tc.pw, err)
		}
	}
	if _, err := Listen("0.0.0.0:0", Options{}, newFake()); !errors.Is(err, ErrNoPassword) {
		t.Fatalf("Listen on all addresses without a password: %v", err)
	}
}

func TestCommandsDispatch(t *testing.T) {
	ctx := context.Background()
	f := newFake()
	c := serve(t, f, Options{CutoverTimeout: 7 * time.Second})
	for _, cmd := range []string{"PAUSE", "RESUME"} {
		if err := c.Do(ctx, cmd).Err(); err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
	}
	got, err := c.Do(ctx, "CUTOVER", "TIMEOUT", "2.5", "KEEPSYNCING").Text()
	if err != nil || !strings.Contains(got, "writes_paused_ms:150") || !strings.Contains(got, "unpaused") {
		t.Fatalf("CUTOVER KEEPSYNCING: %q %v", got, err)
	}
	if err := c.Do(ctx, "CUTOVER", "TIMEOUT", "x").Err(); err == nil {
		t.Fatal("CUTOVER TIMEOUT x: no error")
	}
	f.setCutErr(errors.New("the target did not catch up in 2s"))
	if err := c.Do(ctx, "CUTOVER").Err(); err == nil || !strings.Contains(err.Error(), "did not catch up") {
		t.Fatalf("failed CUTOVER: %v", err)
	}
	f.setCutErr(nil)
	got, err = c.Do(ctx, "CUTOVER").Text()
	if err != nil || !strings.Contains(got, "replicant stops") {
		t.Fatalf("CUTOVER: %q %v", got, err)
	}
	waitShutdown(t, f)
	if err := c.Do(ctx, "SHUTDOWN").Err(); err != nil {
		t.Fatal(err)
	}
	waitShutdown(t, f)
	want := "pause,resume,cutover 2.5s keep,cutover 7s,cutover 7s,shutdown,shutdown"
	if got := f.Calls(); got != want {
		t.Fatalf("calls: %s, want %s", got, want)
	}
}

func waitShutdown(t *testing.T, f *fake) {
	t.Helper()
	select {
	case <-f.shutdown:
	case <-time.After(5 * time.Second):
		t.Fatal("no Shutdown")
	}
}

func TestMetricsAndHealthz(t *testing.T) {
	f := newFake()
	srv := httptest.NewServer(Handler(f))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p expfmt.TextParser
	families, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	want := map[string]float64{
		"replicant_applied_offset_bytes": 1000, "replicant_source_offset_bytes": 1500, "replicant_lag_bytes": 500,
		"replicant_lag_seconds": 0.25, "replicant_keys_restored_total": 42, "replicant_commands_applied_total": 7,
		"replicant_uptime_seconds": 90, "replicant_applying_paused": 0,
	}
	for name, v := range want {
		mf, ok := families[name]
		if !ok {
			t.Errorf("no %s", name)
			continue
		}
		m := mf.GetMetric()[0]
		got := m.GetGauge().GetValue() + m.GetCounter().GetValue()
		if got != v {
			t.Errorf("%s = %v, want %v", name, got, v)
		}
	}
	if len(families["replicant_commands_skipped_total"].GetMetric()) != 2 {
		t.Errorf("commands_skipped_total: %v", families["replicant_commands_skipped_total"])
	}
	if len(families["replicant_keys_skipped_total"].GetMetric()) != 2 || len(families["replicant_target_errors_total"].GetMetric()) != 2 {
		t.Errorf("skipped or errors not split by label")
	}
	if _, ok := families["go_goroutines"]; !ok {
		t.Error("no Go runtime metrics")
	}
	check := func(code int, body string) {
		t.Helper()
		resp, err := http.Get(srv.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != code || !strings.Contains(string(b), body) {
			t.Fatalf("/healthz: %d %q, want %d %q", resp.StatusCode, b, code, body)
		}
	}
	check(200, "ok: streaming")
	f.mu.Lock()
	f.st.Healthy, f.st.Problem = false, "stopping"
	f.mu.Unlock()
	check(503, "stopping")
}
