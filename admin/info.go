package admin

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Info renders st as Redis renders INFO: "# Section" headers, "field:value"
// lines, CRLF line ends, a blank line between sections. sections picks
// sections by name (case-insensitive): "replicant", "shard0", "shard1", ...;
// none, "all", "default" or "everything" give every section.
func Info(st Status, sections ...string) string {
	want := func(name string) bool {
		if len(sections) == 0 {
			return true
		}
		for _, s := range sections {
			s = strings.ToLower(s)
			if s == name || s == "all" || s == "default" || s == "everything" {
				return true
			}
		}
		return false
	}
	var parts []string
	if want("replicant") {
		parts = append(parts, replicantSection(st))
	}
	for i, sh := range st.Shards {
		if name := fmt.Sprintf("shard%d", i); want(name) {
			parts = append(parts, shardSection(fmt.Sprintf("Shard%d", i), sh))
		}
	}
	return strings.Join(parts, "\r\n")
}

func replicantSection(st Status) string {
	var t Shard
	for _, sh := range st.Shards {
		t.KeysRestored += sh.KeysRestored
		t.Commands += sh.Commands
		t.RestoreErrors += sh.RestoreErrors
		t.CommandErrors += sh.CommandErrors
		t.OpsPerSec += sh.OpsPerSec
		t.LagBytes += sh.LagBytes
	}
	applying := "running"
	if st.ApplyingPaused {
		applying = "paused"
	}
	return section("Replicant",
		"replicant_version", st.Version,
		"phase", st.Phase,
		"uptime_in_seconds", strconv.FormatInt(int64(st.Uptime.Seconds()), 10),
		"target", st.Target,
		"applying", applying,
		"source_shards", strconv.Itoa(len(st.Shards)),
		"keys_restored", i64(t.KeysRestored),
		"commands_applied", i64(t.Commands),
		"target_errors", i64(t.TargetErrors()),
		"lag_bytes", i64(t.LagBytes),
		"ops_per_sec", strconv.FormatFloat(t.OpsPerSec, 'f', 1, 64),
	)
}

func shardSection(title string, sh Shard) string {
	kv := []string{
		"phase", sh.Phase,
		"source", sh.Source,
		"replid", sh.ReplID,
		"source_offset", i64(sh.SourceOffset),
		"received_offset", i64(sh.ReceivedOffset),
		"applied_offset", i64(sh.AppliedOffset),
		"lag_bytes", i64(sh.LagBytes),
		"lag_seconds", seconds(sh.LagSeconds),
		"keys_restored", i64(sh.KeysRestored),
	}
	var skipped int64
	reasons := make([]string, 0, len(sh.KeysSkipped))
	for r, n := range sh.KeysSkipped {
		skipped += n
		reasons = append(reasons, r)
	}
	slices.Sort(reasons)
	kv = append(kv, "keys_skipped", i64(skipped))
	for _, r := range reasons {
		kv = append(kv, "keys_skipped_"+r, i64(sh.KeysSkipped[r]))
	}
	for _, r := range slices.Sorted(maps.Keys(sh.CommandsSkipped)) {
		kv = append(kv, "commands_skipped_"+r, i64(sh.CommandsSkipped[r]))
	}
	kv = append(kv,
		"commands_applied", i64(sh.Commands),
		"command_errors", i64(sh.CommandErrors),
		"restore_errors", i64(sh.RestoreErrors),
		"target_errors", i64(sh.TargetErrors()),
		"ops_per_sec", strconv.FormatFloat(sh.OpsPerSec, 'f', 1, 64),
	)
	return section(title, kv...)
}

// section writes "# title" and each key:value pair of kv.
func section(title string, kv ...string) string {
	var b strings.Builder
	b.WriteString("# " + title + "\r\n")
	for i := 0; i+1 < len(kv); i += 2 {
		b.WriteString(kv[i] + ":" + oneLine(kv[i+1]) + "\r\n")
	}
	return b.String()
}

func i64(n int64) string { return strconv.FormatInt(n, 10) }

// seconds formats a lag in seconds, "-1" when unknown.
func seconds(s float64) string {
	if s < 0 {
		return "-1"
	}
	return strconv.FormatFloat(s, 'f', 3, 64)
}
