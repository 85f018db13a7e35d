package main

import (
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func fakeLive() *liveResult {
	o := liveOptions{duration: 10 * time.Second, native: true, latRate: 10000, latDuration: 10 * time.Second}
	lr := &liveResult{opts: o}
	for i, l := range []liveLevel{{1, 1}, {2, 2}, {4, 4}, {8, 4}, {16, 8}, {64, 8}} {
		rate := float64(20000 * (i + 1) * (i + 1))
		r := levelResult{level: l, mode: modeReplicant, load: o.duration, srcRate: rate, dstRate: rate * 0.97,
			maxProbe: time.Duration(i) * 7 * time.Millisecond, catchup: time.Duration(i*i*40) * time.Millisecond, cpu: 0.4, dstCPU: 0.6}
		if i == 5 {
			r.err = "replicant exited: source closed the connection"
		}
		lr.replicant = append(lr.replicant, r)
		r.mode, r.err, r.cpu = modeNative, "", -1
		lr.native = append(lr.native, r)
	}
	lr.latency = []latResult{
		{mode: modeReplicant, rate: 10000, achieved: 9999, n: 100000, p50: 270 * time.Microsecond,
			p90: 380 * time.Microsecond, p99: 1930 * time.Microsecond, p999: 5830 * time.Microsecond, max: 7530 * time.Microsecond},
		{mode: modeNative, rate: 10000, achieved: 9998, n: 100000, p50: 180 * time.Microsecond,
			p90: 260 * time.Microsecond, p99: 1330 * time.Microsecond, p999: 2290 * time.Microsecond, max: 4280 * time.Microsecond},
	}
	lr.latRuns = lr.latency
	return lr
}

func TestLiveChart(t *testing.T) {
	path := filepath.Join(t.TempDir(), liveChart)
	if out := os.Getenv("BENCH_CHART_OUT"); out != "" {
		path = out // to look at it
	}
	if err := writeLiveChart(path, fakeLive()); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() < 800 || b.Dy() < 400 {
		t.Fatalf("chart is %v", b)
	}
}

// A run of one part keeps the other part's section of the report.
func TestReportKeepsOtherSection(t *testing.T) {
	path := filepath.Join(t.TempDir(), "benchmarks.md")
	full := []result{{dataset: datasets["small"], keys: 1000000, native: 2 * time.Second, pipe: 3 * time.Second,
		sync: 4 * time.Second, rssKB: 50 << 10, cpu: time.Second}}
	if err := writeReport(path, 3, full, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := writeReport(path, 3, nil, nil, fakeLive()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, want := range []string{"## Full sync", "1000000", "## Live stream", "live-stream.png", "**Sustained: 500,000 writes/s**",
		"failed: replicant exited", "replicant, run 1", "**replicant**, median"} {
		if !strings.Contains(doc, want) {
			t.Errorf("report lacks %q:\n%s", want, doc)
		}
	}
	if strings.Count(doc, "## Full sync") != 1 || strings.Count(doc, "## Live stream") != 1 {
		t.Errorf("sections repeated:\n%s", doc)
	}
}

func TestThousands(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 153204.4: "153,204", 1234567: "1,234,567"} {
		if got := thousands(v); got != want {
			t.Errorf("thousands(%v) = %q, want %q", v, got, want)
		}
	}
}

// The cost table: CPU-seconds per million applied writes of each follower,
// and the rate with replicant over the rate with a native replica.
func TestCostReport(t *testing.T) {
	lr := fakeLive()
	lr.native[4].srcRate = lr.replicant[4].srcRate / 0.8 // -P 16 -c 8: replicant reaches 80%
	doc := liveReport(lr)
	for _, want := range []string{
		"### CPU per write",
		// -P 1 -c 1: replicant 0.4 cores, its target 0.6, applied 19,400/s; native 0.6 cores
		"| `-P 1 -c 1` | 20.62 s | 30.93 s | 51.55 s | 30.93 s | 0.67 | 100% |",
		"| `-P 16 -c 8` | 0.82 s | 1.24 s | 2.06 s | 1.24 s | 0.67 | 80% |",
		"| `-P 64 -c 8` | 0.57 s | 0.86 s | 1.43 s | 0.86 s | 0.67 | - |",
		"at most the native replica's at every level: **met**",
		"`-P 16 -c 8` 80%, `-P 64 -c 8` not measured: **not met**",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("report lacks %q:\n%s", want, doc)
		}
	}
	if got := cpuPerM(-1, 1000); got != -1 {
		t.Errorf("cpuPerM of unknown CPU = %v", got)
	}
	if got := cpuPerM(0.5, 0); got != -1 {
		t.Errorf("cpuPerM of no writes = %v", got)
	}
}

func TestMedianLevel(t *testing.T) {
	rs := []levelResult{
		{srcRate: 3, dstRate: 30, catchup: 3 * time.Millisecond, cpu: 0.3, missing: 0},
		{srcRate: 1, dstRate: 10, catchup: 9 * time.Millisecond, cpu: 0.1, missing: -2},
		{srcRate: 2, dstRate: 20, catchup: 1 * time.Millisecond, cpu: 0.2, missing: 1},
	}
	m := medianLevel(rs)
	if m.srcRate != 2 || m.dstRate != 20 || m.catchup != 3*time.Millisecond || m.cpu != 0.2 || m.missing != -2 || m.runs != 3 {
		t.Errorf("median %+v", m)
	}
	rs[1].err = "replicant exited"
	if m := medianLevel(rs); m.err == "" {
		t.Errorf("a failed run is not the result: %+v", m)
	}
}
