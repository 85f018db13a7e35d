package main

import (
	"bytes"
	"strings"
	"testing"

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
