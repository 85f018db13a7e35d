package test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/replicant/replicant/test/redistest"
)

// TestJSONFailureOneLine: in JSON log mode a failure is one line, the JSON
// record, and nothing else (issue 13).
func TestJSONFailureOneLine(t *testing.T) {
	code, out := runOnce(t, nil, "sync", "--source", "redis://127.0.0.1:1", "--target", "redis://127.0.0.1:2", "--log-format", "json")
	if code != 1 {
		t.Fatalf("exit status %d, want 1; output:\n%s", code, out)
	}
	jsonFailure(t, out, "connection refused")
}

// jsonFailure fails the test unless every line of out is a JSON record and
// exactly one, the last, is the error, holding every want.
func jsonFailure(t *testing.T, out string, want ...string) {
	t.Helper()
	errors := 0
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("a line that is no JSON record (%v): %q", err, line)
			continue
		}
		if rec["level"] == "error" {
			errors++
		}
	}
	if errors != 1 {
		t.Errorf("%d error records, want one:\n%s", errors, out)
	}
	last := lastLine(out)
	for _, w := range want {
		if !strings.Contains(last, w) {
			t.Errorf("last line %q lacks %q", last, w)
		}
	}
}

// TestTwemproxyTargetDetected: a twemproxy target without --target-kind is
// named for what it is, with the flag to pass (issue 13).
func TestTwemproxyTargetDetected(t *testing.T) {
	src := startServer(t, redistest.Options{})
	backend := startServer(t, redistest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	proxy, err := redistest.StartNutcracker(ctx, []*redistest.Server{backend}, redistest.NutcrackerOptions{})
	if err != nil {
		t.Fatalf("start nutcracker: %v", err)
	}
	t.Cleanup(func() { proxy.Stop() })
	code, out := runOnce(t, nil, "sync", "--source", url(src), "--target", "redis://"+proxy.Addr, "--log-format", "json")
	if code != 1 {
		t.Fatalf("exit status %d, want 1; output:\n%s", code, out)
	}
	jsonFailure(t, out, "looks like twemproxy", "--target-kind twemproxy")
}

// TestHealthzTargetDown: /healthz answers 200 while the target is up, and
// 503 with the reason once it is down (issue 13).
func TestHealthzTargetDown(t *testing.T) {
	src := startServer(t, redistest.Options{})
	dst := startServer(t, redistest.Options{})
	metricsAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	r := startReplicant(t, "sync", "--source", url(src), "--target", url(dst), "--metrics", metricsAddr,
		"--retry-max", "500ms", "--status-interval", "0", "--log-format", "json")
	r.waitOutput(t, "applying the stream", 20*time.Second)
	if code, body := healthz(t, metricsAddr); code != 200 || !strings.HasPrefix(body, "ok: streaming") {
		t.Fatalf("/healthz with the target up: %d %q", code, body)
	}
	dst.Stop()
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, body := healthz(t, metricsAddr)
		if code == http.StatusServiceUnavailable && strings.Contains(body, "target") {
			t.Logf("/healthz: %d %s", code, body)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz with the target down: %d %q, want 503 naming the target", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func healthz(t *testing.T, addr string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestSigtermTargetDownTempState: SIGTERM with the target down and the
// default (temporary) state dir does not claim the rest is kept in a spool
// it deletes: it says the spool is discarded and where the next start goes
// on from (issue 13).
func TestSigtermTargetDownTempState(t *testing.T) {
	src := startServer(t, redistest.Options{})
	dst := startServer(t, redistest.Options{})
	r := startReplicant(t, "sync", "--source", url(src), "--target", url(dst), "--retry-max", "500ms",
		"--status-interval", "0", "--log-format", "json")
	r.waitOutput(t, "applying the stream", 20*time.Second)
	dst.Stop()
	for i := 0; i < 100; i++ {
		if err := src.Client.Set(context.Background(), fmt.Sprintf("k%d", i), "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(time.Second) // the stream reaches the spool
	r.cmd.Process.Signal(os.Interrupt)
	if code := r.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("exit status %d", code)
	}
	out := r.out.String()
	if strings.Contains(out, "the rest is in the spool") {
		t.Errorf("claims the rest is in the spool, which is deleted:\n%s", out)
	}
	for _, w := range []string{"discarded", "checkpoint"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, tail(out, 10))
		}
	}
}

// TestSyncSummaryLine: a sync ends with one summary line (keys restored,
// commands applied, errors, duration), in JSON and in text (issue 13).
func TestSyncSummaryLine(t *testing.T) {
	src := startServer(t, redistest.Options{})
	dst := startServer(t, redistest.Options{})
	for i := 0; i < 20; i++ {
		src.Client.Set(context.Background(), fmt.Sprintf("k%d", i), "v", 0)
	}
	for _, format := range []string{"json", "text"} {
		t.Run(format, func(t *testing.T) {
			dst.Client.FlushAll(context.Background())
			r := startReplicant(t, "sync", "--source", url(src), "--target", url(dst), "--status-interval", "0",
				"--log-format", format, "--overwrite")
			r.waitOutput(t, "applying the stream", 20*time.Second)
			src.Client.Incr(context.Background(), "counter")
			time.Sleep(500 * time.Millisecond)
			if code := r.stop(t); code != 0 {
				t.Fatalf("exit status %d", code)
			}
			last := lastLine(r.out.String())
			for _, w := range []string{"sync ended", "keys_restored", "commands_applied", "errors", "duration"} {
				if !strings.Contains(last, w) {
					t.Errorf("last line %q lacks %q", last, w)
				}
			}
			if format == "json" {
				var rec map[string]any
				if err := json.Unmarshal([]byte(last), &rec); err != nil {
					t.Fatalf("summary is not JSON: %v", err)
				}
				// the 20 keys, and the heartbeat key (and the counter of the first run)
				if n, _ := rec["keys_restored"].(float64); n < 20 || n > 22 || rec["commands_applied"].(float64) < 1 {
					t.Errorf("summary figures: %v", rec)
				}
			} else if !regexp.MustCompile(`keys_restored=2[0-2] `).MatchString(last) {
				t.Errorf("text summary: %q", last)
			}
		})
	}
}

// TestReadmeFlagTables: every flag of "sync --help" and "verify --help" is
// in its README table, and every flag of a table exists (issue 13).
func TestReadmeFlagTables(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	tables := map[string]string{}
	for _, sec := range []struct{ cmd, start, end string }{
		{"sync", "### Flags of `replicant sync`", "### Safety"},
		{"verify", "## Verify", "Exit status:"},
	} {
		s := string(readme)
		i := strings.Index(s, sec.start)
		j := strings.Index(s[i+1:], sec.end)
		if i < 0 || j < 0 {
			t.Fatalf("README: no section %q", sec.start)
		}
		tables[sec.cmd] = s[i : i+1+j]
	}
	flagRe := regexp.MustCompile(`(?m)^\s+-([a-z0-9-]+)`)
	rowRe := regexp.MustCompile(`(?m)^\| (.*?) \|`)
	nameRe := regexp.MustCompile("`--([a-z0-9-]+)")
	for cmd, table := range tables {
		_, help := runOnce(t, nil, cmd, "--help")
		inHelp := map[string]bool{}
		for _, m := range flagRe.FindAllStringSubmatch(help, -1) {
			inHelp[m[1]] = true
		}
		inTable := map[string]bool{}
		for _, row := range rowRe.FindAllStringSubmatch(table, -1) {
			for _, m := range nameRe.FindAllStringSubmatch(row[1], -1) {
				inTable[m[1]] = true
			}
		}
		var missing, extra []string
		for f := range inHelp {
			if !inTable[f] {
				missing = append(missing, f)
			}
		}
		for f := range inTable {
			if !inHelp[f] {
				extra = append(extra, f)
			}
		}
		sort.Strings(missing)
		sort.Strings(extra)
		if len(missing)+len(extra) > 0 {
			t.Errorf("README table of %s: missing %v, naming unknown flags %v", cmd, missing, extra)
		}
	}
}

// TestReadmeConfigExample runs the configuration example of the README as
// written (db: [0, 2], expire-margin: 30s): sync copies dbs 0 and 2 only,
// and verify with the same file compares them equal, their expiries
// shifted by the margin included (issue 13).
func TestReadmeConfigExample(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindSubmatch(readme)
	if m == nil {
		t.Fatal("README: no yaml example")
	}
	if strings.Contains(string(m[1]), "sync leaves it alone") {
		t.Errorf("README: the example says sync leaves db alone, but sync reads --db too")
	}
	src := startServer(t, redistest.Options{})
	dst := startServer(t, redistest.Options{})
	ctx := context.Background()
	for db := 0; db < 3; db++ {
		c := src.ClientDB(db)
		c.Set(ctx, "plain", db, 0)
		c.Set(ctx, "expiring", db, time.Hour)
	}
	example := regexp.MustCompile(`(?m)^  `).ReplaceAllString(string(m[1]), "")
	for key, v := range map[string]string{"source": url(src), "target": url(dst), "admin": fmt.Sprintf("127.0.0.1:%d", freePort(t))} {
		example = regexp.MustCompile(`(?m)^\s*`+key+`: .*$`).ReplaceAllString(example, key+": "+v)
	}
	path := t.TempDir() + "/replicant.yaml"
	if err := os.WriteFile(path, []byte(example), 0o600); err != nil {
		t.Fatal(err)
	}
	r := startReplicant(t, "sync", "--config", path, "--status-interval", "0")
	r.waitOutput(t, "applying the stream", 20*time.Second)
	if n, _ := dst.ClientDB(1).DBSize(ctx).Result(); n != 0 {
		t.Errorf("db 1 of the target holds %d keys: the example says sync copies dbs 0 and 2 only", n)
	}
	for _, db := range []int{0, 2} {
		if ttl, _ := dst.ClientDB(db).PTTL(ctx, "expiring").Result(); ttl < time.Hour+20*time.Second { // the source waited 5 s for a diskless sync
			t.Errorf("db %d: expiry on the target %v, want the source's hour plus the 30s margin", db, ttl)
		}
	}
	code, out := runOnce(t, nil, "verify", "--config", path, "--rounds", "1")
	if code != 0 || !strings.Contains(out, "equal: ") || !strings.Contains(out, "in 2 dbs") {
		t.Errorf("verify with the example: exit status %d, want 0 and equal in 2 dbs:\n%s", code, out)
	}
	if code := r.stop(t); code != 0 {
		t.Fatalf("sync exit status %d", code)
	}
}
