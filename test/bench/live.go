package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/replicant/replicant/test/redistest"
)

// The live-stream benchmark (--live). Two parts, each against fresh servers:
//
//   - throughput: redis-benchmark (SET, INCR, LPUSH, HSET, pipelined, several
//     clients, in a loop) writes to the source for a fixed time at each load
//     level while replicant forwards to its target. Per level: the rate the
//     source executed, the rate the target applied meanwhile, the largest
//     delay of a probe key written every 250 ms during the load, and the
//     catch-up time: from the end of the load until a marker key written then
//     is visible on the target (GET polled every millisecond). The same
//     levels with a native REPLICAOF replica as the follower, for reference.
//   - latency: a Go writer sends SET bench:lat:<i> at a fixed rate to the
//     source; the target publishes keyspace notifications and a subscriber
//     takes the time each key arrives. Replicant and a native replica.

const (
	modeReplicant = "replicant"
	modeNative    = "native"
	latWarmup     = time.Second // latency writes not counted
	probeEvery    = 250 * time.Millisecond
	catchupMax    = 2 * time.Minute // longest wait for the marker after a load
	catchupGoal   = time.Second
	goalRate      = 150000 // writes/s
	goalP99       = 5 * time.Millisecond
)

type liveOptions struct {
	levels      []liveLevel
	duration    time.Duration // load per level
	runs        int           // throughput runs per level and follower, alternating; the report has their medians
	native      bool          // also measure a native replica
	latRate     int           // writes/s of the latency run
	latDuration time.Duration // measured (after latWarmup)
	latRuns     int           // latency runs per follower, alternating
}

// liveLevel is one redis-benchmark setting: -P pipeline, -c clients.
type liveLevel struct{ pipeline, clients int }

func (l liveLevel) String() string { return fmt.Sprintf("P%d c%d", l.pipeline, l.clients) }

func parseLevels(s string) ([]liveLevel, error) {
	var out []liveLevel
	for _, f := range strings.Split(s, ",") {
		var l liveLevel
		if _, err := fmt.Sscanf(strings.TrimSpace(f), "%dx%d", &l.pipeline, &l.clients); err != nil ||
			l.pipeline < 1 || l.clients < 1 {
			return nil, fmt.Errorf("--live-levels: %q is not PIPELINExCLIENTS, e.g. 16x8", f)
		}
		out = append(out, l)
	}
	return out, nil
}

// levelResult is one load level against one follower.
type levelResult struct {
	level    liveLevel
	mode     string
	target   string        // the target kind's name (replicant)
	exact    bool          // dstRate and missing count all four commands (see targetKind.exact)
	load     time.Duration // how long the load ran
	srcRate  float64       // commands/s the source executed during the load
	dstRate  float64       // commands/s the target executed during the load (exact only)
	applied  float64       // the fraction of the source's counted writes the target applied during the load
	maxProbe time.Duration // largest probe delay during the load
	catchup  time.Duration // load end to marker visible on the target
	cpu      float64       // replicant CPU during the load, in cores; <0 unknown
	dstCPU   float64       // the target's (or native replica's) CPU, the same way: every server and proxy
	missing  int64         // source writes not on the target after the catch-up
	err      string        // the follower failed at this level
	runs     int           // the runs this is the median of (0 or 1: one run)
}

func (r levelResult) ok() bool { return r.err == "" && r.catchup <= catchupGoal }

// latResult is the latency run against one follower.
type latResult struct {
	mode                     string
	rate                     int
	achieved                 float64 // writes/s the writer managed
	n, lost                  int
	p50, p90, p99, p999, max time.Duration
}

type liveResult struct {
	opts      liveOptions
	replicant []levelResult
	native    []levelResult
	latency   []latResult // the median of each mode's runs
	latRuns   []latResult // every run
	loadavg   []string    // the machine's 1-minute load average before each part and at the end
}

// sustained is the highest source rate at which replicant caught up within
// catchupGoal, and whether that was the highest load offered.
func (lr *liveResult) sustained() (rate float64, atMax bool) {
	r, atMax := lr.sustainedLevel()
	return r.srcRate, atMax
}

func (lr *liveResult) sustainedLevel() (best levelResult, atMax bool) {
	var top float64
	for _, r := range lr.replicant {
		if r.err == "" {
			top = max(top, r.srcRate)
		}
		if r.ok() && r.srcRate > best.srcRate {
			best = r
		}
	}
	return best, best.srcRate > 0 && best.srcRate >= top
}

func runLive(ctx context.Context, bin string, o liveOptions) (*liveResult, error) {
	if _, err := exec.LookPath("redis-benchmark"); err != nil {
		return nil, fmt.Errorf("redis-benchmark not found (package redis-tools): %w", err)
	}
	lr := &liveResult{opts: o, loadavg: []string{loadAvg()}}
	modes := []string{modeReplicant}
	if o.native {
		modes = append(modes, modeNative)
	}
	fmt.Printf("live: throughput, %v of redis-benchmark load per level, %d run(s) each\n", o.duration, max(1, o.runs))
	for _, lvl := range o.levels {
		rs, err := runLevels(ctx, bin, lvl, o.duration, max(1, o.runs), []followerSpec{
			{modeReplicant, standaloneKind}, {modeNative, standaloneKind}}[:len(modes)])
		if err != nil {
			return nil, err
		}
		lr.replicant = append(lr.replicant, rs[0])
		if len(rs) > 1 {
			lr.native = append(lr.native, rs[1])
		}
	}
	lr.loadavg = append(lr.loadavg, loadAvg())
	fmt.Printf("live: latency at %d writes/s for %v, %d runs each\n", o.latRate, o.latDuration, o.latRuns)
	for i := 0; i < o.latRuns; i++ {
		for _, mode := range modes {
			r, err := runLatency(ctx, bin, mode, o.latRate, o.latDuration)
			if err != nil {
				return nil, fmt.Errorf("latency, %s: %w", mode, err)
			}
			fmt.Println("  " + r.line())
			lr.latRuns = append(lr.latRuns, r)
		}
	}
	for _, mode := range modes {
		var rs []latResult
		for _, r := range lr.latRuns {
			if r.mode == mode {
				rs = append(rs, r)
			}
		}
		m := medianLat(rs)
		fmt.Println("  median " + m.line())
		lr.latency = append(lr.latency, m)
	}
	lr.loadavg = append(lr.loadavg, loadAvg())
	fmt.Printf("live: 1-minute load average at the start, before the latency runs, at the end: %s\n",
		strings.Join(lr.loadavg, ", "))
	rate, atMax := lr.sustained()
	fmt.Printf("live: sustained %.0f writes/s (catch-up <= %v)%s\n", rate, catchupGoal,
		map[bool]string{true: ", the highest load offered", false: ""}[atMax])
	return lr, nil
}

// followerSpec is one follower of the throughput runs: replicant into a
// target of a kind, or a native replica.
type followerSpec struct {
	mode string
	kind targetKind
}

// runLevels runs lvl runs times against each follower, alternating, and
// returns the median of each follower's runs, in the order of fs.
func runLevels(ctx context.Context, bin string, lvl liveLevel, d time.Duration, runs int, fs []followerSpec) ([]levelResult, error) {
	all := make([][]levelResult, len(fs))
	for i := 0; i < runs; i++ {
		for j, f := range fs {
			r, err := runLevel(ctx, bin, f.mode, f.kind, lvl, d)
			if err != nil {
				return nil, fmt.Errorf("%s into %s at %v: %w", f.mode, f.kind.name, lvl, err)
			}
			fmt.Println("  " + r.line())
			all[j] = append(all[j], r)
		}
	}
	out := make([]levelResult, len(fs))
	for j, rs := range all {
		out[j] = medianLevel(rs)
		if runs > 1 {
			fmt.Println("  median " + out[j].line())
		}
	}
	return out, nil
}

// medianLevel is the median of each measure over runs of one level and
// follower; the first failed run if one failed; the largest missing count.
func medianLevel(rs []levelResult) levelResult {
	m := rs[0]
	var load, probe, catchup []time.Duration
	var src, dst, applied, cpu, dcpu []float64
	for _, r := range rs {
		if r.err != "" {
			return r
		}
		load, probe, catchup = append(load, r.load), append(probe, r.maxProbe), append(catchup, r.catchup)
		src, dst, applied = append(src, r.srcRate), append(dst, r.dstRate), append(applied, r.applied)
		cpu, dcpu = append(cpu, r.cpu), append(dcpu, r.dstCPU)
		if abs64(r.missing) > abs64(m.missing) {
			m.missing = r.missing
		}
	}
	m.load, m.maxProbe, m.catchup = median(load), median(probe), median(catchup)
	m.srcRate, m.dstRate, m.applied = medianFloat(src), medianFloat(dst), medianFloat(applied)
	m.cpu, m.dstCPU = medianFloat(cpu), medianFloat(dcpu)
	m.runs = len(rs)
	return m
}

func medianFloat(vs []float64) float64 {
	s := append([]float64(nil), vs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func abs64(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

func (r levelResult) line() string {
	if r.err != "" {
		return fmt.Sprintf("%-9s %-8v FAILED: %s", r.mode, r.level, r.err)
	}
	cpu := ""
	if r.cpu >= 0 && r.mode == modeReplicant {
		cpu = fmt.Sprintf(", replicant CPU %.0f%%", 100*r.cpu)
	}
	if r.dstCPU >= 0 {
		cpu += fmt.Sprintf(", target CPU %.0f%%", 100*r.dstCPU)
	}
	missing := ""
	if r.missing != 0 {
		missing = fmt.Sprintf(", %d writes of the source not counted on the target", r.missing)
	}
	applied := fmt.Sprintf("target %7.0f/s", r.dstRate)
	if !r.exact {
		applied = fmt.Sprintf("target %.1f%% of INCR/LPUSH/HSET", 100*r.applied)
	}
	who := r.mode
	if r.mode == modeReplicant && r.target != standaloneKind.name {
		who += " -> " + r.target
	}
	return fmt.Sprintf("%-9s %-8v source %7.0f/s, %s during load, max probe delay %v, caught up %v after load%s%s",
		who, r.level, r.srcRate, applied, r.maxProbe.Round(time.Millisecond), r.catchup.Round(time.Millisecond), cpu, missing)
}

func (r latResult) line() string {
	return fmt.Sprintf("%-9s %d writes (%.0f/s): p50 %v p90 %v p99 %v p99.9 %v max %v, lost %d",
		r.mode, r.n, r.achieved, fmtLat(r.p50), fmtLat(r.p90), fmtLat(r.p99), fmtLat(r.p999), fmtLat(r.max), r.lost)
}

// medianLat is the median of each percentile over runs, the largest max,
// and the totals of writes and losses.
func medianLat(rs []latResult) latResult {
	m := latResult{mode: rs[0].mode, rate: rs[0].rate}
	var p50, p90, p99, p999 []time.Duration
	for _, r := range rs {
		m.n, m.lost, m.achieved = m.n+r.n, m.lost+r.lost, m.achieved+r.achieved/float64(len(rs))
		p50, p90, p99, p999 = append(p50, r.p50), append(p90, r.p90), append(p99, r.p99), append(p999, r.p999)
		m.max = max(m.max, r.max)
	}
	m.p50, m.p90, m.p99, m.p999 = median(p50), median(p90), median(p99), median(p999)
	return m
}

func fmtLat(d time.Duration) string {
	if d < 10*time.Millisecond {
		return d.Round(10 * time.Microsecond).String()
	}
	return d.Round(100 * time.Microsecond).String()
}

func startSource(ctx context.Context) (*redistest.Server, error) {
	return redistest.Start(ctx, redistest.Options{Args: []string{"--repl-diskless-sync", "yes",
		"--repl-diskless-sync-delay", "0"}})
}

// follower is a target kept in sync with a source, by replicant or by
// native replication.
type follower struct {
	mode string
	dst  *target
	proc *replicantProc // replicant only
}

// startFollower starts a target of kind (standalone for a native replica)
// and the replicant or REPLICAOF that follows src into it.
func startFollower(ctx context.Context, bin, mode string, kind targetKind, src *redistest.Server) (*follower, error) {
	if mode == modeNative {
		kind = standaloneKind
	}
	t, err := kind.start(ctx)
	if err != nil {
		return nil, fmt.Errorf("start %s target: %w", kind.name, err)
	}
	f := &follower{mode: mode, dst: t}
	if mode == modeNative {
		dst := t.nodes[0]
		err := dst.ReplicaOf(ctx, src)
		if err == nil {
			wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			err = redistest.WaitInSync(wctx, src, dst)
			cancel()
		}
		if err != nil {
			f.stop()
			return nil, err
		}
	} else {
		if f.proc, err = startReplicant(bin, src, t.args); err != nil {
			f.stop()
			return nil, err
		}
	}
	// the stream flows end to end
	if _, err := visibleAfter(ctx, src, t.get, "bench:ready", strconv.FormatInt(time.Now().UnixNano(), 10), 30*time.Second); err != nil {
		f.stop()
		return nil, fmt.Errorf("follower not forwarding: %w%s", err, f.tail())
	}
	return f, nil
}

// failed reports a replicant that has exited.
func (f *follower) failed() error {
	if f.proc == nil {
		return nil
	}
	select {
	case <-f.proc.exited:
		return fmt.Errorf("replicant exited: %v%s", f.proc.waitErr, f.tail())
	default:
		return nil
	}
}

func (f *follower) tail() string {
	if f.proc == nil {
		return ""
	}
	return "\nreplicant log tail:\n" + f.proc.tail()
}

// cpu is the replicant's CPU time so far; -1 if unknown or native.
func (f *follower) cpu() time.Duration {
	if f.proc == nil {
		return -1
	}
	return procCPU(f.proc.cmd.Process.Pid)
}

func (f *follower) stop() {
	if f.proc != nil {
		f.proc.stop()
	}
	f.dst.stop()
}

// replicantProc is a running `replicant sync` whose JSON log is read line by
// line: streaming is closed once it logs "streaming".
type replicantProc struct {
	cmd       *exec.Cmd
	streaming chan struct{}
	exited    chan struct{}
	waitErr   error // valid once exited is closed
	mu        sync.Mutex
	lines     []string // the last log lines
}

func startReplicant(bin string, src *redistest.Server, targetArgs []string) (*replicantProc, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	p := &replicantProc{streaming: make(chan struct{}), exited: make(chan struct{})}
	args := append([]string{"sync", "--source", "redis://" + src.Addr}, targetArgs...)
	p.cmd = exec.Command(bin, append(args, "--log-format", "json", "--status-interval", "0")...)
	p.cmd.Stdout, p.cmd.Stderr = w, w
	if err := p.cmd.Start(); err != nil {
		r.Close()
		w.Close()
		return nil, err
	}
	w.Close()
	go p.readLog(r)
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	select {
	case <-p.streaming:
		return p, nil
	case <-p.exited:
		return nil, fmt.Errorf("replicant exited before streaming: %v\n%s", p.waitErr, p.tail())
	case <-time.After(30 * time.Second):
		p.stop()
		return nil, fmt.Errorf("replicant not streaming after 30s\n%s", p.tail())
	}
}

func (p *replicantProc) readLog(r io.ReadCloser) {
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	seen := false
	for sc.Scan() {
		line := sc.Text()
		p.mu.Lock()
		p.lines = append(p.lines, line)
		if len(p.lines) > 20 {
			p.lines = p.lines[len(p.lines)-20:]
		}
		p.mu.Unlock()
		var rec struct {
			Message string `json:"message"`
		}
		if !seen && json.Unmarshal([]byte(line), &rec) == nil && rec.Message == "streaming" {
			seen = true
			close(p.streaming)
		}
	}
}

func (p *replicantProc) tail() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n")
}

// stop sends SIGTERM, then SIGKILL if replicant has not exited in 30s.
func (p *replicantProc) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		select {
		case <-p.exited:
		case <-time.After(5 * time.Second):
		}
	}
}

// loadAvg is the 1-minute load average from /proc/loadavg, "?" if unknown.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "?"
}

// procCPU is the CPU time of process pid (user + system), from
// /proc/<pid>/stat; -1 if unreadable.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return -1
	}
	// fields after the parenthesised command name; utime and stime are the
	// 14th and 15th fields overall, in clock ticks (100 a second on Linux)
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return -1
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// visibleAfter sets key to val on src and polls dst every millisecond until
// it holds val; it returns the time from the SET to the sighting.
func visibleAfter(ctx context.Context, src *redistest.Server, dst getter, key, val string, timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	if err := src.Client.Set(ctx, key, val, 0).Err(); err != nil {
		return 0, err
	}
	deadline := start.Add(timeout)
	for {
		got, err := dst.Get(ctx, key).Result()
		if err == nil && got == val {
			return time.Since(start), nil
		}
		if err != nil && err != redis.Nil {
			return time.Since(start), err
		}
		if time.Now().After(deadline) {
			return time.Since(start), fmt.Errorf("%s not on the target after %v", key, timeout)
		}
		select {
		case <-ctx.Done():
			return time.Since(start), ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
}

// writeCounts are redis-benchmark's write commands (SET, INCR, LPUSH,
// HSET) a server has executed, from INFO commandstats.
type writeCounts struct {
	// all: the four, less one SET per EXEC: replicant applies the stream
	// to a standalone target in MULTI ... SET <checkpoint key> EXEC
	// batches, and that SET is its own, not the source's. The other
	// commands it adds (MULTI, EXEC, SELECT) are not counted. A native
	// replica runs no EXEC here.
	all int64
	// noSet: INCR, LPUSH and HSET only, which replicant never sends of its
	// own: on a cluster or twemproxy target its checkpoint SETs are not one
	// per EXEC.
	noSet int64
}

func (c writeCounts) sub(d writeCounts) writeCounts {
	return writeCounts{c.all - d.all, c.noSet - d.noSet}
}
func (c writeCounts) add(d writeCounts) writeCounts {
	return writeCounts{c.all + d.all, c.noSet + d.noSet}
}

// pick is all when exact, else noSet.
func (c writeCounts) pick(exact bool) int64 {
	if exact {
		return c.all
	}
	return c.noSet
}

func benchWrites(ctx context.Context, s *redistest.Server) (writeCounts, error) {
	info, err := s.Client.Info(ctx, "commandstats").Result()
	if err != nil {
		return writeCounts{}, err
	}
	var n writeCounts
	for _, line := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":calls=")
		if !ok {
			continue
		}
		calls, _, _ := strings.Cut(rest, ",")
		c, err := strconv.ParseInt(calls, 10, 64)
		if err != nil {
			return writeCounts{}, fmt.Errorf("INFO commandstats: %q", line)
		}
		switch name {
		case "cmdstat_set":
			n.all += c
		case "cmdstat_incr", "cmdstat_lpush", "cmdstat_hset":
			n.all += c
			n.noSet += c
		case "cmdstat_exec":
			n.all -= c
		}
	}
	return n, nil
}

// targetWrites sums benchWrites over the target's servers.
func targetWrites(ctx context.Context, t *target) (writeCounts, error) {
	var sum writeCounts
	for _, s := range t.nodes {
		n, err := benchWrites(ctx, s)
		if err != nil {
			return writeCounts{}, err
		}
		sum = sum.add(n)
	}
	return sum, nil
}

// runLevel runs one load level against a fresh source and follower (a
// replicant into a target of kind, or a native replica). A follower that
// fails under the load is a result, not an error.
func runLevel(ctx context.Context, bin, mode string, kind targetKind, lvl liveLevel, d time.Duration) (levelResult, error) {
	res := levelResult{level: lvl, mode: mode, target: kind.name, exact: kind.exact || mode == modeNative, cpu: -1, dstCPU: -1}
	src, err := startSource(ctx)
	if err != nil {
		return res, err
	}
	defer src.Stop()
	f, err := startFollower(ctx, bin, mode, kind, src)
	if err != nil {
		return res, err
	}
	defer f.stop()

	s0, err := benchWrites(ctx, src)
	if err != nil {
		return res, err
	}
	t0, err := targetWrites(ctx, f.dst)
	if err != nil {
		return res, err
	}
	cpu0, dcpu0 := f.cpu(), f.dst.cpu()
	bench := exec.Command("redis-benchmark", "-p", strconv.Itoa(src.Port), "-t", "set,incr,lpush,hset",
		"-P", strconv.Itoa(lvl.pipeline), "-c", strconv.Itoa(lvl.clients), "-n", "100000", "-r", "100000", "-l", "-q")
	var benchErr strings.Builder
	bench.Stdout, bench.Stderr = io.Discard, &benchErr
	start := time.Now()
	if err := bench.Start(); err != nil {
		return res, err
	}
	benchDone := make(chan struct{})
	go func() { bench.Wait(); close(benchDone) }()

	// probes during the load
	pctx, stopProbes := context.WithCancel(ctx)
	probeMax := make(chan time.Duration, 1)
	go func() { probeMax <- probe(pctx, src, f.dst.get) }()

	var exited <-chan struct{}
	if f.proc != nil {
		exited = f.proc.exited
	}
	select {
	case <-time.After(d):
	case <-benchDone:
		stopProbes()
		<-probeMax
		return res, fmt.Errorf("redis-benchmark ended early: %s", benchErr.String())
	case <-exited:
	}
	bench.Process.Signal(syscall.SIGINT)
	select {
	case <-benchDone:
	case <-time.After(10 * time.Second):
		bench.Process.Kill()
		<-benchDone
	}
	end := time.Now()
	res.load = end.Sub(start)
	s1, err1 := benchWrites(ctx, src)
	t1, err2 := targetWrites(ctx, f.dst)
	cpu1, dcpu1 := f.cpu(), f.dst.cpu()
	stopProbes()
	res.maxProbe = <-probeMax
	if err := errors.Join(err1, err2); err != nil {
		return res, err
	}
	ds, dt := s1.sub(s0), t1.sub(t0)
	res.srcRate = float64(ds.all) / res.load.Seconds()
	if res.exact {
		res.dstRate = float64(dt.all) / res.load.Seconds()
	}
	if n := ds.pick(res.exact); n > 0 {
		res.applied = float64(dt.pick(res.exact)) / float64(n)
	}
	if cpu0 >= 0 && cpu1 >= 0 {
		res.cpu = float64(cpu1-cpu0) / float64(res.load)
	}
	if dcpu0 >= 0 && dcpu1 >= 0 {
		res.dstCPU = float64(dcpu1-dcpu0) / float64(res.load)
	}
	if err := f.failed(); err != nil {
		res.err = firstLine(err.Error())
		fmt.Fprintln(os.Stderr, err)
		return res, nil
	}
	markAt := time.Now()
	wait, err := visibleAfter(ctx, src, f.dst.get, "bench:marker", strconv.FormatInt(markAt.UnixNano(), 10), catchupMax)
	res.catchup = markAt.Sub(end) + wait // from the end of the load
	if err != nil {
		if ferr := f.failed(); ferr != nil {
			err = ferr
		}
		res.err = firstLine(err.Error())
		return res, nil
	}
	// On one server the marker comes after every write. On several (a
	// cluster, a pool) each applies its share on its own, so the marker's
	// server may be done before the others: their counts are read again
	// until nothing is missing or settleMax has passed.
	s2, err := benchWrites(ctx, src)
	if err != nil {
		return res, err
	}
	for settle := time.Now().Add(settleMax); ; time.Sleep(50 * time.Millisecond) {
		t2, err := targetWrites(ctx, f.dst)
		if err != nil {
			return res, err
		}
		res.missing = s2.sub(s0).pick(res.exact) - t2.sub(t0).pick(res.exact)
		if res.missing <= 0 || time.Now().After(settle) {
			return res, nil
		}
	}
}

// settleMax bounds the wait for every server of a sharded target to count
// what the source wrote, after the marker is visible on one of them.
const settleMax = 10 * time.Second

// probe writes a key on src every probeEvery and waits for it on dst, until
// ctx ends; it returns the longest wait (a probe cut short by ctx counts
// with the time it had waited).
func probe(ctx context.Context, src *redistest.Server, dst getter) time.Duration {
	var worst time.Duration
	for i := 0; ctx.Err() == nil; i++ {
		next := time.Now().Add(probeEvery)
		d, _ := visibleAfter(ctx, src, dst, "bench:probe", strconv.Itoa(i), catchupMax)
		worst = max(worst, d)
		select {
		case <-ctx.Done():
		case <-time.After(time.Until(next)):
		}
	}
	return worst
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// runLatency writes SET bench:lat:<i> <send time> at rate writes/s to a fresh
// source for latWarmup+d and times each key's arrival on the follower by
// its keyspace notification.
func runLatency(ctx context.Context, bin, mode string, rate int, d time.Duration) (latResult, error) {
	res := latResult{mode: mode, rate: rate}
	src, err := startSource(ctx)
	if err != nil {
		return res, err
	}
	defer src.Stop()
	f, err := startFollower(ctx, bin, mode, standaloneKind, src)
	if err != nil {
		return res, err
	}
	defer f.stop()
	dst := f.dst.nodes[0]
	if err := dst.Client.ConfigSet(ctx, "notify-keyspace-events", "K$").Err(); err != nil {
		return res, err
	}
	sub := redis.NewClient(dst.ClientOptions(0))
	defer sub.Close()
	const prefix = "__keyspace@0__:bench:lat:"
	ps := sub.PSubscribe(ctx, prefix+"*")
	if _, err := ps.Receive(ctx); err != nil { // the subscription confirmed
		ps.Close()
		return res, err
	}

	total := int((latWarmup + d).Seconds() * float64(rate))
	warm := int(latWarmup.Seconds() * float64(rate))
	sent := make([]time.Duration, total) // since t0
	recv := make([]time.Duration, total) // since t0; 0 = not seen
	t0 := time.Now()

	var wg sync.WaitGroup
	allIn := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		seen := 0
		for {
			msg, err := ps.ReceiveMessage(ctx)
			if err != nil {
				return
			}
			at := time.Since(t0)
			i, err := strconv.Atoi(strings.TrimPrefix(msg.Channel, prefix))
			if err != nil || i < 0 || i >= total || recv[i] != 0 {
				continue
			}
			recv[i] = at
			if seen++; seen == total {
				close(allIn)
				return
			}
		}
	}()

	// the writer: every millisecond, the writes due by now in one pipeline
	tick := time.NewTicker(time.Millisecond)
	pipe := src.Client.Pipeline()
	var werr error
	for n := 0; n < total && werr == nil; {
		<-tick.C
		due := min(total, int(time.Since(t0).Seconds()*float64(rate)))
		if due <= n {
			continue
		}
		now := time.Now()
		wall := strconv.FormatInt(now.UnixNano(), 10)
		for i := n; i < due; i++ {
			pipe.Set(ctx, "bench:lat:"+strconv.Itoa(i), wall, 0)
			sent[i] = now.Sub(t0)
		}
		_, werr = pipe.Exec(ctx)
		n = due
	}
	tick.Stop()
	writeTime := time.Since(t0)
	if werr == nil {
		select {
		case <-allIn:
		case <-time.After(10 * time.Second):
		}
	}
	ps.Close()
	wg.Wait()
	if werr != nil {
		return res, werr
	}
	if err := f.failed(); err != nil {
		return res, err
	}

	var lat []time.Duration
	for i := warm; i < total; i++ {
		if recv[i] == 0 {
			res.lost++
			continue
		}
		lat = append(lat, recv[i]-sent[i])
	}
	res.n = total - warm
	res.achieved = float64(total) / writeTime.Seconds()
	if len(lat) == 0 {
		return res, errors.New("no keyspace notification received")
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(q float64) time.Duration {
		k := int(q*float64(len(lat))+0.999999) - 1
		return lat[max(0, min(k, len(lat)-1))]
	}
	res.p50, res.p90, res.p99, res.p999, res.max = pct(0.50), pct(0.90), pct(0.99), pct(0.999), lat[len(lat)-1]
	return res, nil
}
