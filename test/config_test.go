package test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/replicant/replicant/test/redistest"
)

// Passwords that must never show in replicant's output.
const (
	sourcePassword = "src-Pa55word-7f3e"
	adminPassword  = "adm-Pa55word-91c2"
)

func writeConfig(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestConfigFileAndEnvSync runs "replicant sync" with no flag at all: the
// source, its password and the admin endpoint come from a YAML file named by
// REPLICANT_CONFIG, the target and the log format from the environment. It
// syncs, and no password shows in the log or in the admin INFO.
func TestConfigFileAndEnvSync(t *testing.T) {
	src := startServer(t, redistest.Options{Args: []string{"--requirepass", sourcePassword}, Password: sourcePassword})
	dst := startServer(t, redistest.Options{})
	ctx := context.Background()
	if _, err := redistest.Fill(ctx, src, redistest.FillOptions{Seed: 71, DBs: 2, KeysPerType: 10}); err != nil {
		t.Fatal(err)
	}
	adminAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	path := writeConfig(t, "replicant.yaml", fmt.Sprintf(`# replicant sync, configured by file
source: redis://:%s@%s
admin: %s
admin-password: %s
status-interval: 200ms
log-level: debug
window: 64
`, sourcePassword, src.Addr, adminAddr, adminPassword))
	t.Setenv("REPLICANT_CONFIG", path)
	t.Setenv("REPLICANT_TARGET", url(dst))
	t.Setenv("REPLICANT_LOG_FORMAT", "json")
	t.Setenv("REPLICANT_WINDOW", "128") // the environment wins over the file
	r := startReplicant(t, "sync")
	assertEqual(t, src, dst, 60*time.Second)
	r.waitOutput(t, `"message":"streaming"`, 10*time.Second)

	adm := redis.NewClient(&redis.Options{Addr: adminAddr, Password: adminPassword, Protocol: 2, DisableIndentity: true, MaxRetries: -1})
	defer adm.Close()
	info, err := adm.Info(ctx).Result()
	if err != nil {
		t.Fatalf("admin INFO with the file's --admin-password: %v", err)
	}
	if !strings.Contains(info, "phase:streaming") {
		t.Fatalf("admin INFO:\n%s", info)
	}
	if code := r.stop(t); code != 0 {
		t.Fatalf("exit status %d after SIGTERM, want 0", code)
	}
	assertEqualAfterStop(t, src, dst, 0)
	checkNoSecret(t, "admin INFO", info)
	checkNoSecret(t, "log", r.out.String())
	if !strings.Contains(r.out.String(), `"source":"redis://:xxxxx@`+src.Addr) {
		t.Errorf("the start line does not show the redacted source:\n%s", tail(r.out.String(), 40))
	}
}

// TestConfigErrorExit: a misspelt key or variable stops replicant with exit
// status 2 and a line naming it.
func TestConfigErrorExit(t *testing.T) {
	path := writeConfig(t, "replicant.toml", "source = \"redis://127.0.0.1:1\"\ntarget = \"redis://127.0.0.1:2\"\nwindw = 3\n")
	r := startReplicant(t, "sync", "--config", path)
	if code := r.wait(t, 10*time.Second); code != 2 || !strings.Contains(r.out.String(), "unknown key windw") {
		t.Fatalf("exit status %d, output %q; want 2 and the key named", code, r.out.String())
	}
	t.Setenv("REPLICANT_TAGRET", "redis://127.0.0.1:2")
	r = startReplicant(t, "sync", "--source", "redis://127.0.0.1:1", "--target", "redis://127.0.0.1:2")
	if code := r.wait(t, 10*time.Second); code != 2 || !strings.Contains(r.out.String(), "REPLICANT_TAGRET") {
		t.Fatalf("exit status %d, output %q; want 2 and the variable named", code, r.out.String())
	}
}

// TestBadURLExit: a URL with no host, port 0, a database path or a query
// is a usage error: exit status 2 and a line saying what is wrong, before
// any connection is tried.
func TestBadURLExit(t *testing.T) {
	for bad, want := range map[string]string{
		"redis://":              "has no host",
		"redis://127.0.0.1:0":   "bad port",
		"redis://127.0.0.1:1/5": "--db 5",
		"redis://127.0.0.1:1?x": "query in the URL",
	} {
		for _, args := range [][]string{
			{"sync", "--source", bad, "--target", "redis://127.0.0.1:2"},
			{"sync", "--source", "redis://127.0.0.1:1", "--target", bad},
			{"verify", "--source", bad, "--target", "redis://127.0.0.1:2"},
		} {
			r := startReplicant(t, args...)
			if code := r.wait(t, 10*time.Second); code != 2 || !strings.Contains(r.out.String(), want) {
				t.Errorf("%q: exit status %d, output %q; want 2 and %q", args, code, r.out.String(), want)
			}
		}
	}
}

// TestSecretsNotLogged runs sync with the source's password in the URL on
// the command line, the admin password in a TOML file, debug logs in text
// and JSON, and a metrics endpoint; then with a wrong password and a bad
// URL, which fail. No password shows in any output.
func TestSecretsNotLogged(t *testing.T) {
	src := startServer(t, redistest.Options{Args: []string{"--requirepass", sourcePassword}, Password: sourcePassword})
	ctx := context.Background()
	if _, err := redistest.Fill(ctx, src, redistest.FillOptions{Seed: 72, DBs: 1, KeysPerType: 10}); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"json", "text"} {
		t.Run(format, func(t *testing.T) {
			dst := startServer(t, redistest.Options{})
			adminAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
			metricsAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
			path := writeConfig(t, "replicant.toml", fmt.Sprintf("admin = %q\nadmin-password = %q\nmetrics = %q\n",
				adminAddr, adminPassword, metricsAddr))
			r := startReplicant(t, "sync", "--config", path, "--source", "redis://default:"+sourcePassword+"@"+src.Addr,
				"--target", url(dst), "--log-format", format, "--log-level", "debug", "--status-interval", "200ms")
			assertEqual(t, src, dst, 60*time.Second)
			r.waitOutput(t, "streaming", 10*time.Second)
			adm := redis.NewClient(&redis.Options{Addr: adminAddr, Password: adminPassword, Protocol: 2, DisableIndentity: true, MaxRetries: -1})
			defer adm.Close()
			info, err := adm.Info(ctx, "everything").Result()
			if err != nil {
				t.Fatal(err)
			}
			checkNoSecret(t, "admin INFO", info)
			checkNoSecret(t, "/metrics", httpGet(t, "http://"+metricsAddr+"/metrics"))
			if code := r.stop(t); code != 0 {
				t.Fatalf("exit status %d after SIGTERM, want 0", code)
			}
			checkNoSecret(t, "log", r.out.String())
		})
	}
	t.Run("failures", func(t *testing.T) {
		dst := startServer(t, redistest.Options{})
		for _, source := range []string{
			"redis://default:" + sourcePassword + "x@" + src.Addr, // wrong password
			"redis://:" + sourcePassword + "@",                    // no host
			"redis://:" + sourcePassword + "%zz@" + src.Addr,      // bad escape
			"redis://:" + sourcePassword + "@" + src.Addr + ":x",  // bad port
		} {
			r := startReplicant(t, "sync", "--source", source, "--target", url(dst), "--log-level", "debug")
			if code := r.wait(t, 30*time.Second); code == 0 {
				t.Fatalf("--source %s: exit status 0", source)
			}
			checkNoSecret(t, "output of a failed run", r.out.String())
		}
		t.Setenv("REPLICANT_SOURCE", "redis://:"+sourcePassword+"@")
		r := startReplicant(t, "verify", "--target", url(dst))
		r.wait(t, 30*time.Second)
		checkNoSecret(t, "output of verify", r.out.String())
	})
}

func checkNoSecret(t *testing.T, what, s string) {
	t.Helper()
	for _, pw := range []string{sourcePassword, adminPassword} {
		if strings.Contains(s, pw) {
			t.Errorf("%s shows a password:\n%s", what, tail(s, 40))
		}
	}
}

func httpGet(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
