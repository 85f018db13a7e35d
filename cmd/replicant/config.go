package main

import (
	"bytes"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
	"gopkg.in/yaml.v3"
)

// envPrefix starts the environment variable of each flag: REPLICANT_ and
// the flag's name upper-cased, "-" as "_" (--expire-margin:
// REPLICANT_EXPIRE_MARGIN).
const envPrefix = "REPLICANT_"

// configFlag names the flag choosing the configuration file.
const configFlag = "config"

// configHelp ends the --help output of every subcommand.
const configHelp = `
Configuration:
  Every flag can also be set in a file given with --config FILE (or
  REPLICANT_CONFIG): YAML (.yaml, .yml) or TOML (.toml), one key per flag,
  named as the flag ("expire-margin: 30s"), a list for a repeatable flag
  ("db: [0, 2]"); and by an environment variable: REPLICANT_ and the flag's
  name in upper case with "-" as "_" (REPLICANT_EXPIRE_MARGIN=30s). The
  command line wins over the environment, which wins over the file, which
  wins over the defaults. A key or a REPLICANT_ variable that names no flag
  of any replicant command is an error, except the variables Kubernetes
  injects for a Service named replicant (REPLICANT_PORT,
  REPLICANT_SERVICE_HOST...), which are ignored; one naming another
  command's flag is left alone, so one file or environment can serve sync,
  verify and cutover.
`

// addConfigFlag defines --config on fs and returns where its value goes.
func addConfigFlag(fs *flag.FlagSet) *string {
	return fs.String(configFlag, "", "YAML or TOML `file` setting flags (keys: the flags' names); see Configuration below")
}

// applyConfig sets each flag of fs that the command line left unset from
// the environment (environ, as os.Environ gives it) or, failing that, from
// the configuration file: the --config flag's value, else REPLICANT_CONFIG.
// It runs after fs.Parse, so that fs.Visit tells the flags given on the
// command line. A key or variable naming no flag of any command is an
// error; so is a value its flag refuses.
func applyConfig(fs *flag.FlagSet, environ []string) error {
	onCommandLine := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { onCommandLine[f.Name] = true })
	env, err := configEnv(environ)
	if err != nil {
		return err
	}
	file, err := loadConfigFile(fs, env)
	if err != nil {
		return err
	}
	var errs []string
	// fs.Set, not f.Value.Set: a flag set here counts as given, as on the
	// command line, for fs.Visit (--sample implies --mode sample).
	fs.VisitAll(func(f *flag.Flag) {
		if onCommandLine[f.Name] || f.Name == configFlag {
			return
		}
		if v, ok := env[f.Name]; ok {
			if err := setFlag(fs, f.Name, envPrefix+envName(f.Name), v); err != nil {
				errs = append(errs, err.Error())
			}
			return
		}
		for _, v := range file.values[f.Name] {
			if err := setFlag(fs, f.Name, file.path+": "+f.Name, v); err != nil {
				errs = append(errs, err.Error())
				return
			}
		}
	})
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// envName is the environment variable suffix of a flag.
func envName(flagName string) string {
	return strings.ReplaceAll(strings.ToUpper(flagName), "-", "_")
}

// configEnv returns the REPLICANT_ variables of environ by flag name. A
// variable naming no flag of any command is an error.
func configEnv(environ []string) (map[string]string, error) {
	known := knownFlags()
	byEnv := map[string]string{}
	for name := range known {
		byEnv[envName(name)] = name
	}
	env := map[string]string{}
	var unknown []string
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		suffix, ok := strings.CutPrefix(k, envPrefix)
		if !ok {
			continue
		}
		name, ok := byEnv[suffix]
		if kubernetesServiceVar.MatchString(suffix) && (!ok || serviceAddrRe.MatchString(v)) {
			// A Service's address, which Kubernetes injects: one that
			// happens to be a flag's variable (a Service
			// "replicant-replica" sets REPLICANT_REPLICA_PORT) holds a
			// URL no flag takes.
			continue
		}
		if !ok {
			unknown = append(unknown, k)
			continue
		}
		env[name] = v
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("unknown environment variable %s: no replicant flag has that name", strings.Join(unknown, ", "))
	}
	return env, nil
}

// kubernetesServiceVar matches the suffix (after REPLICANT_) of the
// variables Kubernetes injects into every pod for a Service named
// "replicant" or "replicant-<name>": REPLICANT_SERVICE_HOST,
// REPLICANT_SERVICE_PORT[_<port name>], REPLICANT_PORT,
// REPLICANT_PORT_6379_TCP[_PROTO|_PORT|_ADDR], and the same after
// REPLICANT_<NAME>_. They name no flag and are ignored.
var kubernetesServiceVar = regexp.MustCompile(`^(?:[A-Z0-9_]+_)?(?:SERVICE_HOST|SERVICE_PORT(?:_[A-Z0-9_]+)?|PORT|PORT_[0-9]+_(?:TCP|UDP|SCTP)(?:_PROTO|_PORT|_ADDR)?)$`)

// serviceAddrRe matches the value of a Kubernetes <SERVICE>_PORT variable.
var serviceAddrRe = regexp.MustCompile(`^(tcp|udp|sctp)://`)

// knownFlags are the flags of every command, and --config: a key or
// variable naming one of them is valid for any command.
func knownFlags() map[string]bool {
	known := map[string]bool{configFlag: true}
	for _, fs := range []*flag.FlagSet{syncFlags(new(syncOptions)), verifyFlags(new(verifyOptions)), cutoverFlags(new(cutoverOptions))} {
		fs.VisitAll(func(f *flag.Flag) { known[f.Name] = true })
	}
	return known
}

// configFile is a parsed configuration file: each flag's values as the
// command line would give them, in order (more than one only for a
// repeatable flag).
type configFile struct {
	path   string
	values map[string][]string
}

// loadConfigFile reads the file named by --config or REPLICANT_CONFIG;
// none is an empty configFile.
func loadConfigFile(fs *flag.FlagSet, env map[string]string) (configFile, error) {
	path := env[configFlag]
	if f := fs.Lookup(configFlag); f != nil && f.Value.String() != "" {
		path = f.Value.String()
	}
	if path == "" {
		return configFile{}, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return configFile{}, fmt.Errorf("--config: %w", err)
	}
	var raw map[string]any
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".yaml", ".yml":
		raw, err = parseYAML(data)
	case ".toml":
		raw, err = parseTOML(data)
	default:
		return configFile{}, fmt.Errorf("--config %s: unknown format %q: want .yaml, .yml or .toml", path, ext)
	}
	if err != nil {
		return configFile{}, fmt.Errorf("--config %s: %w", path, err)
	}
	values, err := flagValues(fs, raw)
	if err != nil {
		return configFile{}, fmt.Errorf("--config %s: %w", path, err)
	}
	return configFile{path: path, values: values}, nil
}

// parseYAML reads a mapping of flag names to values. Scalars keep their
// text as written ("1e9", "0x10", "30s"), which the flag then parses.
func parseYAML(data []byte) (map[string]any, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 {
		return map[string]any{}, nil // an empty file
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("want a mapping of flag names to values")
	}
	out := map[string]any{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if _, dup := out[k.Value]; dup {
			return nil, fmt.Errorf("line %d: %s given twice", k.Line, k.Value)
		}
		val, err := yamlValue(v)
		if err != nil {
			return nil, fmt.Errorf("line %d: %s: %w", v.Line, k.Value, err)
		}
		out[k.Value] = val
	}
	return out, nil
}

// yamlValue is a scalar's text, or a list of them.
func yamlValue(n *yaml.Node) (any, error) {
	switch {
	case n.Kind == yaml.AliasNode:
		return yamlValue(n.Alias)
	case n.Kind == yaml.ScalarNode && n.Tag == "!!null":
		return nil, fmt.Errorf(`no value (write "" for an empty string)`)
	case n.Kind == yaml.ScalarNode:
		return yamlScalar(n), nil
	case n.Kind == yaml.SequenceNode:
		list := make([]any, 0, len(n.Content))
		for _, e := range n.Content {
			if e.Kind != yaml.ScalarNode || e.Tag == "!!null" {
				return nil, fmt.Errorf("a list may hold only plain values")
			}
			list = append(list, yamlScalar(e))
		}
		return list, nil
	}
	return nil, fmt.Errorf("want a value or a list of values, not a mapping")
}

// yamlScalar is a scalar's text; a float with an integral value (1e9) is
// written as an integer, which integer flags take.
func yamlScalar(n *yaml.Node) string {
	if n.Tag == "!!float" {
		if f, err := strconv.ParseFloat(n.Value, 64); err == nil && f == math.Trunc(f) && math.Abs(f) < 1<<63 {
			return strconv.FormatInt(int64(f), 10)
		}
	}
	return n.Value
}

// parseTOML reads a table of flag names to values.
func parseTOML(data []byte) (map[string]any, error) {
	out := map[string]any{}
	if _, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&out); err != nil {
		return nil, err
	}
	return out, nil
}

// flagValues checks the keys of raw against fs and the other commands'
// flags, and turns each value into the strings the command line would
// give. Keys naming another command's flag are left out.
func flagValues(fs *flag.FlagSet, raw map[string]any) (map[string][]string, error) {
	known := knownFlags()
	var unknown []string
	values := map[string][]string{}
	names := make([]string, 0, len(raw))
	for k := range raw {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		if name == configFlag {
			return nil, fmt.Errorf("%s: a configuration file cannot name another", name)
		}
		if !known[name] {
			unknown = append(unknown, name)
			continue
		}
		f := fs.Lookup(name)
		if f == nil {
			continue // another command's flag
		}
		vs, err := scalarStrings(raw[name], repeatable(f.Value))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		values[name] = vs
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("unknown key %s: no replicant flag has that name", strings.Join(unknown, ", "))
	}
	return values, nil
}

// repeatable reports whether a flag may take a list: one of the flag
// package's own (fs.String, fs.Int, fs.Duration...) takes one value; a
// flag.Value of replicant's own (--db, --skip-prefix) is set once per
// element, as each repetition on the command line would.
func repeatable(v flag.Value) bool {
	if _, ok := v.(interface{ single() }); ok {
		return false
	}
	t := reflect.TypeOf(v)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.PkgPath() != "flag"
}

// scalarStrings renders one value, or a list for a repeatable flag.
func scalarStrings(v any, list bool) ([]string, error) {
	items, isList := v.([]any)
	if !isList {
		s, err := scalarString(v)
		return []string{s}, err
	}
	if !list {
		return nil, fmt.Errorf("takes one value, not a list")
	}
	out := make([]string, 0, len(items))
	for _, e := range items {
		s, err := scalarString(e)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func scalarString(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case bool:
		return strconv.FormatBool(v), nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<63 {
			return strconv.FormatInt(int64(v), 10), nil
		}
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	}
	return "", fmt.Errorf("want a string, a number or a boolean, not %T", v)
}
