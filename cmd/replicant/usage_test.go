package main

import (
	"io"
	"testing"
)

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"4GiB": 4 << 30, "512MiB": 512 << 20, "4GB": 4e9, "4 GiB": 4 << 30, "1048576": 1 << 20,
		"64kib": 64 << 10, "2G": 2 << 30, "500MB": 500e6, "7B": 7,
	} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "x", "4XB", "-1", "1.5GiB", "99999999999TiB"} {
		if _, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q): no error", bad)
		}
	}
	if s := formatSize(4 << 30); s != "4GiB" {
		t.Errorf("formatSize(4 GiB) = %q", s)
	}
}

func TestKubernetesServiceVar(t *testing.T) {
	for _, v := range []string{"PORT", "PORT_6379_TCP", "PORT_6379_TCP_ADDR", "SERVICE_HOST", "SERVICE_PORT",
		"SERVICE_PORT_REDIS", "ADMIN_SERVICE_HOST", "ADMIN_PORT_9121_TCP_PROTO"} {
		if !kubernetesServiceVar.MatchString(v) {
			t.Errorf("REPLICANT_%s not taken for a Kubernetes service variable", v)
		}
	}
	for _, v := range []string{"TAGRET", "SOURCE_URL", "PORTS", "SERVICE"} {
		if kubernetesServiceVar.MatchString(v) {
			t.Errorf("REPLICANT_%s taken for a Kubernetes service variable", v)
		}
	}
}

func TestExplainParseError(t *testing.T) {
	var o syncOptions
	fs := syncFlags(&o)
	for args, want := range map[string]string{
		"--spool-max=x":        `--spool-max: "x": want a size like 4GiB, 512MiB, 4GB or a number of bytes`,
		"--window=many":        `--window: "many": want an integer`,
		"--retry-max=soon":     `--retry-max: "soon": want a duration like 5s, 1m30s or 500ms`,
		"--strict=maybe":       `--strict: "maybe": want true or false`,
		"--db-map=1":           `--db-map: "1": "1" is not FROM=TO[:PREFIX] with two database numbers`,
		"--no-such-flag=value": `flag provided but not defined: -no-such-flag`,
	} {
		fs.SetOutput(io.Discard)
		err := fs.Parse([]string{args})
		if got := explainParseError(fs, err).Error(); got != want {
			t.Errorf("%s: %q, want %q", args, got, want)
		}
	}
	if repeatable(fs.Lookup("spool-max").Value) {
		t.Error("--spool-max taken for a repeatable flag")
	}
}

func TestConfigEnvIgnoresServiceLinks(t *testing.T) {
	env, err := configEnv([]string{"REPLICANT_PORT=tcp://10.0.0.7:6379", "REPLICANT_SERVICE_HOST=10.0.0.7",
		"REPLICANT_REPLICA_PORT=tcp://10.0.0.8:6379", "REPLICANT_WINDOW=64", "PATH=/bin"})
	if err != nil {
		t.Fatal(err)
	}
	if len(env) != 1 || env["window"] != "64" {
		t.Errorf("env %v, want window only", env)
	}
	if env, err := configEnv([]string{"REPLICANT_REPLICA_PORT=7000"}); err != nil || env["replica-port"] != "7000" {
		t.Errorf("REPLICANT_REPLICA_PORT=7000: %v %v", env, err)
	}
	if _, err := configEnv([]string{"REPLICANT_TAGRET=x"}); err == nil {
		t.Error("REPLICANT_TAGRET taken")
	}
}
