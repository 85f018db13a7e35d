// Command bench measures replicant's full sync against native Redis
// replication and against redis-cli --pipe of the same RESTORE commands, on
// servers it starts itself on loopback. For each dataset it runs, in turn
// and several times: (a) a native REPLICAOF full sync into an empty
// redis-server, (b) redis-cli --pipe of the RESTORE stream of the same keys
// into an empty redis-server, (c) replicant's full sync into an empty
// redis-server, each from start until the target holds every key. It prints
// the medians and writes them to docs/benchmarks.md. "make bench" runs it.
//
// With --live it also measures the live stream (live.go): the highest
// redis-benchmark write rate replicant keeps up with, and the latency from a
// write on the source to its sighting on the target at a fixed rate, against
// native replication; written to the same report, with docs/live-stream.png.
// With --bigkeys it measures replicant alone on keys far larger than its
// memory (bigkeys.go). With --cluster and --twemproxy it measures the full
// sync and the live stream into a 3-master Redis Cluster and into a
// twemproxy pool (targetbench.go). --datasets "" skips the full sync; a
// part not run keeps its section of the existing report.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/replicant/replicant/test/redistest"
)

type options struct {
	bin      string
	runs     int
	out      string
	datasets string

	bigkeys      bool
	live         bool
	liveLevels   string
	liveDuration time.Duration
	liveRuns     int
	liveNative   bool
	latRate      int
	latDuration  time.Duration
	latRuns      int

	cluster      bool
	twemproxy    bool
	targetKeys   int
	targetLevels string
}

func main() {
	var o options
	flag.StringVar(&o.bin, "replicant", "bin/replicant", "replicant binary")
	flag.IntVar(&o.runs, "runs", 3, "runs of each method per dataset")
	flag.StringVar(&o.out, "out", "docs/benchmarks.md", "markdown report to write ('' for none)")
	flag.StringVar(&o.datasets, "datasets", "small,mixed,big", "datasets to run: small, mixed, big ('' for none)")
	flag.BoolVar(&o.live, "live", false, "also benchmark the live stream: throughput and latency")
	flag.BoolVar(&o.bigkeys, "bigkeys", false, "also benchmark big keys: a 1 GiB hash, 10M-member sorted set and list, 512 MiB string")
	flag.StringVar(&o.liveLevels, "live-levels", "1x1,2x2,4x4,8x4,16x8,64x8",
		"redis-benchmark load levels for --live, PIPELINExCLIENTS (-P and -c)")
	flag.DurationVar(&o.liveDuration, "live-duration", 10*time.Second, "load time per level for --live")
	flag.IntVar(&o.liveRuns, "live-runs", 1, "throughput runs per level and follower, alternating, for --live, --cluster and --twemproxy (the report shows medians)")
	flag.BoolVar(&o.cluster, "cluster", false, "also benchmark a 3-master Redis Cluster target: full sync of the small and mixed datasets, and the live stream")
	flag.BoolVar(&o.twemproxy, "twemproxy", false, "also benchmark a twemproxy target (3 redis-servers behind nutcracker): full sync of the small and mixed datasets, and the live stream")
	flag.IntVar(&o.targetKeys, "target-keys", 1000000, "keys of the small dataset for --cluster and --twemproxy; the mixed dataset has a fifth as many")
	flag.StringVar(&o.targetLevels, "target-levels", "16x8,64x8", "redis-benchmark load levels of the live stream for --cluster and --twemproxy, PIPELINExCLIENTS")
	flag.BoolVar(&o.liveNative, "live-native", true, "--live also measures a native REPLICAOF replica")
	flag.IntVar(&o.latRate, "latency-rate", 10000, "writes/s of the --live latency run")
	flag.DurationVar(&o.latDuration, "latency-duration", 10*time.Second, "measured time of each --live latency run")
	flag.IntVar(&o.latRuns, "latency-runs", 3, "--live latency runs per follower (the report shows medians)")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// result is one dataset's medians.
type result struct {
	dataset            dataset
	keys               int64
	native, pipe, sync time.Duration
	rssKB              int64 // replicant's peak RSS, median
	cpu                time.Duration
}

func run(o options) error {
	ctx := context.Background()
	var results []result
	for _, name := range strings.Split(o.datasets, ",") {
		if name == "" {
			continue
		}
		ds, ok := datasets[name]
		if !ok {
			return fmt.Errorf("unknown dataset %q", name)
		}
		r, err := benchDataset(ctx, o, ds)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		results = append(results, r)
		fmt.Println(r.line())
	}
	var big []bigResult
	if o.bigkeys {
		var err error
		if big, err = runBigKeys(ctx, o.bin); err != nil {
			return fmt.Errorf("big keys: %w", err)
		}
	}
	var live *liveResult
	if o.live {
		levels, err := parseLevels(o.liveLevels)
		if err != nil {
			return err
		}
		live, err = runLive(ctx, o.bin, liveOptions{levels: levels, duration: o.liveDuration, runs: o.liveRuns,
			native: o.liveNative, latRate: o.latRate, latDuration: o.latDuration, latRuns: max(1, o.latRuns)})
		if err != nil {
			return fmt.Errorf("live: %w", err)
		}
	}
	targets, err := runTargets(ctx, o)
	if err != nil {
		return err
	}
	if o.out == "" {
		return nil
	}
	if live != nil {
		if err := os.MkdirAll(filepath.Dir(o.out), 0o755); err != nil {
			return err
		}
		if err := writeLiveChart(filepath.Join(filepath.Dir(o.out), liveChart), live); err != nil {
			return err
		}
	}
	return writeReport(o.out, o.runs, results, big, live, targets...)
}

// runTargets runs the --cluster and --twemproxy parts.
func runTargets(ctx context.Context, o options) ([]*targetResult, error) {
	if !o.cluster && !o.twemproxy {
		return nil, nil
	}
	levels, err := parseLevels(o.targetLevels)
	if err != nil {
		return nil, fmt.Errorf("--target-levels: %w", err)
	}
	to := targetOptions{keys: o.targetKeys, runs: max(1, o.runs), levels: levels, liveDuration: o.liveDuration,
		liveRuns: max(1, o.liveRuns)}
	var out []*targetResult
	if o.cluster {
		r, err := runTargetSection(ctx, o.bin, clusterSection, "Redis Cluster target", []targetKind{clusterKind}, to)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if o.twemproxy {
		var kinds []targetKind
		for _, m := range twemproxyModes {
			kinds = append(kinds, twemproxyKind(m))
		}
		r, err := runTargetSection(ctx, o.bin, twemproxySection, "twemproxy target", kinds, to)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func benchDataset(ctx context.Context, o options, ds dataset) (result, error) {
	src, err := redistest.Start(ctx, redistest.Options{Args: []string{"--repl-diskless-sync", "yes",
		"--repl-diskless-sync-delay", "0", "--repl-diskless-sync-max-replicas", "1"}})
	if err != nil {
		return result{}, err
	}
	defer src.Stop()
	fmt.Printf("%s: loading %s\n", ds.name, ds.about)
	if err := ds.load(ctx, src); err != nil {
		return result{}, err
	}
	keys, err := totalKeys(ctx, src)
	if err != nil {
		return result{}, err
	}
	restoreFile, err := writeRestoreStream(ctx, src)
	if err != nil {
		return result{}, err
	}
	defer os.Remove(restoreFile)
	var native, pipe, syncd, cpu []time.Duration
	var rss []int64
	for i := 0; i < o.runs; i++ {
		d, err := timeNative(ctx, src, keys)
		if err != nil {
			return result{}, fmt.Errorf("native: %w", err)
		}
		native = append(native, d)
		d, err = timePipe(ctx, restoreFile, keys)
		if err != nil {
			return result{}, fmt.Errorf("redis-cli --pipe: %w", err)
		}
		pipe = append(pipe, d)
		m, err := timeReplicant(ctx, o.bin, src, keys)
		if err != nil {
			return result{}, fmt.Errorf("replicant: %w", err)
		}
		syncd, rss, cpu = append(syncd, m.wall), append(rss, m.rssKB), append(cpu, m.cpu)
		fmt.Printf("  run %d: native %v, pipe %v, replicant %v (rss %d MiB, cpu %v)\n",
			i+1, native[i].Round(time.Millisecond), pipe[i].Round(time.Millisecond),
			m.wall.Round(time.Millisecond), m.rssKB>>10, m.cpu.Round(time.Millisecond))
	}
	return result{dataset: ds, keys: keys, native: median(native), pipe: median(pipe),
		sync: median(syncd), rssKB: medianInt(rss), cpu: median(cpu)}, nil
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func medianInt(ns []int64) int64 {
	s := append([]int64(nil), ns...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func (r result) line() string {
	return fmt.Sprintf("%s (%d keys): native %v, pipe %v, replicant %v; c/a %.2f, c/b %.2f; peak RSS %d MiB, CPU %v",
		r.dataset.name, r.keys, r.native.Round(time.Millisecond), r.pipe.Round(time.Millisecond),
		r.sync.Round(time.Millisecond), ratio(r.sync, r.native), ratio(r.sync, r.pipe), r.rssKB>>10,
		r.cpu.Round(time.Millisecond))
}

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }
