package main

import (
	"flag"
	"fmt"
	"maps"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/replicant/replicant/filter"
)

// sizeFlag is a flag of a number of bytes, with an optional unit: 4GiB,
// 512MiB, 4GB, 64KB, 1048576.
type sizeFlag struct{ p *int64 }

// sizeUnits are the units sizeFlag takes, by lower-case name.
var sizeUnits = map[string]int64{
	"": 1, "b": 1,
	"k": 1 << 10, "kib": 1 << 10, "kb": 1e3,
	"m": 1 << 20, "mib": 1 << 20, "mb": 1e6,
	"g": 1 << 30, "gib": 1 << 30, "gb": 1e9,
	"t": 1 << 40, "tib": 1 << 40, "tb": 1e12,
}

var sizeRe = regexp.MustCompile(`^([0-9]+)\s*([a-zA-Z]*)$`)

func (f sizeFlag) Set(v string) error {
	n, err := parseSize(v)
	if err != nil {
		return err
	}
	*f.p = n
	return nil
}

// parseSize reads a size: digits, then an optional unit (B, KiB, MiB, GiB,
// TiB; KB, MB, GB, TB as powers of ten; K, M, G, T as KiB...).
func parseSize(v string) (int64, error) {
	m := sizeRe.FindStringSubmatch(strings.TrimSpace(v))
	if m == nil {
		return 0, errWantSize
	}
	unit, ok := sizeUnits[strings.ToLower(m[2])]
	n, err := strconv.ParseInt(m[1], 10, 64)
	if !ok || err != nil || n > math.MaxInt64/unit {
		return 0, errWantSize
	}
	return n * unit, nil
}

var errWantSize = fmt.Errorf("want a size like 4GiB, 512MiB, 4GB or a number of bytes")

func (f sizeFlag) String() string {
	if f.p == nil {
		return "0"
	}
	return formatSize(*f.p)
}

// single marks a flag of replicant's own that takes one value, not a list
// (config.go: repeatable).
func (sizeFlag) single() {}

// formatSize writes n with the largest binary unit that divides it.
func formatSize(n int64) string {
	for _, u := range []struct {
		name string
		size int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n != 0 && n%u.size == 0 {
			return strconv.FormatInt(n/u.size, 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10)
}

// wantForm says what a flag of the flag package's own types takes, for an
// error about a value it refused; "" for other flags, whose errors say it.
func wantForm(f *flag.Flag) string {
	switch reflect.TypeOf(f.Value).String() {
	case "*flag.durationValue":
		return "want a duration like 5s, 1m30s or 500ms"
	case "*flag.intValue", "*flag.int64Value":
		return "want an integer"
	case "*flag.uintValue", "*flag.uint64Value":
		return "want a whole number"
	case "*flag.float64Value":
		return "want a number"
	case "*flag.boolValue":
		return "want true or false"
	}
	return ""
}

// setFlag sets a flag of fs by name, and on an error names the flag (as
// name says it: "--spool-max", "REPLICANT_SPOOL_MAX", "file: spool-max"),
// the value, and the form wanted.
func setFlag(fs *flag.FlagSet, flagName, name, v string) error {
	err := fs.Set(flagName, v)
	if err == nil {
		return nil
	}
	if want := wantForm(fs.Lookup(flagName)); want != "" {
		err = fmt.Errorf("%s", want)
	}
	return fmt.Errorf("%s%s: %v", name, quoteValue(name, v), err)
}

// quoteValue is `: "v"`, or `="v"` after an environment variable's name.
func quoteValue(name, v string) string {
	if strings.HasPrefix(name, envPrefix) {
		return fmt.Sprintf("=%q", v)
	}
	return fmt.Sprintf(": %q", v)
}

// cmdlineValueRe reads the flag package's "invalid value" error.
var cmdlineValueRe = regexp.MustCompile(`^invalid (?:boolean )?value "(.*)" for (?:flag )?-([^:]+): (.*)$`)

// explainParseError rewrites the flag package's error about a value it
// refused ("invalid value "x" for flag -spool-max: parse error") as
// `--spool-max: "x": want a size like 4GiB...`; other errors are kept.
func explainParseError(fs *flag.FlagSet, err error) error {
	m := cmdlineValueRe.FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	v, name, cause := m[1], m[2], m[3]
	if f := fs.Lookup(name); f != nil {
		if want := wantForm(f); want != "" {
			cause = want
		}
	}
	return fmt.Errorf("--%s: %q: %s", name, v, cause)
}

// checkDurations refuses negative values of the duration flags named; a
// zero one is left to the caller.
func checkDurations(ds map[string]time.Duration) error {
	for _, name := range slices.Sorted(maps.Keys(ds)) {
		if ds[name] < 0 {
			return fmt.Errorf("--%s %s: a negative duration means nothing here", name, ds[name])
		}
	}
	return nil
}

// checkCommands refuses a --skip-command name that is no command.
func checkCommands(names []string) error {
	for _, n := range names {
		if !filter.IsCommand(n) {
			return fmt.Errorf("--skip-command %s: unknown command (a Redis command, or a module's with its dot: JSON.SET)", n)
		}
	}
	return nil
}

// checkDBOverlap refuses a database both copied (--db) and left out
// (--skip-db).
func checkDBOverlap(dbs, skip []int) error {
	for _, d := range dbs {
		for _, s := range skip {
			if d == s {
				return fmt.Errorf("--db %d and --skip-db %d: database %d both copied and left out", d, d, d)
			}
		}
	}
	return nil
}
