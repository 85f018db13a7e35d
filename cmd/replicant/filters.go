package main

import (
	"flag"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/replicant/replicant/filter"
)

// filterOptions are the flags of "replicant sync" choosing what is copied
// (package filter has the rules).
type filterOptions struct {
	DBs, SkipDBs   intList
	Keys, SkipKeys patternList
	SkipCommands   wordList
	DBMap          dbMap
}

func (o *filterOptions) register(fs *flag.FlagSet) {
	fs.Var(&o.DBs, "db", "copy only these source `databases` (repeatable, or a comma list; default: all)")
	fs.Var(&o.SkipDBs, "skip-db", "leave out these source `databases` (repeatable, or a comma list)")
	fs.Var(&o.Keys, "key", "copy only keys matching this `pattern` (repeatable): prefix:TEXT, glob:TEXT (Redis glob), regex:TEXT (Go regexp), or a bare TEXT as a prefix")
	fs.Var(&o.SkipKeys, "skip-key", "leave out keys matching this `pattern` (repeatable; forms as --key)")
	fs.Var(&o.SkipCommands, "skip-command", "leave out this `command` of the live stream (repeatable, or a comma list)")
	fs.Var(&o.DBMap, "db-map", "`FROM=TO[:PREFIX][,...]`: write the keys of source database FROM into target database TO, their names prefixed with PREFIX if given (repeatable); a cluster or twemproxy target has db 0 only, so e.g. 1=0:db1: puts db 1 under \"db1:\"")
}

// config is the filter configuration of the flags.
func (o *filterOptions) config() filter.Config {
	return filter.Config{
		AllowDBs: o.DBs, DenyDBs: o.SkipDBs, AllowKeys: o.Keys, DenyKeys: o.SkipKeys,
		DenyCommands: o.SkipCommands, DBMap: o.DBMap.to, KeyPrefix: o.DBMap.prefix,
	}
}

// filter builds the filter of the flags, as the sync does; nil when they
// ask for nothing.
func (o *filterOptions) filter() (*filter.Filter, error) {
	f, err := filter.New(o.config())
	if err != nil || !f.Active() {
		return nil, err
	}
	return f, nil
}

// intList is a repeatable flag of integers, each value a comma list.
type intList []int

func (l *intList) String() string {
	if l == nil {
		return ""
	}
	s := make([]string, len(*l))
	for i, n := range *l {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

func (l *intList) Set(v string) error {
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 0 {
			return fmt.Errorf("%q is not a database number", f)
		}
		*l = append(*l, n)
	}
	return nil
}

// wordList is a repeatable flag of words, each value a comma list.
type wordList []string

func (l *wordList) String() string {
	if l == nil {
		return ""
	}
	return strings.Join(*l, ",")
}

func (l *wordList) Set(v string) error {
	for _, f := range strings.Split(v, ",") {
		if f = strings.TrimSpace(f); f == "" {
			return fmt.Errorf("an empty name in %q", v)
		}
		*l = append(*l, f)
	}
	return nil
}

// patternList is a repeatable flag of key patterns, one per value (a
// regex may hold commas).
type patternList []filter.Pattern

func (l *patternList) String() string {
	if l == nil {
		return ""
	}
	s := make([]string, len(*l))
	for i, p := range *l {
		s[i] = p.String()
	}
	return strings.Join(s, " ")
}

func (l *patternList) Set(v string) error {
	p, err := filter.ParsePattern(v)
	if err != nil {
		return err
	}
	*l = append(*l, p)
	return nil
}

// dbMap is --db-map: FROM=TO[:PREFIX] items, comma-separated, repeatable.
type dbMap struct {
	to     map[int]int
	prefix map[int]string
}

func (m *dbMap) String() string {
	if m == nil {
		return ""
	}
	var s []string
	for from, to := range m.to {
		item := fmt.Sprintf("%d=%d", from, to)
		if p := m.prefix[from]; p != "" {
			item += ":" + p
		}
		s = append(s, item)
	}
	sort.Strings(s)
	return strings.Join(s, ",")
}

func (m *dbMap) Set(v string) error {
	if m.to == nil {
		m.to, m.prefix = map[int]int{}, map[int]string{}
	}
	for _, item := range strings.Split(v, ",") {
		a, b, ok := strings.Cut(strings.TrimSpace(item), "=")
		b, prefix, _ := strings.Cut(b, ":")
		from, err1 := strconv.Atoi(a)
		to, err2 := strconv.Atoi(b)
		if !ok || err1 != nil || err2 != nil || from < 0 || to < 0 {
			return fmt.Errorf("%q is not FROM=TO[:PREFIX] with two database numbers", item)
		}
		if prev, dup := m.to[from]; dup && (prev != to || m.prefix[from] != prefix) {
			return fmt.Errorf("database %d mapped twice", from)
		}
		m.to[from] = to
		if prefix != "" {
			m.prefix[from] = prefix
		}
	}
	return nil
}
