package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/replicant/replicant/verify"
)

func TestVerifyFlags(t *testing.T) {
	parse := func(args ...string) (verify.Config, error) {
		var o verifyOptions
		fs := verifyFlags(&o)
		if err := fs.Parse(args); err != nil {
			return verify.Config{}, err
		}
		return o.config(fs)
	}
	base := []string{"--source", "redis://a:1", "--target", "rediss://u:p@b:2"}
	c, err := parse(append(base, "--db", "1,3", "--db", "5", "--skip-prefix", "x:", "--round-delay", "0")...)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.DBs) != 3 || c.DBs[2] != 5 || c.SkipKeys[0] != "x:" || c.Mode != verify.Full || c.RoundDelay >= 0 {
		t.Fatalf("config: %+v", c)
	}
	if c.Target.Options.Username != "u" || c.Target.Options.TLSConfig == nil || c.Target.Kind != verify.Auto {
		t.Fatalf("target: %+v", c.Target)
	}
	if c, err = parse(append(base, "--sample", "7")...); err != nil || c.Mode != verify.Sample || c.Sample != 7 {
		t.Fatalf("--sample alone: %v %+v", err, c)
	}
	if c, err = parse(append(base, "--mode", "sample")...); err != nil || c.Sample != 10000 {
		t.Fatalf("--mode sample alone: %v %+v", err, c)
	}
	for _, bad := range [][]string{
		{"--mode", "full", "--sample", "5"},
		{"--sample", "0"},
		{"--target-kind", "memcached"},
		{"--rounds", "0"},
		{"--ttl-tolerance", "0s"},
	} {
		if _, err := parse(append(base, bad...)...); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestVerifySummary(t *testing.T) {
	r := &verify.Result{Equal: true, Keys: 1000000, DBs: make([]verify.DBResult, 4),
		FirstPass: 6100 * time.Millisecond, Elapsed: 6100 * time.Millisecond, Rounds: 1}
	if got := summary(r); got != "equal: 1000000 keys in 4 dbs compared in 6.1s (164k keys/s)" {
		t.Errorf("equal: %s", got)
	}
	r = &verify.Result{Keys: 1000, Differing: 3, DBs: make([]verify.DBResult, 2),
		ByKind:    map[verify.DiffKind]int64{verify.Missing: 2, verify.Value: 1, verify.Function: 1},
		Functions: true, Diffs: make([]verify.Diff, 2), FirstPass: time.Second, Elapsed: 3 * time.Second, Rounds: 3}
	want := "DIFFERENT: 3 of 1000 keys differ (2 missing, 1 value) in 2 dbs compared in 1.0s (1k keys/s), 3 rounds in 3.0s; function libraries differ; 2 differences shown"
	if got := summary(r); got != want {
		t.Errorf("different:\n got %s\nwant %s", got, want)
	}
}

func TestVerifyUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"verify", "--help"}, &out, &errOut); code != exitOK {
		t.Fatalf("--help: exit %d", code)
	}
	for _, flag := range []string{"-source", "-target", "-target-kind", "-mode", "-sample", "-ttl-tolerance", "-rounds", "-db", "-skip-prefix", "-parallel", "-max-report", "-log-format", "-log-level", "Exit status"} {
		if !strings.Contains(out.String(), flag) {
			t.Errorf("--help lacks %s", flag)
		}
	}
	if code := run([]string{"verify", "--source", "redis://a:1"}, &out, &errOut); code != exitUsage {
		t.Fatalf("no target: exit %d", code)
	}
}

func TestGlobExact(t *testing.T) {
	for key, want := range map[string]string{
		"replicant:checkpoint": "[r]eplicant:checkpoint",
		"a*b":                  `a\*b`,
		"::":                   "::",
	} {
		if got := globExact(key); got != want {
			t.Errorf("%q: got %q, want %q", key, got, want)
		}
	}
}
