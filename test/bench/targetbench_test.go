package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func fakeTarget(section, title string, kinds []targetKind) *targetResult {
	tr := &targetResult{section: section, title: title, kinds: kinds, loadavg: []string{"1.10", "2.20", "3.30"},
		opts: targetOptions{runs: 3, levels: []liveLevel{{16, 8}, {64, 8}}, liveDuration: 10 * time.Second, liveRuns: 1}}
	ts := targetSync{about: "1,000,000 strings", keys: 1000000, rows: []syncRow{
		{name: rowNative, wall: 1500 * time.Millisecond},
		{name: rowStandalone, replicant: true, wall: 1200 * time.Millisecond, rssKB: 20 << 10, cpu: 400 * time.Millisecond},
	}}
	for i, k := range kinds {
		ts.rows = append(ts.rows, syncRow{name: "replicant, " + k.name, replicant: true,
			wall: time.Duration(1500+600*i) * time.Millisecond, rssKB: 30 << 10, cpu: 900 * time.Millisecond})
	}
	tr.syncs = []targetSync{ts}
	for _, l := range tr.opts.levels {
		rate := float64(20000 * l.pipeline)
		rs := []levelResult{{level: l, mode: modeReplicant, target: standaloneName, exact: true, srcRate: rate,
			dstRate: rate, applied: 1, catchup: 2 * time.Millisecond, cpu: 0.5, dstCPU: 0.4}}
		for _, k := range kinds {
			r := levelResult{level: l, mode: modeReplicant, target: k.name, srcRate: rate * 0.9, applied: 0.97,
				catchup: 20 * time.Millisecond, cpu: 0.6, dstCPU: 0.9}
			if l.pipeline == 64 {
				r.catchup = 3 * time.Second
			}
			rs = append(rs, r)
		}
		tr.live = append(tr.live, rs)
	}
	return tr
}

// The cluster and twemproxy sections are written between their markers,
// and a run without them keeps them.
func TestTargetReport(t *testing.T) {
	path := filepath.Join(t.TempDir(), "benchmarks.md")
	twem := []targetKind{twemproxyKind(twemproxyThroughProxy),
		twemproxyKind(twemproxyMode{name: "straight to the servers", flags: "--twemproxy-config <nutcracker.yml>"})}
	if err := writeReport(path, 3, nil, nil, fakeLive(),
		fakeTarget(clusterSection, "Redis Cluster target", []targetKind{clusterKind}),
		fakeTarget(twemproxySection, "twemproxy target", twem)); err != nil {
		t.Fatal(err)
	}
	full := []result{{dataset: datasets["small"], keys: 1000000, native: 2 * time.Second, pipe: 3 * time.Second,
		sync: 4 * time.Second, rssKB: 50 << 10, cpu: time.Second}}
	if err := writeReport(path, 3, full, nil, nil); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	cl, tw := section(doc, clusterSection), section(doc, twemproxySection)
	for _, want := range []string{
		"## Redis Cluster target", "1-minute load average was 1.10 at the start, 2.20 before the live stream and 3.30 at the end",
		"`replicant sync --source ... --target redis://<a master> --target-kind cluster`",
		"| 1,000,000 strings | 1,000,000 | replicant, cluster | 1.5s | 1.25 | 1.00 | 30 MiB | 900ms |",
		"| 1,000,000 strings | 1,000,000 | native `REPLICAOF`, standalone | 1.5s | 1.25 | 1.00 | - | - |",
		"within 1.5× of replicant into a standalone server. 1,000,000 strings: 1.25×, **met**.",
		"| `-P 16 -c 8` | standalone | 320,000 | 320,000/s (100%) | 0s | 2ms | 50% | 40% |",
		"| `-P 16 -c 8` | cluster | 288,000 | 97% of INCR/LPUSH/HSET | 0s | 20ms | 60% | 90% |",
		"| `-P 64 -c 8` | cluster | 1,152,000 | 97% of INCR/LPUSH/HSET | 0s | 3s (over 1s) | 60% | 90% |",
		"**Sustained into cluster: 288,000 writes/s**",
	} {
		if !strings.Contains(cl, want) {
			t.Errorf("cluster section lacks %q:\n%s", want, cl)
		}
	}
	for _, want := range []string{
		"## twemproxy target", "--target redis://<proxy> --target-kind twemproxy --twemproxy-config <nutcracker.yml>",
		"| replicant, twemproxy, straight to the servers | 2.1s | 1.75 | 1.40 |",
		"**Sustained into twemproxy, through the proxy: 288,000 writes/s**",
		"**Sustained into twemproxy, straight to the servers: 288,000 writes/s**",
	} {
		if !strings.Contains(tw, want) {
			t.Errorf("twemproxy section lacks %q:\n%s", want, tw)
		}
	}
	if strings.Contains(tw, "Goal: full sync into the cluster") {
		t.Errorf("the cluster goal in the twemproxy section:\n%s", tw)
	}
	for _, want := range []string{"## Full sync", "## Live stream", "### CPU per write"} {
		if !strings.Contains(doc, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if i, j := strings.Index(doc, "<!-- bench:live-stream -->"), strings.Index(doc, "<!-- bench:cluster-target -->"); i < 0 || j < i {
		t.Errorf("sections out of order:\n%s", doc)
	}
}

func TestScaledDataset(t *testing.T) {
	ds, err := scaledDataset("small", 50000)
	if err != nil || ds.about != "50,000 strings of 32 bytes (DEBUG POPULATE 50000 key 32)" {
		t.Errorf("small: %q, %v", ds.about, err)
	}
	ds, err = scaledDataset("mixed", 50000)
	if err != nil || ds.about != "10,000 keys of mixed types and sizes" {
		t.Errorf("mixed: %q, %v", ds.about, err)
	}
	if ds, _ := scaledDataset("small", 1000000); ds.about != datasets["small"].about {
		t.Errorf("1,000,000 keys: %q", ds.about)
	}
	if _, err := scaledDataset("big", 10); err == nil {
		t.Error("big scaled")
	}
}

// A kind that caught up after no level is not given a rate of 0.
func TestTargetReportNoLevelSustained(t *testing.T) {
	tr := fakeTarget(clusterSection, "Redis Cluster target", []targetKind{clusterKind})
	for _, rs := range tr.live {
		rs[1].catchup = 5 * time.Second
	}
	tr.opts.runs = 1
	doc := targetReport(tr)
	for _, want := range []string{"**Sustained into cluster: not at any level offered**", "One run per method."} {
		if !strings.Contains(doc, want) {
			t.Errorf("report lacks %q:\n%s", want, doc)
		}
	}
	tr.live[1][1].catchup = time.Millisecond
	if doc := targetReport(tr); !strings.Contains(doc, "**Sustained into cluster: 1,152,000 writes/s**, the highest source rate of the levels offered after which replicant caught up within 1s, at the highest load offered.") {
		t.Errorf("report:\n%s", doc)
	}
}
