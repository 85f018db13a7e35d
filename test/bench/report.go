package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

func writeReport(path string, runs int, results []result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Benchmarks\n\nWritten by `make bench` (test/bench) on %s, %s/%s, %d CPUs. ",
		time.Now().UTC().Format("2006-01-02"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	fmt.Fprintf(&b, "Medians of %d runs per method, alternating. Every method starts from an empty target "+
		"redis-server and stops the clock when the target holds every key of the source (Redis 7.0, diskless).\n\n", runs)
	b.WriteString("- (a) native: `REPLICAOF` of the source\n")
	b.WriteString("- (b) pipe: `redis-cli --pipe` of the same keys as `RESTORE ... REPLACE ABSTTL` commands, prepared in a file beforehand\n")
	b.WriteString("- (c) replicant: `replicant sync`, from process start\n\n")
	b.WriteString("## Full sync\n\n| dataset | keys | (a) native | (b) pipe | (c) replicant | c/a | c/b | replicant peak RSS | replicant CPU |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range results {
		fmt.Fprintf(&b, "| %s | %d | %v | %v | %v | %.2f | %.2f | %d MiB | %v |\n", r.dataset.about, r.keys,
			r.native.Round(time.Millisecond), r.pipe.Round(time.Millisecond), r.sync.Round(time.Millisecond),
			ratio(r.sync, r.native), ratio(r.sync, r.pipe), r.rssKB>>10, r.cpu.Round(time.Millisecond))
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
