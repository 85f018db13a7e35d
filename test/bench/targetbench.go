package main

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// The other target kinds (--cluster, --twemproxy): replicant's full sync of
// the small and mixed datasets into a fresh target of the kind, beside
// replicant into a standalone redis-server and a native REPLICAOF of one
// standalone server for scale, medians of alternating runs; then the live
// stream's throughput into the kind at a few load levels, beside replicant
// into a standalone server, measured as the live-stream part measures it.

const (
	clusterSection   = "cluster-target"
	twemproxySection = "twemproxy-target"
	clusterSyncGoal  = 1.5 // full sync into the cluster at most this times the standalone figure
)

type targetOptions struct {
	keys         int // of the small dataset; mixed has a fifth (0: the datasets as they are)
	runs         int
	levels       []liveLevel
	liveDuration time.Duration
	liveRuns     int
}

// syncRow is the median of one method's full syncs of one dataset.
type syncRow struct {
	name      string // as the report names it
	replicant bool   // rss and cpu are replicant's
	wall      time.Duration
	rssKB     int64
	cpu       time.Duration
}

// targetSync is one dataset's full syncs: native, replicant into a
// standalone server, then replicant into each kind.
type targetSync struct {
	about string
	keys  int64
	rows  []syncRow
}

type targetResult struct {
	section string // report section: clusterSection or twemproxySection
	title   string
	kinds   []targetKind
	opts    targetOptions
	syncs   []targetSync
	live    [][]levelResult // per level: replicant into standalone, then into each kind
	loadavg []string        // at the start, before the live stream, at the end
}

const (
	rowNative     = "native `REPLICAOF`, standalone"
	rowStandalone = "replicant, standalone"
)

func runTargetSection(ctx context.Context, bin, section, title string, kinds []targetKind, o targetOptions) (*targetResult, error) {
	res := &targetResult{section: section, title: title, kinds: kinds, opts: o, loadavg: []string{loadAvg()}}
	for _, name := range []string{"small", "mixed"} {
		ds, err := scaledDataset(name, o.keys)
		if err != nil {
			return nil, err
		}
		ts, err := targetFullSync(ctx, bin, ds, kinds, o.runs)
		if err != nil {
			return nil, fmt.Errorf("%s: full sync of %s: %w", section, name, err)
		}
		res.syncs = append(res.syncs, ts)
	}
	res.loadavg = append(res.loadavg, loadAvg())
	fs := []followerSpec{{modeReplicant, standaloneKind}}
	for _, k := range kinds {
		fs = append(fs, followerSpec{modeReplicant, k})
	}
	fmt.Printf("%s: live stream, %v of redis-benchmark load per level, %d run(s) each\n", section, o.liveDuration, o.liveRuns)
	for _, lvl := range o.levels {
		rs, err := runLevels(ctx, bin, lvl, o.liveDuration, o.liveRuns, fs)
		if err != nil {
			return nil, fmt.Errorf("%s: live: %w", section, err)
		}
		res.live = append(res.live, rs)
	}
	res.loadavg = append(res.loadavg, loadAvg())
	return res, nil
}

// targetFullSync loads ds on a source and times, runs times in turn, a
// native replica, replicant into a standalone server and replicant into
// each kind.
func targetFullSync(ctx context.Context, bin string, ds dataset, kinds []targetKind, runs int) (targetSync, error) {
	src, err := startSource(ctx)
	if err != nil {
		return targetSync{}, err
	}
	defer src.Stop()
	fmt.Printf("%s: loading %s\n", ds.name, ds.about)
	if err := ds.load(ctx, src); err != nil {
		return targetSync{}, err
	}
	keys, err := totalKeys(ctx, src)
	if err != nil {
		return targetSync{}, err
	}
	all := append([]targetKind{standaloneKind}, kinds...)
	var native []time.Duration
	ms := make([][]measure, len(all))
	for i := 0; i < runs; i++ {
		d, err := timeNative(ctx, src, keys)
		if err != nil {
			return targetSync{}, fmt.Errorf("native: %w", err)
		}
		native = append(native, d)
		line := fmt.Sprintf("  run %d: native %v", i+1, d.Round(time.Millisecond))
		for j, k := range all {
			m, err := timeReplicantInto(ctx, bin, k, src, keys)
			if err != nil {
				return targetSync{}, fmt.Errorf("replicant into %s: %w", k.name, err)
			}
			ms[j] = append(ms[j], m)
			line += fmt.Sprintf(", replicant -> %s %v (rss %d MiB, cpu %v)", k.name, m.wall.Round(time.Millisecond),
				m.rssKB>>10, m.cpu.Round(time.Millisecond))
		}
		fmt.Println(line)
	}
	ts := targetSync{about: ds.about, keys: keys, rows: []syncRow{{name: rowNative, wall: median(native)}}}
	for j, k := range all {
		ts.rows = append(ts.rows, medianSync("replicant, "+k.name, ms[j]))
	}
	fmt.Println("  " + ts.line())
	return ts, nil
}

func medianSync(name string, ms []measure) syncRow {
	var wall, cpu []time.Duration
	var rss []int64
	for _, m := range ms {
		wall, cpu, rss = append(wall, m.wall), append(cpu, m.cpu), append(rss, m.rssKB)
	}
	return syncRow{name: name, replicant: true, wall: median(wall), rssKB: medianInt(rss), cpu: median(cpu)}
}

func (ts targetSync) line() string {
	var parts []string
	for _, r := range ts.rows {
		parts = append(parts, fmt.Sprintf("%s %v", r.name, r.wall.Round(time.Millisecond)))
	}
	return fmt.Sprintf("median, %d keys: %s", ts.keys, strings.Join(parts, ", "))
}

// standalone is the median of replicant into a standalone server.
func (ts targetSync) standalone() time.Duration {
	for _, r := range ts.rows {
		if r.name == rowStandalone {
			return r.wall
		}
	}
	return 0
}

func (ts targetSync) native() time.Duration {
	for _, r := range ts.rows {
		if r.name == rowNative {
			return r.wall
		}
	}
	return 0
}

func targetReport(tr *targetResult) string {
	o := tr.opts
	var b strings.Builder
	fmt.Fprintf(&b, "## %s\n\n", tr.title)
	fmt.Fprintf(&b, "Run on %s, Redis 7.0. The target: ", machine())
	var abouts []string
	for _, k := range tr.kinds {
		if !contains(abouts, k.about) {
			abouts = append(abouts, k.about)
		}
	}
	fmt.Fprintf(&b, "%s, on loopback ports of this machine, started fresh for every run. ", strings.Join(abouts, "; "))
	fmt.Fprintf(&b, "The machine's 1-minute load average was %s at the start, %s before the live stream and %s at the end.\n\n",
		at(tr.loadavg, 0), at(tr.loadavg, 1), at(tr.loadavg, 2))
	for _, k := range tr.kinds {
		fmt.Fprintf(&b, "- replicant, %s: `replicant sync --source ... %s`\n", k.name, kindFlags(k))
	}
	b.WriteString("\n### Full sync\n\n")
	fmt.Fprintf(&b, "%s. Each starts from an empty target and stops the clock "+
		"when the target's servers hold every key of the source (the sum of their key counts), replicant from process "+
		"start. Beside it, for scale, replicant into one standalone redis-server and a native `REPLICAOF` of one "+
		"standalone redis-server, from the same source in the same runs.\n\n", runsText(o.runs))
	b.WriteString("| dataset | keys | method | time | ÷ replicant, standalone | ÷ native | replicant peak RSS | replicant CPU |\n")
	b.WriteString("|---|---:|---|---:|---:|---:|---:|---:|\n")
	for _, ts := range tr.syncs {
		for _, r := range ts.rows {
			rss, cpu := "-", "-"
			if r.replicant {
				rss, cpu = fmt.Sprintf("%d MiB", r.rssKB>>10), r.cpu.Round(time.Millisecond).String()
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %v | %.2f | %.2f | %s | %s |\n", ts.about, thousands(float64(ts.keys)),
				r.name, r.wall.Round(time.Millisecond), ratio(r.wall, ts.standalone()), ratio(r.wall, ts.native()), rss, cpu)
		}
	}
	if tr.section == clusterSection {
		var goals []string
		for _, ts := range tr.syncs {
			for _, r := range ts.rows {
				if r.name == "replicant, "+clusterName {
					q := ratio(r.wall, ts.standalone())
					goals = append(goals, fmt.Sprintf("%s: %.2f×, **%s**", ts.about, q, metStr(q <= clusterSyncGoal)))
				}
			}
		}
		fmt.Fprintf(&b, "\nGoal: full sync into the cluster within %.1f× of replicant into a standalone server. %s.\n",
			clusterSyncGoal, strings.Join(goals, "; "))
	}
	b.WriteString(targetLiveReport(tr))
	return b.String()
}

// kindFlags are replicant's target flags for a kind, with placeholders.
func kindFlags(k targetKind) string {
	switch {
	case k.name == clusterName:
		return "--target redis://<a master> --target-kind cluster"
	case strings.HasPrefix(k.name, "twemproxy, "):
		for _, m := range twemproxyModes {
			if twemproxyName(m) == k.name {
				return m.flags
			}
		}
	}
	return "--target redis://<server>"
}

func targetLiveReport(tr *targetResult) string {
	o := tr.opts
	var b strings.Builder
	b.WriteString("\n### Live stream\n\n")
	fmt.Fprintf(&b, "As the live-stream throughput above: at each level fresh servers, `redis-benchmark -t set,incr,lpush,hset "+
		"-P <P> -c <c> -r 100000 -n 100000 -l` against the source for %v; replicant into a standalone server and into "+
		"the target, alternating", o.liveDuration)
	if o.liveRuns > 1 {
		fmt.Fprintf(&b, ", %d runs each, medians", o.liveRuns)
	}
	b.WriteString(".\n\n")
	b.WriteString("- applied during the load: of a standalone target, its SET, INCR, LPUSH and HSET calls over the load less " +
		"replicant's checkpoint SET per batch, per second and as a share of the source's. Of the other targets, the share " +
		"of the source's INCR, LPUSH and HSET calls their servers ran during the load: replicant's own writes there (a " +
		"checkpoint SET per slot or per batch) are SETs too, in numbers `INFO commandstats` cannot tell apart. " +
		"redis-benchmark runs 100,000 SETs, then as many INCRs, LPUSHes and HSETs, in turn, so this share is a " +
		"rough figure: a target that lags by a few seconds may have applied the SETs and none of the rest.\n")
	b.WriteString("- max probe delay and catch-up: as above, the key read through the cluster client or the proxy.\n")
	b.WriteString("- target CPU: of every process of the target in percent of one core: the redis-server, or the cluster's " +
		"three masters together, or the pool's three redis-servers and nutcracker together.\n\n")
	b.WriteString("| load | target | source writes/s | applied during the load | max probe delay | catch-up | replicant CPU | target CPU |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|\n")
	for _, rs := range tr.live {
		for _, r := range rs {
			fmt.Fprintf(&b, "| `-P %d -c %d` | %s | %s |\n", r.level.pipeline, r.level.clients, r.target, targetLevelCells(r))
		}
	}
	var missing []string
	for _, rs := range tr.live {
		for _, r := range rs {
			if r.missing != 0 && r.err == "" {
				missing = append(missing, fmt.Sprintf("%s at `-P %d -c %d`: %d", r.target, r.level.pipeline, r.level.clients, r.missing))
			}
		}
	}
	if len(missing) == 0 {
		b.WriteString("\nAfter every catch-up the target had applied exactly as many of the counted writes as the source executed.\n")
	} else {
		fmt.Fprintf(&b, "\n**Counted writes of the source not on the target after the catch-up** (the servers' counts read again for up to 10s, as each applies its share on its own): %s.\n", strings.Join(missing, "; "))
	}
	for i, k := range tr.kinds {
		var best levelResult
		var top float64
		for _, rs := range tr.live {
			if i+1 >= len(rs) {
				continue
			}
			r := rs[i+1]
			if r.err == "" {
				top = max(top, r.srcRate)
			}
			if r.ok() && r.srcRate > best.srcRate {
				best = r
			}
		}
		if best.srcRate == 0 {
			fmt.Fprintf(&b, "\n**Sustained into %s: not at any level offered**: replicant did not catch up within %v "+
				"after any of them.\n", k.name, catchupGoal)
			continue
		}
		fmt.Fprintf(&b, "\n**Sustained into %s: %s writes/s**, the highest source rate of the levels offered after "+
			"which replicant caught up within %v", k.name, thousands(best.srcRate), catchupGoal)
		if best.srcRate >= top {
			b.WriteString(", at the highest load offered")
		}
		b.WriteString(".\n")
	}
	return b.String()
}

func targetLevelCells(r levelResult) string {
	if r.err != "" {
		return fmt.Sprintf("%s | - | - | failed: %s | %s | %s", thousands(r.srcRate), mdEscape(r.err), pct(r.cpu), pct(r.dstCPU))
	}
	applied := fmt.Sprintf("%.0f%% of INCR/LPUSH/HSET", 100*r.applied)
	if r.exact {
		applied = fmt.Sprintf("%s/s (%.0f%%)", thousands(r.dstRate), 100*r.applied)
	}
	return fmt.Sprintf("%s | %s | %v | %s | %s | %s", thousands(r.srcRate), applied, r.maxProbe.Round(time.Millisecond),
		catchupStr(r), pct(r.cpu), pct(r.dstCPU))
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func runsText(runs int) string {
	if runs == 1 {
		return "One run per method"
	}
	return fmt.Sprintf("Medians of %d runs per method, alternating", runs)
}
