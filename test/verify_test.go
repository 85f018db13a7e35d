package test

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/replicant/replicant/test/redistest"
)

// replicaPair starts a source filled with every type on dbs 0-3 and a real
// replica of it, in sync.
func replicaPair(t *testing.T, seed int64) (src, dst *redistest.Server) {
	t.Helper()
	src = startServer(t, redistest.Options{Args: []string{"--repl-diskless-sync-delay", "0"}})
	dst = startServer(t, redistest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := redistest.Fill(ctx, src, redistest.FillOptions{Seed: seed}); err != nil {
		t.Fatal(err)
	}
	if err := dst.ReplicaOf(ctx, src); err != nil {
		t.Fatal(err)
	}
	if err := redistest.WaitInSync(ctx, src, dst); err != nil {
		t.Fatal(err)
	}
	return src, dst
}

// TestVerifyEqual verifies a real replica in sync: exit status 0 and an
// "equal" summary counting every key of the 4 dbs.
func TestVerifyEqual(t *testing.T) {
	src, dst := replicaPair(t, 11)
	n, err := src.Client.DBSize(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	r := startReplicant(t, "verify", "--source", url(src), "--target", url(dst), "--log-format", "json")
	if code := r.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit status %d, want 0", code)
	}
	want := fmt.Sprintf(`^equal: %d keys in 4 dbs compared in [0-9.]+s \([0-9.]+[kM]? keys/s\)$`, 4*n)
	if last := lastLine(r.out.String()); !regexp.MustCompile(want).MatchString(last) {
		t.Fatalf("summary %q does not match %s", last, want)
	}
}

// TestVerifyDifferent plants differences on a detached replica: exit status
// 1, a line for each, and a summary counting them.
func TestVerifyDifferent(t *testing.T) {
	src, dst := replicaPair(t, 12)
	ctx := context.Background()
	run := func(s *redistest.Server, db int, args ...any) {
		t.Helper()
		if err := s.ClientDB(db).Do(ctx, args...).Err(); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
	run(dst, 0, "REPLICAOF", "NO", "ONE")
	run(src, 0, "SET", "p:value", "source")
	run(dst, 0, "SET", "p:value", "target")
	run(src, 1, "HSET", "p:missing", "f", "v")
	run(dst, 2, "SADD", "p:extra", "m")
	run(src, 3, "SET", "p:ttl", "v")
	run(dst, 3, "SET", "p:ttl", "v", "EX", 5000)
	run(src, 0, "SET", "replicant:checkpoint", "1") // skipped

	r := startReplicant(t, "verify", "--source", url(src), "--target", url(dst),
		"--rounds", "2", "--round-delay", "10ms", "--skip-prefix", "replicant:", "--log-format", "json")
	if code := r.wait(t, 30*time.Second); code != 1 {
		t.Fatalf("exit status %d, want 1", code)
	}
	out := r.out.String()
	for _, want := range []string{
		`db 0 key "p:value": value: "source" vs "target"`,
		`db 1 key "p:missing": missing: hash on source (ttl none), not on target`,
		`db 2 key "p:extra": extra: set on target (ttl none), not on source`,
		`db 3 key "p:ttl": ttl: none vs 499`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(out, "replicant:checkpoint") {
		t.Errorf("a skipped key is reported")
	}
	last := lastLine(out)
	if !strings.HasPrefix(last, "DIFFERENT: 4 of ") || !strings.Contains(last, "(1 missing, 1 extra, 1 value, 1 ttl)") ||
		!strings.Contains(last, "2 rounds") {
		t.Fatalf("summary: %q", last)
	}
}

// TestVerifySample samples a database larger than the sample, and one that
// the sample covers whole, where it finds the planted difference.
func TestVerifySample(t *testing.T) {
	src, dst := replicaPair(t, 13)
	ctx := context.Background()
	if err := dst.Client.Do(ctx, "REPLICAOF", "NO", "ONE").Err(); err != nil {
		t.Fatal(err)
	}
	r := startReplicant(t, "verify", "--source", url(src), "--target", url(dst), "--sample", "50", "--db", "0,1", "--log-format", "json")
	if code := r.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit status %d, want 0", code)
	}
	if last := lastLine(r.out.String()); !strings.HasPrefix(last, "equal: 100 keys in 2 dbs") {
		t.Fatalf("summary: %q", last)
	}
	if err := dst.ClientDB(1).Set(ctx, "list:small:0", "changed", 0).Err(); err != nil {
		t.Fatal(err)
	}
	r = startReplicant(t, "verify", "--source", url(src), "--target", url(dst), "--mode", "sample", "--sample", "100000", "--db", "1", "--rounds", "1", "--log-format", "json")
	if code := r.wait(t, 30*time.Second); code != 1 {
		t.Fatalf("exit status %d, want 1", code)
	}
	if out := r.out.String(); !strings.Contains(out, `db 1 key "list:small:0": type: list vs string`) {
		t.Fatalf("difference not reported:\n%s", out)
	}
}

// TestVerifyOverTLS verifies two rediss:// servers filled alike.
func TestVerifyOverTLS(t *testing.T) {
	ca, cert, key := writeTestPKI(t, t.TempDir())
	var urls []string
	for range 2 {
		port := freePort(t)
		s := startServer(t, redistest.Options{Args: []string{"--tls-port", strconv.Itoa(port),
			"--tls-cert-file", cert, "--tls-key-file", key, "--tls-ca-cert-file", ca, "--tls-auth-clients", "no"}})
		if _, err := redistest.Fill(context.Background(), s, redistest.FillOptions{Seed: 14, DBs: 2, KeysPerType: 5}); err != nil {
			t.Fatal(err)
		}
		urls = append(urls, "rediss://127.0.0.1:"+strconv.Itoa(port))
	}
	r := startReplicant(t, "verify", "--tls-ca", ca, "--source", urls[0], "--target", urls[1], "--log-format", "json")
	if code := r.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit status %d, want 0", code)
	}
}

// TestVerifyErrors: usage errors exit 2, connection failures 1, each with
// one clear line.
func TestVerifyErrors(t *testing.T) {
	src := startServer(t, redistest.Options{Args: []string{"--requirepass", "right"}, Password: "right"})
	good := "redis://:right@" + src.Addr
	for _, c := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"no target", []string{"--source", good}, 2, []string{"--source and --target are required"}},
		{"bad mode", []string{"--source", good, "--target", good, "--mode", "most"}, 2, []string{"--mode"}},
		{"bad db", []string{"--source", good, "--target", good, "--db", "x"}, 2, []string{"-db", "not a database number"}},
		{"wrong password", []string{"--source", good, "--target", "redis://:wrong@" + src.Addr}, 1, []string{"target " + src.Addr, "WRONGPASS"}},
		{"refused", []string{"--source", "redis://127.0.0.1:1", "--target", good}, 1, []string{"source 127.0.0.1:1", "connection refused"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := startReplicant(t, append([]string{"verify", "--log-format", "json"}, c.args...)...)
			if code := r.wait(t, 20*time.Second); code != c.code {
				t.Fatalf("exit status %d, want %d; output:\n%s", code, c.code, r.out.String())
			}
			last := lastLine(r.out.String())
			for _, w := range c.want {
				if !strings.Contains(last, w) {
					t.Errorf("last line %q lacks %q", last, w)
				}
			}
			if strings.Contains(r.out.String(), ":wrong@") || strings.Contains(r.out.String(), ":right@") {
				t.Errorf("password printed:\n%s", r.out.String())
			}
		})
	}
}
