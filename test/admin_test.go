package test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/redis/go-redis/v9"

	"github.com/replicant/replicant/test/redistest"
)

// TestAdminAndCutover runs a sync with --admin and --metrics under live
// writes: INFO's figures move, PAUSE holds the applied offset and RESUME
// lets it go, /metrics parses as Prometheus text, and "replicant cutover"
// pauses the source, reports how long, and stops the sync with the two
// datasets equal.
func TestAdminAndCutover(t *testing.T) {
	src := startServer(t, redistest.Options{})
	dst := startServer(t, redistest.Options{})
	ctx := context.Background()
	if _, err := redistest.Fill(ctx, src, redistest.FillOptions{Seed: 41, DBs: 2, KeysPerType: 20}); err != nil {
		t.Fatal(err)
	}
	adminAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	metricsAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	r := startReplicant(t, "sync", "--source", url(src), "--target", url(dst), "--log-format", "json",
		"--admin", adminAddr, "--metrics", metricsAddr, "--status-interval", "0",
		"--expire-margin", adminMargin.String()) // PAUSE makes the target lag by about 2s
	adm := redis.NewClient(&redis.Options{Addr: adminAddr, Protocol: 2, DisableIndentity: true, MaxRetries: -1})
	defer adm.Close()

	first := waitInfo(t, adm, 30*time.Second, "phase is streaming", func(m map[string]string) bool {
		return m["phase"] == "streaming"
	})
	if n := infoNum(first, "keys_restored"); n < 100 {
		t.Fatalf("keys_restored:%v after the snapshot", n)
	}
	for _, f := range []string{"replid", "source", "source_offset", "received_offset", "applied_offset",
		"lag_bytes", "lag_seconds", "keys_skipped_expired", "target_errors", "ops_per_sec", "uptime_in_seconds"} {
		if _, ok := first[f]; !ok {
			t.Errorf("INFO has no %s", f)
		}
	}

	liveCtx, stopLive := context.WithCancel(ctx)
	defer stopLive()
	liveDone := make(chan error, 1)
	go func() {
		_, err := redistest.LiveWrites(liveCtx, src, redistest.LiveOptions{Seed: 42, DBs: 2})
		liveDone <- err
	}()
	waitInfo(t, adm, 30*time.Second, "offsets and counts grow, heartbeat seen", func(m map[string]string) bool {
		return infoNum(m, "applied_offset") > infoNum(first, "applied_offset")+10000 &&
			infoNum(m, "commands_applied") > infoNum(first, "commands_applied")+100 &&
			infoNum(m, "lag_seconds") >= 0 && infoNum(m, "source_offset") > 0
	})
	checkMetrics(t, metricsAddr)

	checkPause(t, adm)
	// Cut over under the live load.
	c := startReplicant(t, "cutover", "--admin", adminAddr, "--timeout", "20s")
	if code := c.wait(t, 40*time.Second); code != 0 {
		t.Fatalf("replicant cutover exit status %d:\n%s", code, c.out.String())
	}
	m := regexp.MustCompile(`writes_paused_ms:(\d+)`).FindStringSubmatch(c.out.String())
	if m == nil || !strings.Contains(c.out.String(), "lag_bytes:0") {
		t.Fatalf("cutover output has no pause time or lag:\n%s", c.out.String())
	}
	t.Logf("cutover: writes paused for %s ms", m[1])
	if ms, _ := strconv.Atoi(m[1]); ms > 20000 {
		t.Fatalf("writes paused for %d ms, more than the timeout", ms)
	}
	if code := r.wait(t, 40*time.Second); code != 0 {
		t.Fatalf("sync exit status %d after the cutover", code)
	}
	// The cutover cut off the writer (EOF) or the source refused its
	// next write (NOREPLICAS): what the source took, the target holds.
	stopLive()
	if err := <-liveDone; err != nil && !strings.Contains(err.Error(), "EOF") &&
		!strings.Contains(err.Error(), "NOREPLICAS") && !strings.Contains(err.Error(), "connection reset") &&
		!strings.Contains(err.Error(), "broken pipe") {
		t.Fatal(err)
	}
	rollback := regexp.MustCompile(`rollback: \S+: (CONFIG SET min-replicas-to-write \d+)`).FindStringSubmatch(c.out.String())
	if rollback == nil {
		t.Fatalf("cutover output has no rollback command:\n%s", c.out.String())
	}
	// The comparison writes to the source: the rollback lets it.
	if err := src.Client.Do(ctx, stringsToAny(strings.Fields(rollback[1]))...).Err(); err != nil {
		t.Fatal(err)
	}
	assertEqualShifted(t, src, dst, 30*time.Second, adminMargin)
	assertEqualAfterStop(t, src, dst, adminMargin)
}

func stringsToAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// adminMargin is the --expire-margin of TestAdminAndCutover: more than the
// lag PAUSE causes, so that keys with short TTLs do not expire on the
// target before the source's own DEL or new TTL arrives.
const adminMargin = 5 * time.Second

// checkMetrics reads /metrics (it must parse as Prometheus text and hold
// the sync's figures) and /healthz.
func checkMetrics(t *testing.T, addr string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p expfmt.TextParser
	families, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	for _, name := range []string{"replicant_applied_offset_bytes", "replicant_received_offset_bytes",
		"replicant_source_offset_bytes", "replicant_lag_bytes", "replicant_lag_seconds", "replicant_keys_restored_total",
		"replicant_commands_applied_total", "replicant_target_errors_total", "replicant_uptime_seconds"} {
		if _, ok := families[name]; !ok {
			t.Errorf("/metrics has no %s", name)
		}
	}
	if v := families["replicant_applied_offset_bytes"].GetMetric()[0].GetGauge().GetValue(); v <= 0 {
		t.Errorf("replicant_applied_offset_bytes = %v", v)
	}
	h, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	h.Body.Close()
	if h.StatusCode != http.StatusOK {
		t.Fatalf("/healthz: %s", h.Status)
	}
}

// TestAdminNeedsPasswordOffLoopback: --admin on every address without
// --admin-password is a usage error.
func TestAdminNeedsPasswordOffLoopback(t *testing.T) {
	r := startReplicant(t, "sync", "--source", "redis://127.0.0.1:1", "--target", "redis://127.0.0.1:2",
		"--admin", fmt.Sprintf("0.0.0.0:%d", freePort(t)))
	if code := r.wait(t, 10*time.Second); code != 2 {
		t.Fatalf("exit status %d, want 2:\n%s", code, r.out.String())
	}
	if !strings.Contains(r.out.String(), "needs a password") {
		t.Fatalf("no clear error:\n%s", r.out.String())
	}
}

func info(t *testing.T, c *redis.Client) map[string]string {
	t.Helper()
	m, err := tryInfo(c)
	if err != nil {
		t.Fatalf("INFO: %v", err)
	}
	return m
}

// tryInfo reads INFO as a map: the totals of the Replicant section, then
// shard 0's fields as they are and prefixed "shard0.".
func tryInfo(c *redis.Client) (map[string]string, error) {
	s, err := c.Info(context.Background()).Result()
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, line := range strings.Split(s, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(line, "#") {
			if _, dup := m[k]; !dup { // the first section's wins: totals
				m[k] = v
			}
			m["shard0."+k] = v
		}
	}
	return m, nil
}

func infoNum(m map[string]string, k string) float64 {
	v, err := strconv.ParseFloat(m[k], 64)
	if err != nil {
		return -1
	}
	return v
}

// waitInfo polls INFO until ok holds.
func waitInfo(t *testing.T, c *redis.Client, d time.Duration, what string, ok func(map[string]string) bool) map[string]string {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		if got, err := tryInfo(c); err == nil && ok(got) {
			return got
		}
		if time.Now().After(deadline) {
			s, _ := c.Info(context.Background()).Result()
			t.Fatalf("INFO: %s not seen after %v:\n%s", what, d, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkPause: PAUSE holds the applied offset while the stream is still
// received; RESUME lets it go on.
func checkPause(t *testing.T, adm *redis.Client) {
	t.Helper()
	ctx := context.Background()
	if err := adm.Do(ctx, "PAUSE").Err(); err != nil {
		t.Fatal(err)
	}
	waitInfo(t, adm, 5*time.Second, "applying paused", func(m map[string]string) bool { return m["applying"] == "paused" })
	time.Sleep(500 * time.Millisecond) // the batch in flight is answered
	paused := info(t, adm)
	time.Sleep(1500 * time.Millisecond)
	later := info(t, adm)
	if infoNum(later, "applied_offset") != infoNum(paused, "applied_offset") || infoNum(later, "received_offset") <= infoNum(paused, "received_offset") {
		t.Fatalf("while paused: applied %s -> %s, received %s -> %s", paused["applied_offset"], later["applied_offset"],
			paused["received_offset"], later["received_offset"])
	}
	if err := adm.Do(ctx, "RESUME").Err(); err != nil {
		t.Fatal(err)
	}
	waitInfo(t, adm, 10*time.Second, "applying resumed", func(m map[string]string) bool {
		return m["applying"] == "running" && infoNum(m, "applied_offset") > infoNum(later, "applied_offset")
	})

}

// TestCutoverTimeout: when the target cannot catch up within the timeout
// (here it is paused longer), "replicant cutover" fails with a clear
// line, the source is unpaused at once, and the sync goes on to equal
// datasets.
func TestCutoverTimeout(t *testing.T) {
	src := startServer(t, redistest.Options{})
	dst := startServer(t, redistest.Options{})
	ctx := context.Background()
	adminAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	r := startReplicant(t, "sync", "--source", url(src), "--target", url(dst), "--log-format", "json",
		"--admin", adminAddr, "--status-interval", "0", "--expire-margin", faultMargin.String()) // the target lags 6 s
	r.waitOutput(t, `"message":"streaming"`, 30*time.Second)
	l := startLoad(t, src, 43)
	time.Sleep(500 * time.Millisecond)

	// The target answers nothing for 6 s; the cutover allows 2 s.
	if err := dst.Client.Do(ctx, "CLIENT", "PAUSE", "6000", "ALL").Err(); err != nil {
		t.Fatal(err)
	}
	c := startReplicant(t, "cutover", "--admin", adminAddr, "--timeout", "2s")
	code := c.wait(t, 20*time.Second)
	out := c.out.String()
	if code == 0 || !strings.Contains(out, "did not catch up") || !strings.Contains(out, "unpaused") {
		t.Fatalf("cutover exit status %d, output:\n%s", code, out)
	}
	// The source takes writes again before its pause would have expired.
	start := time.Now()
	if err := src.Client.Set(ctx, "after:cutover", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Fatalf("a write after the failed cutover took %v: the source is still paused", d)
	}
	if !r.running() {
		t.Fatal("the sync stopped after a failed cutover")
	}
	l.check(t)
	l.stop()
	assertEqualShifted(t, src, dst, 30*time.Second, faultMargin)
	if code := r.stop(t); code != 0 {
		t.Fatalf("exit status %d", code)
	}
	assertEqualAfterStop(t, src, dst, faultMargin)
}

// TestAdminHostileClient: unauthenticated clients of a sync's admin
// endpoint (with a password) send a 400 MB line, then a 1 GB bulk header
// and its bytes. Each is cut off after a few KB, replicant's RSS grows by
// less than 64 MB, a wrong AUTH is answered late, and a client with the
// password is served afterwards.
func TestAdminHostileClient(t *testing.T) {
	r, adminAddr := startAdminSync(t)
	pid := r.cmd.Process.Pid
	before := rssMB(t, pid)
	const bound = 64 // MB of growth allowed
	for _, h := range []struct {
		name, head string
		size       int64
	}{
		{"a 400 MB line", "", 400 << 20},
		{"a 1 GB bulk header and its bytes", "*1\r\n$1000000000\r\n", 1000000000},
	} {
		sent := flood(t, adminAddr, h.head, h.size, func(sent int64) {
			if grown := rssMB(t, pid) - before; grown > bound {
				t.Fatalf("%s: RSS grew by %d MB after %d MB sent", h.name, grown, sent>>20)
			}
		})
		grown := rssMB(t, pid) - before
		t.Logf("%s: cut off after %d KB sent (socket buffers included); RSS %d MB before, grew by %d MB", h.name, sent>>10, before, grown)
		if sent > bound<<20 || grown > bound {
			t.Fatalf("%s: %d MB sent before the endpoint closed, RSS grew by %d MB", h.name, sent>>20, grown)
		}
	}

	ctx := context.Background()
	wrong := redis.NewClient(&redis.Options{Addr: adminAddr, Password: "guess", Protocol: 2, DisableIndentity: true, MaxRetries: -1})
	defer wrong.Close()
	start := time.Now()
	if err := wrong.Ping(ctx).Err(); err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
		t.Fatalf("PING with a wrong password: %v", err)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Fatalf("a wrong AUTH was answered after %v: no delay", d)
	}
	adm := redis.NewClient(&redis.Options{Addr: adminAddr, Password: "pw", Protocol: 2, DisableIndentity: true, MaxRetries: -1})
	defer adm.Close()
	waitInfo(t, adm, 5*time.Second, "phase is streaming", func(m map[string]string) bool { return m["phase"] == "streaming" })
}

// flood connects to addr, writes head and then size bytes of 'x' in 1 MB
// chunks, calling check every 16 MB. It returns how much was written when
// the server cut the connection, and fails the test if the server neither
// reads nor closes for 10 s or does not close at all.
func flood(t *testing.T, addr, head string, size int64, check func(sent int64)) int64 {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	chunk := bytes.Repeat([]byte("x"), 1<<20)
	c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, werr := c.Write([]byte(head))
	sent := int64(0)
	for werr == nil && sent < size {
		c.SetWriteDeadline(time.Now().Add(10 * time.Second))
		var n int
		n, werr = c.Write(chunk)
		sent += int64(n)
		if sent%(16<<20) == 0 {
			check(sent)
		}
	}
	var ne net.Error
	if werr == nil || (errors.As(werr, &ne) && ne.Timeout()) {
		t.Fatalf("%d MB sent, the connection is still open (%v)", sent>>20, werr)
	}
	// Whatever was answered, the next read ends: EOF or a reset.
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, rerr := io.Copy(io.Discard, c)
	if errors.As(rerr, &ne) && ne.Timeout() {
		t.Fatal("the endpoint stopped reading but kept the connection open")
	}
	return sent
}

// rssMB is the resident set size of process pid in MB.
func rssMB(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`VmRSS:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no VmRSS in /proc/%d/status", pid)
	}
	kb, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return kb >> 10
}

// TestAdminConnectionCap: the admin endpoint serves 64 connections at
// once; the next is answered "max number of clients reached" and closed,
// and one is accepted again once another leaves.
func TestAdminConnectionCap(t *testing.T) {
	_, adminAddr := startAdminSync(t)
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	ask := func(c net.Conn) (string, error) { // PING, read one line
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write([]byte("*1\r\n$4\r\nPING\r\n")); err != nil {
			return "", err
		}
		return bufio.NewReader(c).ReadString('\n')
	}
	for i := 0; i < 64; i++ {
		c, err := net.Dial("tcp", adminAddr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		if line, err := ask(c); err != nil || !strings.HasPrefix(line, "-NOAUTH") {
			t.Fatalf("connection %d: %q %v", i+1, line, err)
		}
	}
	extra, err := net.Dial("tcp", adminAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	extra.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := io.ReadAll(extra)
	if err != nil || string(got) != "-ERR max number of clients reached\r\n" {
		t.Fatalf("connection 65: %q %v, want the refusal then EOF", got, err)
	}
	conns[0].Close()
	adm := redis.NewClient(&redis.Options{Addr: adminAddr, Password: "pw", Protocol: 2, DisableIndentity: true, MaxRetries: -1})
	defer adm.Close()
	waitInfo(t, adm, 5*time.Second, "a connection served once one left", func(m map[string]string) bool { return m["phase"] == "streaming" })
}

// startAdminSync runs a sync of an empty source with --admin on a free
// loopback port and password "pw", and waits until it streams.
func startAdminSync(t *testing.T) (*replicant, string) {
	t.Helper()
	src := startServer(t, redistest.Options{Args: []string{"--repl-diskless-sync-delay", "0"}})
	dst := startServer(t, redistest.Options{})
	adminAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	r := startReplicant(t, "sync", "--source", url(src), "--target", url(dst), "--log-format", "json",
		"--admin", adminAddr, "--admin-password", "pw", "--status-interval", "0")
	r.waitOutput(t, `"message":"streaming"`, 30*time.Second)
	return r, adminAddr
}
