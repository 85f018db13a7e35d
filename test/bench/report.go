package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// The report has one section per part (full sync, live stream), each between
// markers; a run that skips a part keeps that part's section from the file.
const (
	fullSection = "full-sync"
	bigSection  = "big-keys"
	liveSection = "live-stream"
)

// writeReport writes the report at path, with a new section for each part
// given and the old one for each part not.
func writeReport(path string, runs int, results []result, big []bigResult, live *liveResult, targets ...*targetResult) error {
	old, _ := os.ReadFile(path)
	full := section(string(old), fullSection)
	if results != nil {
		full = fullSyncReport(runs, results)
	}
	bk := section(string(old), bigSection)
	if big != nil {
		bk = bigKeysReport(big)
	}
	ls := section(string(old), liveSection)
	if live != nil {
		ls = liveReport(live)
	}
	ct, tt := section(string(old), clusterSection), section(string(old), twemproxySection)
	for _, t := range targets {
		switch t.section {
		case clusterSection:
			ct = targetReport(t)
		case twemproxySection:
			tt = targetReport(t)
		}
	}
	var b strings.Builder
	b.WriteString("# Benchmarks\n\nWritten by `make bench` (test/bench); do not edit by hand.\n")
	for _, s := range []struct{ name, body string }{{fullSection, full}, {bigSection, bk}, {liveSection, ls},
		{clusterSection, ct}, {twemproxySection, tt}} {
		if s.body != "" {
			fmt.Fprintf(&b, "\n<!-- bench:%s -->\n%s<!-- /bench:%s -->\n", s.name, s.body, s.name)
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// section returns the body of a section of an earlier report, or "".
func section(doc, name string) string {
	begin, end := "<!-- bench:"+name+" -->\n", "<!-- /bench:"+name+" -->"
	i := strings.Index(doc, begin)
	if i < 0 {
		return ""
	}
	rest := doc[i+len(begin):]
	j := strings.Index(rest, end)
	if j < 0 {
		return ""
	}
	return rest[:j]
}

// machine describes where and when a part ran.
func machine() string {
	return fmt.Sprintf("%s, %s/%s, %d CPUs", time.Now().UTC().Format("2006-01-02"), runtime.GOOS, runtime.GOARCH,
		runtime.NumCPU())
}

func fullSyncReport(runs int, results []result) string {
	var b strings.Builder
	b.WriteString("## Full sync\n\n")
	fmt.Fprintf(&b, "Run on %s. ", machine())
	fmt.Fprintf(&b, "Medians of %d runs per method, alternating. Every method starts from an empty target "+
		"redis-server and stops the clock when the target holds every key of the source (Redis 7.0, diskless).\n\n", runs)
	b.WriteString("- (a) native: `REPLICAOF` of the source\n")
	b.WriteString("- (b) pipe: `redis-cli --pipe` of the same keys as `RESTORE ... REPLACE ABSTTL` commands, prepared in a file beforehand\n")
	b.WriteString("- (c) replicant: `replicant sync`, from process start\n\n")
	b.WriteString("| dataset | keys | (a) native | (b) pipe | (c) replicant | c/a | c/b | replicant peak RSS | replicant CPU |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range results {
		fmt.Fprintf(&b, "| %s | %d | %v | %v | %v | %.2f | %.2f | %d MiB | %v |\n", r.dataset.about, r.keys,
			r.native.Round(time.Millisecond), r.pipe.Round(time.Millisecond), r.sync.Round(time.Millisecond),
			ratio(r.sync, r.native), ratio(r.sync, r.pipe), r.rssKB>>10, r.cpu.Round(time.Millisecond))
	}
	return b.String()
}
