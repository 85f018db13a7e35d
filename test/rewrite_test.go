package test

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/replicant/replicant/test/redistest"
)

// TestRewriteMode syncs the integration dataset (every type and encoding,
// dbs 0-3, big values, streams with groups, TTLs) with every snapshot key
// rewritten as plain commands, then with --apply auto and a
// --max-restore-bytes that sends the big keys as commands and the rest as
// RESTORE; live writes follow each, and the datasets are compared key by
// key with DEBUG DIGEST.
func TestRewriteMode(t *testing.T) {
	for _, mode := range []struct {
		name string
		args []string
		some bool // only a few keys are rewritten
		big  bool // some values are streamed element by element
	}{
		{"rewrite", []string{"--apply", "rewrite"}, false, false},
		{"auto-big-keys", []string{"--apply", "auto", "--max-restore-bytes", "4096"}, true, false},
		{"streamed-big-values", []string{"--apply", "auto", "--big-value-elements", "300", "--max-restore-bytes", "100000"}, true, true},
	} {
		t.Run(mode.name, func(t *testing.T) {
			src := startServer(t, redistest.Options{})
			dst := startServer(t, redistest.Options{})
			ctx := context.Background()
			keys, err := redistest.Fill(ctx, src, redistest.FillOptions{Seed: 7, BigValues: true})
			if err != nil {
				t.Fatal(err)
			}
			args := append([]string{"sync", "--source", url(src), "--target", url(dst), "--log-format", "json",
				"--status-interval", "1s"}, mode.args...)
			r := startReplicant(t, args...)
			assertEqual(t, src, dst, 60*time.Second)
			r.waitOutput(t, "streaming", 10*time.Second)
			m := regexp.MustCompile(`"rewritten":(\d+)`).FindStringSubmatch(r.out.String())
			if m == nil {
				t.Fatal("no count of rewritten keys in the log")
			}
			n, _ := strconv.Atoi(m[1])
			// plain strings without expiry go as MSET in every mode
			if n == 0 || mode.some == (n > keys/2) {
				t.Fatalf("%d of %d keys rewritten", n, keys)
			}
			t.Logf("%d of %d keys rewritten", n, keys)
			if mode.big && !strings.Contains(r.out.String(), `"streamed_big":`) ||
				mode.big && strings.Contains(r.out.String(), `"streamed_big":0`) {
				t.Fatal("no value was streamed element by element")
			}
			if _, err := redistest.LiveWrites(ctx, src, redistest.LiveOptions{Seed: 8, Ops: 5000}); err != nil {
				t.Fatal(err)
			}
			assertEqual(t, src, dst, 60*time.Second)
			if code := r.stop(t); code != 0 {
				t.Fatalf("exit status %d", code)
			}
			if final := lastLine(r.out.String()); !strings.Contains(final, `"restore_errors":0`) {
				t.Fatalf("the target refused some writes: %s", final)
			}
		})
	}
}
