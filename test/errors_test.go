package test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/replicant/replicant/test/redistest"
)

// TestClearErrors runs replicant against each kind of bad input and checks
// the exit status and the one line that explains it.
func TestClearErrors(t *testing.T) {
	src := startServer(t, redistest.Options{Args: []string{"--requirepass", "right"}, Password: "right"})
	dst := startServer(t, redistest.Options{})
	ctx := context.Background()
	err := src.Client.Do(ctx, "ACL", "SETUSER", "weak", "on", ">weakpw", "-@all", "+ping").Err()
	if err != nil {
		t.Fatal(err)
	}
	good := "redis://:right@" + src.Addr
	cases := []struct {
		name, source, target string
		code                 int
		want                 []string
	}{
		{"bad source URL", "http://" + src.Addr, url(dst), 2, []string{"--source", "scheme"}},
		{"bad target URL", good, "redis://host:notaport", 2, []string{"--target"}},
		{"source refused", "redis://127.0.0.1:1", url(dst), 1, []string{"127.0.0.1:1", "connection refused"}},
		{"wrong password", "redis://:wrong@" + src.Addr, url(dst), 1, []string{"AUTH", "WRONGPASS"}},
		{"no password", url(src), url(dst), 1, []string{"NOAUTH", "password"}},
		{"missing ACL permission", "redis://weak:weakpw@" + src.Addr, url(dst), 1, []string{"NOPERM", "+psync"}},
		{"target unreachable", good, "redis://127.0.0.1:1", 1, []string{"target", "connection refused"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := startReplicant(t, "sync", "--source", c.source, "--target", c.target, "--log-format", "json")
			code := r.wait(t, 20*time.Second)
			out := r.out.String()
			if code != c.code {
				t.Fatalf("exit status %d, want %d; output:\n%s", code, c.code, out)
			}
			last := lastLine(out)
			for _, w := range c.want {
				if !strings.Contains(last, w) {
					t.Errorf("last line %q lacks %q", last, w)
				}
			}
			if strings.Contains(out, "goroutine ") || strings.Contains(out, "panic") {
				t.Errorf("panic trace in output:\n%s", out)
			}
			if strings.Contains(out, "wrong") && c.name == "wrong password" && strings.Contains(out, ":wrong@") {
				t.Errorf("password printed in output:\n%s", out)
			}
		})
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestSourceReplicaWithLinkDown points replicant at a replica whose link to
// its master is down: replicant retries until the link is up, then syncs.
func TestSourceReplicaWithLinkDown(t *testing.T) {
	master := startServer(t, redistest.Options{Args: []string{"--requirepass", "mpw"}, Password: "mpw"})
	replica := startServer(t, redistest.Options{})
	dst := startServer(t, redistest.Options{})
	ctx := context.Background()
	if _, err := redistest.Fill(ctx, master, redistest.FillOptions{Seed: 7, DBs: 1, KeysPerType: 5}); err != nil {
		t.Fatal(err)
	}
	// Without masterauth the replica's link stays down.
	if err := replica.Client.Do(ctx, "REPLICAOF", "127.0.0.1", master.Port).Err(); err != nil {
		t.Fatal(err)
	}
	r := startReplicant(t, "sync", "--source", url(replica), "--target", url(dst), "--retry-max", "500ms")
	r.waitOutput(t, "NOMASTERLINK", 15*time.Second)
	if !r.running() {
		t.Fatal("replicant gave up on a replica whose link is down")
	}
	if err := replica.Client.ConfigSet(ctx, "masterauth", "mpw").Err(); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, master, dst, 30*time.Second)
	if code := r.stop(t); code != 0 {
		t.Fatalf("exit status %d", code)
	}
	assertEqualAfterStop(t, master, dst, 0)
}
