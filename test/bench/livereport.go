package main

import (
	"fmt"
	"image/color"
	"math"
	"strings"
	"time"
)

const liveChart = "live-stream.png" // next to the report

func liveReport(lr *liveResult) string {
	o := lr.opts
	var b strings.Builder
	b.WriteString("## Live stream\n\n")
	fmt.Fprintf(&b, "Run on %s, Redis 7.0. The load generator, the source, the follower (replicant and its target, "+
		"or a native replica) and the measuring client all share this machine's cores, so the figures are noisy "+
		"and the highest rates are as much the machine's limit as replicant's.\n\n", machine())
	fmt.Fprintf(&b, "The machine's 1-minute load average (the benchmark's own processes included, up to about 4) "+
		"was %s at the start, %s before the latency runs and %s at the end.\n\n",
		at(lr.loadavg, 0), at(lr.loadavg, 1), at(lr.loadavg, 2))
	fmt.Fprintf(&b, "![throughput per load level and latency percentiles](%s)\n\n", liveChart)

	b.WriteString("### Throughput\n\n")
	fmt.Fprintf(&b, "At each load level, fresh servers: a source, a target and `replicant sync` streaming into it, then "+
		"`redis-benchmark -t set,incr,lpush,hset -P <P> -c <c> -r 100000 -n 100000 -l` against the source for %v, "+
		"then stopped", o.duration)
	if o.runs > 1 {
		fmt.Fprintf(&b, "; %d runs per level and follower, alternating, and each cell the median of its runs", o.runs)
	}
	b.WriteString(".\n\n")
	b.WriteString("- source writes/s: the source's SET, INCR, LPUSH and HSET calls (`INFO commandstats`) over the load, " +
		"per second: the rate offered to replicant.\n")
	b.WriteString("- applied/s: the same calls on the target over the same time, less replicant's own checkpoint SET " +
		"(one per MULTI/EXEC batch): what replicant applied meanwhile.\n")
	fmt.Fprintf(&b, "- max probe delay: every %v during the load a key is written on the source and polled on the "+
		"target every millisecond; the longest wait (the lag during the load, in time).\n", probeEvery)
	fmt.Fprintf(&b, "- catch-up: from the end of the load until a marker key written then is visible on the target "+
		"(polled every millisecond). A level is sustained when this is at most %v.\n", catchupGoal)
	if o.native {
		b.WriteString("- native: the same level with a `REPLICAOF` replica in place of replicant and its target, for reference. " +
			"The same redis-benchmark settings reach different source rates with the two followers: the CPU the " +
			"follower takes is not available to redis-benchmark and the source.\n")
	}
	b.WriteString("- CPU: of the replicant process and of the target redis-server (or the native replica) during the " +
		"load, in percent of one core.\n")
	b.WriteString("\n| load | source writes/s | applied/s | max probe delay | catch-up | replicant CPU | target CPU |")
	if o.native {
		b.WriteString(" native: source writes/s | native: applied/s | native: catch-up | native: replica CPU |")
	}
	b.WriteString("\n|---|---:|---:|---:|---:|---:|---:|")
	if o.native {
		b.WriteString("---:|---:|---:|---:|")
	}
	b.WriteString("\n")
	for i, r := range lr.replicant {
		fmt.Fprintf(&b, "| `-P %d -c %d` | %s |", r.level.pipeline, r.level.clients, levelCells(r, true))
		if i < len(lr.native) {
			fmt.Fprintf(&b, " %s |", levelCells(lr.native[i], false))
		}
		b.WriteString("\n")
	}
	var missing []string
	for _, r := range append(append([]levelResult(nil), lr.replicant...), lr.native...) {
		if r.missing != 0 && r.err == "" {
			missing = append(missing, fmt.Sprintf("%s at `-P %d -c %d`: %d", r.mode, r.level.pipeline, r.level.clients, r.missing))
		}
	}
	if len(missing) == 0 {
		b.WriteString("\nAfter every catch-up the target had applied exactly as many of these writes as the source executed.\n")
	} else {
		fmt.Fprintf(&b, "\n**Writes of the source not counted on the target after the catch-up**: %s. "+
			"A negative count is SETs the target executed beyond the source's: replicant renews its lease on the target "+
			"(a script that SETs the lease key) every third of --lease-ttl, 5s by default, and the SET inside the script "+
			"counts in the target's INFO commandstats.\n", strings.Join(missing, "; "))
	}
	best, atMax := lr.sustainedLevel()
	rate := best.srcRate
	fmt.Fprintf(&b, "\n**Sustained: %s writes/s**, the highest source rate after which replicant caught up within %v",
		thousands(rate), catchupGoal)
	if atMax {
		b.WriteString(", at the highest load offered")
	}
	if rate > 0 && best.dstRate < 0.98*rate {
		fmt.Fprintf(&b, " (during that load replicant applied %s writes/s, %.0f%% of the source's rate; the rest "+
			"queued and was applied in the %v after it)", thousands(best.dstRate), 100*best.dstRate/rate,
			best.catchup.Round(time.Millisecond))
	}
	fmt.Fprintf(&b, ". Goal at least %s writes/s: **%s**.\n\n", thousands(goalRate), metStr(rate >= goalRate))
	if o.native && len(lr.native) > 0 {
		b.WriteString(costReport(lr))
	}

	fmt.Fprintf(&b, "### Latency at %s writes/s\n\n", thousands(float64(o.latRate)))
	fmt.Fprintf(&b, "A Go client writes `SET bench:lat:<i> <send time>` to the source at %s a second (the writes due "+
		"each millisecond in one pipeline) for %v after a %v warm-up that is not counted, against fresh servers. "+
		"The target has `notify-keyspace-events K$` and a client subscribed to `__keyspace@0__:bench:lat:*`: the "+
		"latency of a write is the time its notification arrives minus the time its pipeline was sent, both on "+
		"the same monotonic clock. The notifications add a little work on the target only, the same for both "+
		"followers. %d runs per follower, alternating; the summary rows are the median of each percentile over "+
		"the runs, the largest max and the total of writes.\n\n",
		thousands(float64(o.latRate)), o.latDuration, latWarmup, len(lr.latRuns)/max(1, len(lr.latency)))
	b.WriteString("| follower | writes | p50 | p90 | p99 | p99.9 | max | lost |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
	var p99 time.Duration
	row := func(name string, r latResult) {
		fmt.Fprintf(&b, "| %s | %d (%.0f/s) | %s | %s | %s | %s | %s | %d |\n", name, r.n, r.achieved, fmtLat(r.p50),
			fmtLat(r.p90), fmtLat(r.p99), fmtLat(r.p999), fmtLat(r.max), r.lost)
	}
	for _, r := range lr.latency {
		if r.mode == modeReplicant {
			p99 = r.p99
		}
		row("**"+followerName(r.mode)+"**, median", r)
	}
	for _, r := range lr.latency {
		run := 0
		for _, x := range lr.latRuns {
			if x.mode == r.mode {
				run++
				row(fmt.Sprintf("%s, run %d", followerName(x.mode), run), x)
			}
		}
	}
	fmt.Fprintf(&b, "\nGoal p99 under %v: **%s**.\n", goalP99, metStr(p99 > 0 && p99 < goalP99))
	return b.String()
}

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return "?"
}

func followerName(mode string) string {
	if mode == modeNative {
		return "native `REPLICAOF`"
	}
	return "replicant"
}

func levelCells(r levelResult, replicant bool) string {
	probe, catchup := r.maxProbe.Round(time.Millisecond).String(), catchupStr(r)
	if r.err != "" {
		probe, catchup = "-", "failed: "+mdEscape(r.err)
	}
	if !replicant {
		return fmt.Sprintf("%s | %s | %s | %s", thousands(r.srcRate), thousands(r.dstRate), catchup, pct(r.dstCPU))
	}
	return fmt.Sprintf("%s | %s | %s | %s | %s | %s", thousands(r.srcRate), thousands(r.dstRate), probe, catchup,
		pct(r.cpu), pct(r.dstCPU))
}

func pct(cores float64) string {
	if cores < 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", 100*cores)
}

func catchupStr(r levelResult) string {
	s := r.catchup.Round(time.Millisecond).String()
	if r.catchup > catchupGoal {
		s += " (over " + catchupGoal.String() + ")"
	}
	return s
}

func metStr(ok bool) string {
	if ok {
		return "met"
	}
	return "not met"
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// thousands formats v rounded, with commas: 153,204.
func thousands(v float64) string {
	s := fmt.Sprintf("%.0f", math.Round(v))
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

// writeLiveChart draws the throughput per level (source vs applied, with
// the catch-up time under each level) and the latency percentiles
// (replicant vs native) side by side.
func writeLiveChart(path string, lr *liveResult) error {
	const w, h, split = 1700, 620, 1700 * 56 / 100
	c := newCanvas(w, h)
	nan := math.NaN()

	var groups, notes []string
	var noteCols []color.RGBA
	var srcV, dstV []float64
	for _, r := range lr.replicant {
		groups = append(groups, r.level.String())
		srcV = append(srcV, r.srcRate/1000)
		if r.err != "" {
			dstV = append(dstV, nan)
			notes, noteCols = append(notes, "failed"), append(noteCols, colGoal)
			continue
		}
		dstV = append(dstV, r.dstRate/1000)
		col := colGood
		if !r.ok() {
			col = colGoal
		}
		note := fmt.Sprintf("%.2fs", r.catchup.Seconds())
		if r.catchup < time.Second {
			note = fmt.Sprintf("%dms", r.catchup.Milliseconds())
		}
		notes, noteCols = append(notes, note), append(noteCols, col)
	}
	rate, _ := lr.sustained()
	tp := barPanel{
		title:    "Live stream throughput per redis-benchmark load",
		subtitle: fmt.Sprintf("sustained: %s writes/s (catch-up after the load <= 1s)", thousands(rate)),
		yLabel:   "writes/s",
		groups:   groups, notes: notes, noteCols: noteCols, noteName: "catch-up",
		xLabel: "load: redis-benchmark -P <pipeline> -c <clients>",
		series: []series{
			{"source (offered)", colGrey, srcV},
			{"applied by replicant", colBlue, dstV},
		},
		format:   func(v float64) string { return fmt.Sprintf("%.0fk", v) },
		goal:     goalRate / 1000,
		goalText: "goal 150k",
	}
	tp.draw(c, 10, 10, split, h-10)

	pnames := []string{"p50", "p90", "p99", "p99.9"}
	var ls []series
	maxes := []string{}
	for _, r := range lr.latency {
		vals := []float64{ms(r.p50), ms(r.p90), ms(r.p99), ms(r.p999)}
		s := series{"replicant", colBlue, vals}
		if r.mode == modeNative {
			s = series{"native replica", colOrange, vals}
		}
		ls = append(ls, s)
		maxes = append(maxes, fmt.Sprintf("%s %s", s.name, fmtLat(r.max)))
	}
	lp := barPanel{
		title:    fmt.Sprintf("Latency at %dk writes/s, source to target (median of runs)", lr.opts.latRate/1000),
		subtitle: "max: " + strings.Join(maxes, ", "),
		yLabel:   "milliseconds",
		groups:   pnames,
		xLabel:   "percentile of write-to-visible time",
		series:   ls,
		format:   fmtMs,
		goal:     ms(goalP99),
		goalText: "goal p99 5ms",
	}
	lp.draw(c, split+30, 10, w-10, h-10)
	return c.save(path)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func fmtMs(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v < 1:
		return fmt.Sprintf("%.2f", v)
	case v < 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.0f", v)
}

// Goals of the cost table (issue 12).
var (
	goalRateLevels = []liveLevel{{16, 8}, {64, 8}}
	goalRateRatio  = 0.90 // source rate with replicant following / with a native replica
)

// costReport is the CPU per applied write of each follower and the source's
// rate with replicant following over its rate with a native replica, per
// level of the throughput table.
func costReport(lr *liveResult) string {
	var b strings.Builder
	b.WriteString("### CPU per write\n\n")
	b.WriteString("CPU-seconds per million applied writes at each level of the throughput table: a process's CPU time " +
		"during the load divided by the writes the follower applied during the load (applied/s × load time), × 10⁶.\n\n")
	b.WriteString("- replicant: the replicant process alone. The goal compares this with the native replica.\n")
	b.WriteString("- its target: the redis-server replicant writes to. A native replica is one process that both " +
		"receives and stores the stream, so the whole cost of the replicant path is replicant + its target.\n")
	b.WriteString("- native replica: the replica redis-server.\n")
	b.WriteString("- rate ÷ native: the source's writes/s with replicant following over the source's writes/s with a native " +
		"replica, the same redis-benchmark settings: the CPU a follower takes on this machine is not available to the " +
		"source and redis-benchmark.\n\n")
	b.WriteString("| load | replicant | its target | replicant + target | native replica | replicant ÷ native | rate ÷ native |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|\n")
	var over []string
	for _, r := range lr.replicant {
		n, ok := lr.nativeAt(r.level)
		rc, tc := cpuPerM(r.cpu, r.dstRate), cpuPerM(r.dstCPU, r.dstRate)
		both := -1.0
		if rc >= 0 && tc >= 0 {
			both = rc + tc
		}
		nc, cmp, rate := -1.0, "-", "-"
		if ok {
			nc = cpuPerM(n.dstCPU, n.dstRate)
			if n.srcRate > 0 && r.err == "" && n.err == "" {
				rate = fmt.Sprintf("%.0f%%", 100*r.srcRate/n.srcRate)
			}
		}
		if rc >= 0 && nc > 0 {
			cmp = fmt.Sprintf("%.2f", rc/nc)
		}
		if rc < 0 || nc < 0 || rc > nc {
			over = append(over, fmt.Sprintf("`-P %d -c %d`", r.level.pipeline, r.level.clients))
		}
		fmt.Fprintf(&b, "| `-P %d -c %d` | %s | %s | %s | %s | %s | %s |\n", r.level.pipeline, r.level.clients,
			cpuSecs(rc), cpuSecs(tc), cpuSecs(both), cpuSecs(nc), cmp, rate)
	}
	if len(over) == 0 {
		b.WriteString("\nGoal: replicant's CPU per applied write at most the native replica's at every level: **met**.\n")
	} else {
		fmt.Fprintf(&b, "\nGoal: replicant's CPU per applied write at most the native replica's at every level: **not met** "+
			"(over it or not measured at %s).\n", strings.Join(over, ", "))
	}
	var rates []string
	met := true
	for _, l := range goalRateLevels {
		r, okR := lr.replicantAt(l)
		n, okN := lr.nativeAt(l)
		if !okR || !okN || n.srcRate <= 0 || r.err != "" || n.err != "" {
			rates, met = append(rates, fmt.Sprintf("`-P %d -c %d` not measured", l.pipeline, l.clients)), false
			continue
		}
		q := r.srcRate / n.srcRate
		rates = append(rates, fmt.Sprintf("`-P %d -c %d` %.0f%%", l.pipeline, l.clients, 100*q))
		met = met && q >= goalRateRatio
	}
	fmt.Fprintf(&b, "\nGoal: the source's rate with replicant following at least %.0f%% of its rate with a native "+
		"replica: %s: **%s**.\n\n", 100*goalRateRatio, strings.Join(rates, ", "), metStr(met))
	return b.String()
}

func (lr *liveResult) nativeAt(l liveLevel) (levelResult, bool)    { return levelAt(lr.native, l) }
func (lr *liveResult) replicantAt(l liveLevel) (levelResult, bool) { return levelAt(lr.replicant, l) }

func levelAt(rs []levelResult, l liveLevel) (levelResult, bool) {
	for _, r := range rs {
		if r.level == l {
			return r, true
		}
	}
	return levelResult{}, false
}

// cpuPerM is CPU-seconds per million writes of a process that used cores
// (CPU-seconds per second) while rate writes a second were applied; -1 if
// unknown.
func cpuPerM(cores, rate float64) float64 {
	if cores < 0 || rate <= 0 {
		return -1
	}
	return cores / rate * 1e6
}

func cpuSecs(v float64) string {
	if v < 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f s", v)
}
