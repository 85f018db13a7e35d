package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/replicant/replicant/verify"
)

// parseSync parses args as sync's flags with environ and returns the options.
func parseSync(t *testing.T, args, environ []string) (syncOptions, error) {
	t.Helper()
	var o syncOptions
	fs := syncFlags(&o)
	addConfigFlag(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return o, applyConfig(fs, environ)
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const yamlConfig = `
source: redis://:pw@127.0.0.1:7001
target: redis://127.0.0.1:7002
window: 64
expire-margin: 30s
tls-insecure: true
spool-max: 1e9
heartbeat-key: ""
timeout: 10s # cutover's: left alone by sync
`

const tomlConfig = `
source = "redis://:pw@127.0.0.1:7001"
target = "redis://127.0.0.1:7002"
window = 64
expire-margin = "30s"
tls-insecure = true
spool-max = 1e9
heartbeat-key = ""
timeout = "10s"
`

func TestConfigFile(t *testing.T) {
	for _, c := range []struct{ name, text string }{{"c.yaml", yamlConfig}, {"c.yml", yamlConfig}, {"c.toml", tomlConfig}} {
		t.Run(c.name, func(t *testing.T) {
			path := writeFile(t, c.name, c.text)
			o, err := parseSync(t, []string{"--config", path}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if o.Source != "redis://:pw@127.0.0.1:7001" || o.Target != "redis://127.0.0.1:7002" ||
				o.Engine.Window != 64 || o.Engine.ExpireMargin != 30*time.Second || !o.TLS.Insecure ||
				o.Engine.SpoolMax != 1e9 || o.Engine.HeartbeatKey != "" {
				t.Fatalf("options from %s: %+v", c.name, o)
			}
			if o.Engine.CheckpointKey != "replicant:checkpoint" || o.Engine.RetryMax != 30*time.Second {
				t.Fatalf("defaults lost: %+v", o)
			}
		})
	}
}

// TestConfigPrecedence: command line > environment > file > default.
func TestConfigPrecedence(t *testing.T) {
	path := writeFile(t, "c.yaml", "window: 10\nexpire-margin: 10s\nretry-max: 10s\nsource: redis://file:1\n")
	env := []string{"REPLICANT_WINDOW=20", "REPLICANT_EXPIRE_MARGIN=20s", "REPLICANT_CONFIG=" + path, "HOME=/x", "REPLICANTX=1"}
	o, err := parseSync(t, []string{"--window", "30"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if o.Engine.Window != 30 || o.Engine.ExpireMargin != 20*time.Second || o.Engine.RetryMax != 10*time.Second ||
		o.Source != "redis://file:1" || o.Engine.ConnectTimeout != 5*time.Second {
		t.Fatalf("got window %d (want flag's 30), expire-margin %v (env's 20s), retry-max %v (file's 10s), source %q (file's), connect-timeout %v (default 5s)",
			o.Engine.Window, o.Engine.ExpireMargin, o.Engine.RetryMax, o.Source, o.Engine.ConnectTimeout)
	}
	// --config on the command line wins over REPLICANT_CONFIG.
	other := writeFile(t, "d.toml", "retry-max = \"40s\"\n")
	if o, err = parseSync(t, []string{"--config", other}, env); err != nil || o.Engine.RetryMax != 40*time.Second {
		t.Fatalf("retry-max %v, err %v; want the --config file's 40s", o.Engine.RetryMax, err)
	}
	// An empty variable is a value: it turns the heartbeat off.
	if o, err = parseSync(t, nil, []string{"REPLICANT_HEARTBEAT_KEY="}); err != nil || o.Engine.HeartbeatKey != "" {
		t.Fatalf("heartbeat-key %q, err %v; want empty", o.Engine.HeartbeatKey, err)
	}
}

// TestConfigRepeatable: lists for --db and --skip-prefix; the environment
// replaces the file's list, the command line both.
func TestConfigRepeatable(t *testing.T) {
	parse := func(args, env []string, file string) (verifyOptions, *flag.FlagSet, error) {
		var o verifyOptions
		fs := verifyFlags(&o)
		addConfigFlag(fs)
		if file != "" {
			args = append(args, "--config", file)
		}
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		return o, fs, applyConfig(fs, env)
	}
	yml := writeFile(t, "v.yaml", "db: [0, 2]\nskip-prefix: ['a:', 'b,c:']\nsample: 50\nwindow: 8\n")
	tml := writeFile(t, "v.toml", "db = [0, 2]\nskip-prefix = ['a:', 'b,c:']\nsample = 50\nwindow = 8\n")
	for _, file := range []string{yml, tml} {
		o, fs, err := parse(nil, nil, file)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(o.Compare.DBs, []int{0, 2}) || !reflect.DeepEqual(o.Compare.SkipKeys, []string{"a:", "b,c:"}) {
			t.Fatalf("%s: db %v, skip-prefix %q", file, o.Compare.DBs, o.Compare.SkipKeys)
		}
		// sample from the file implies --mode sample, as on the command line.
		if m, err := o.mode(fs); err != nil || m != verify.Sample || o.Compare.Sample != 50 {
			t.Fatalf("%s: mode %v sample %d err %v", file, m, o.Compare.Sample, err)
		}
	}
	o, _, err := parse(nil, []string{"REPLICANT_DB=1,3"}, yml)
	if err != nil || !reflect.DeepEqual(o.Compare.DBs, []int{1, 3}) {
		t.Fatalf("db %v err %v; want the environment's [1 3] alone", o.Compare.DBs, err)
	}
	o, _, err = parse([]string{"--db", "5"}, []string{"REPLICANT_DB=1,3"}, yml)
	if err != nil || !reflect.DeepEqual(o.Compare.DBs, []int{5}) {
		t.Fatalf("db %v err %v; want the command line's [5] alone", o.Compare.DBs, err)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []struct {
		name, file, text string
		env              []string
		want             []string // in the error
	}{
		{"unknown key", "c.yaml", "source: x\nwindw: 3\nexpire_margin: 1s\n", nil, []string{"unknown key", "expire_margin, windw"}},
		{"unknown key toml", "c.toml", "windw = 3\n", nil, []string{"unknown key windw"}},
		{"unknown env", "", "", []string{"REPLICANT_WINDW=3", "REPLICANT_SOURCE=x", "REPLICANT_FOO=1"}, []string{"REPLICANT_FOO, REPLICANT_WINDW"}},
		{"bad value", "c.yaml", "window: many\n", nil, []string{"c.yaml: window: \"many\""}},
		{"bad env value", "", "", []string{"REPLICANT_EXPIRE_MARGIN=soon"}, []string{`REPLICANT_EXPIRE_MARGIN="soon"`}},
		{"list for one value", "c.yaml", "window: [1, 2]\n", nil, []string{"window: takes one value"}},
		{"mapping", "c.yaml", "window:\n  a: 1\n", nil, []string{"window", "not a mapping"}},
		{"null", "c.yaml", "source:\n", nil, []string{"source: no value"}},
		{"not a mapping", "c.yaml", "- a\n", nil, []string{"want a mapping"}},
		{"bad yaml", "c.yaml", "source: [\n", nil, []string{"c.yaml"}},
		{"bad toml", "c.toml", "source = \n", nil, []string{"c.toml"}},
		{"format", "c.json", "{}", nil, []string{"unknown format", ".json"}},
		{"nested config", "c.yaml", "config: other.yaml\n", nil, []string{"config: a configuration file cannot name another"}},
		{"missing file", "", "", []string{"REPLICANT_CONFIG=/nonexistent/c.yaml"}, []string{"/nonexistent/c.yaml"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var args []string
			if c.file != "" {
				args = []string{"--config", writeFile(t, c.file, c.text)}
			}
			_, err := parseSync(t, args, c.env)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestConfigRun: through run, a bad key is a usage error (exit 2) naming
// it, and --help documents the configuration.
func TestConfigRun(t *testing.T) {
	path := writeFile(t, "c.yaml", "sourc: redis://127.0.0.1:1\n")
	var out, errOut bytes.Buffer
	if code := run([]string{"sync", "--config", path}, &out, &errOut); code != exitUsage || !strings.Contains(errOut.String(), "unknown key sourc") {
		t.Fatalf("exit %d, stderr %q; want 2 and the key named", code, errOut.String())
	}
	t.Setenv("REPLICANT_SOURCES", "x")
	errOut.Reset()
	if code := run([]string{"verify"}, &out, &errOut); code != exitUsage || !strings.Contains(errOut.String(), "REPLICANT_SOURCES") {
		t.Fatalf("exit %d, stderr %q; want 2 and the variable named", code, errOut.String())
	}
	for _, cmd := range []string{"sync", "verify", "cutover"} {
		out.Reset()
		if code := run([]string{cmd, "--help"}, &out, &errOut); code != exitOK {
			t.Fatalf("%s --help: exit %d", cmd, code)
		}
		for _, w := range []string{"-config file", "REPLICANT_EXPIRE_MARGIN", "Configuration:"} {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%s --help has no %q", cmd, w)
			}
		}
	}
}

// TestConfigOtherCommands: a key or variable of another command is left
// alone, so one file serves every command.
func TestConfigOtherCommands(t *testing.T) {
	path := writeFile(t, "c.yaml", "admin: 127.0.0.1:6390\ntimeout: 5s\nwindow: 9\nmode: sample\nsource: redis://x:1\n")
	var o cutoverOptions
	fs := cutoverFlags(&o)
	addConfigFlag(fs)
	if err := fs.Parse([]string{"--config", path}); err != nil {
		t.Fatal(err)
	}
	if err := applyConfig(fs, []string{"REPLICANT_TARGET=redis://y:1", "REPLICANT_KEEP_SYNCING=true"}); err != nil {
		t.Fatal(err)
	}
	if o.Admin != "127.0.0.1:6390" || o.Timeout != 5*time.Second || !o.KeepSyncing {
		t.Fatalf("%+v", o)
	}
}

func TestConfigRepeatableKinds(t *testing.T) {
	var o verifyOptions
	fs := verifyFlags(&o)
	for name, want := range map[string]bool{"db": true, "skip-prefix": true, "source": false, "sample": false, "ttl-tolerance": false, "tls-insecure": false} {
		if got := repeatable(fs.Lookup(name).Value); got != want {
			t.Errorf("repeatable(--%s) = %v, want %v", name, got, want)
		}
	}
}
