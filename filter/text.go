package filter

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// The types below are the text forms of Config's fields, as a command
// line or a configuration file gives them (cmd/replicant's --db, --key,
// --skip-command, --db-map). Each one's Set reads one value and adds it to
// what earlier calls read, so that a pointer to one is a repeatable
// flag.Value; String writes what Set reads.

// DBList is a list of database numbers (Config.AllowDBs, DenyDBs). Set
// takes a comma list: "0,2".
type DBList []int

func (l *DBList) String() string { return join(l, ",", strconv.Itoa) }

// Set appends the database numbers of the comma list v.
func (l *DBList) Set(v string) error {
	return appendItems((*[]int)(l), strings.Split(v, ","), func(f string) (int, error) {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%q is not a database number", f)
		}
		return n, nil
	})
}

// Names is a list of names (Config.DenyCommands). Set takes a comma list:
// "flushdb,flushall".
type Names []string

func (l *Names) String() string { return join(l, ",", func(s string) string { return s }) }

// Set appends the names of the comma list v; an empty one is an error.
func (l *Names) Set(v string) error {
	return appendItems((*[]string)(l), strings.Split(v, ","), func(f string) (string, error) {
		if f = strings.TrimSpace(f); f == "" {
			return "", fmt.Errorf("an empty name in %q", v)
		}
		return f, nil
	})
}

// Patterns is a list of key patterns (Config.AllowKeys, DenyKeys). Set
// takes one pattern, as ParsePattern reads it (a regex may hold commas).
type Patterns []Pattern

func (l *Patterns) String() string { return join(l, " ", Pattern.String) }

// Set appends the pattern v.
func (l *Patterns) Set(v string) error {
	return appendItems((*[]Pattern)(l), []string{v}, ParsePattern)
}

// appendItems appends each item to l as parse reads it; on an error, the
// items before it stay.
func appendItems[T any](l *[]T, items []string, parse func(string) (T, error)) error {
	for _, item := range items {
		x, err := parse(item)
		if err != nil {
			return err
		}
		*l = append(*l, x)
	}
	return nil
}

// join writes the elements of *l with str, sep between them; "" for nil.
func join[L ~[]T, T any](l *L, sep string, str func(T) string) string {
	if l == nil {
		return ""
	}
	s := make([]string, len(*l))
	for i, x := range *l {
		s[i] = str(x)
	}
	return strings.Join(s, sep)
}

// DBMap is Config.DBMap (To) and Config.KeyPrefix (Prefix) together. Set
// takes FROM=TO[:PREFIX] items, comma-separated: the keys of source
// database FROM go to target database TO, their names prefixed with
// PREFIX if given ("1=0:db1:"). A database mapped twice differently is an
// error.
type DBMap struct {
	To     map[int]int
	Prefix map[int]string
}

func (m *DBMap) String() string {
	if m == nil {
		return ""
	}
	var s []string
	for from, to := range m.To {
		item := fmt.Sprintf("%d=%d", from, to)
		if p := m.Prefix[from]; p != "" {
			item += ":" + p
		}
		s = append(s, item)
	}
	sort.Strings(s)
	return strings.Join(s, ",")
}

// Set adds the items of v.
func (m *DBMap) Set(v string) error {
	if m.To == nil {
		m.To, m.Prefix = map[int]int{}, map[int]string{}
	}
	for _, item := range strings.Split(v, ",") {
		a, b, ok := strings.Cut(strings.TrimSpace(item), "=")
		b, prefix, _ := strings.Cut(b, ":")
		from, err1 := strconv.Atoi(a)
		to, err2 := strconv.Atoi(b)
		if !ok || err1 != nil || err2 != nil || from < 0 || to < 0 {
			return fmt.Errorf("%q is not FROM=TO[:PREFIX] with two database numbers", item)
		}
		if prev, dup := m.To[from]; dup && (prev != to || m.Prefix[from] != prefix) {
			return fmt.Errorf("database %d mapped twice", from)
		}
		m.To[from] = to
		if prefix != "" {
			m.Prefix[from] = prefix
		}
	}
	return nil
}
