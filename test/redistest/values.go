package redistest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"

	"github.com/redis/go-redis/v9"
)

type typedKey struct {
	key, typ string
}

// item is one named part of a value: a list index, set member, hash field,
// sorted-set member, stream entry or stream metadata. Names are unique within
// a value and already quoted where they hold data.
type item struct {
	name  string
	val   string
	shown bool // val is already a display form: print it as is
	// unknownOK: the value "nil" (unknown) on either side matches any value.
	unknownOK bool
}

// matches reports whether it and o (of the same name) agree.
func (it item) matches(o item) bool {
	return it.val == o.val || it.unknownOK && (it.val == "nil" || o.val == "nil")
}

// value is a key's content in a canonical order, so equal values have equal
// items.
type value []item

// compareValues reads the values of keys from both sides and records a
// "value differs" Diff for each mismatch.
func (c *comparer) compareValues(ctx context.Context, db int, keys []typedKey) error {
	if len(keys) == 0 {
		return nil
	}
	sv, dv, err := onBoth(c.src, c.dst, func(s *Server) ([]value, error) {
		vals, err := readValues(ctx, s.ClientDB(db), keys)
		if err == nil && c.fieldTTLs[s] {
			err = addFieldTTLs(ctx, s.ClientDB(db), keys, vals)
		}
		return vals, err
	})
	if err != nil {
		return err
	}
	for i, k := range keys {
		if what := valueDiff(sv[i], dv[i]); what != "" {
			c.add(Diff{DB: db, Key: k.key, What: "value differs: " + what})
		}
	}
	return nil
}

// readValues reads keys' values: one pipeline for all but streams, which
// need a few dependent reads each.
func readValues(ctx context.Context, cl *redis.Client, keys []typedKey) ([]value, error) {
	vals := make([]value, len(keys))
	p := cl.Pipeline()
	readers := make([]func() (value, error), len(keys))
	for i, k := range keys {
		if k.typ != "stream" {
			readers[i] = queueRead(ctx, p, k)
		}
	}
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("read values: %w", err)
	}
	for i, k := range keys {
		var err error
		if readers[i] != nil {
			vals[i], err = readers[i]()
		} else {
			vals[i], err = readStream(ctx, cl, k.key)
		}
		if err != nil && !errors.Is(err, redis.Nil) { // Nil: the key vanished
			return nil, fmt.Errorf("read %s %q: %w", k.typ, k.key, err)
		}
	}
	return vals, nil
}

// queueRead queues the read of one key and returns how to collect it.
func queueRead(ctx context.Context, p redis.Pipeliner, k typedKey) func() (value, error) {
	switch k.typ {
	case "string":
		cmd := p.Get(ctx, k.key)
		return func() (value, error) { return value{{val: cmd.Val()}}, cmd.Err() }
	case "list":
		cmd := p.LRange(ctx, k.key, 0, -1)
		return func() (value, error) { return listValue(cmd.Val()), cmd.Err() }
	case "set":
		cmd := p.SMembers(ctx, k.key)
		return func() (value, error) { return setValue(cmd.Val()), cmd.Err() }
	case "zset":
		cmd := p.ZRangeWithScores(ctx, k.key, 0, -1)
		return func() (value, error) { return zsetValue(cmd.Val()), cmd.Err() }
	case "hash":
		cmd := p.HGetAll(ctx, k.key)
		return func() (value, error) { return hashValue(cmd.Val()), cmd.Err() }
	}
	// Module and future types: their digest. Not the DUMP payload, which
	// can differ for equal values (a vector set's graph is built with
	// random levels, on a replica as on its master).
	cmd := p.Do(ctx, "DEBUG", "DIGEST-VALUE", k.key)
	return func() (value, error) {
		return value{{name: "DEBUG DIGEST-VALUE", val: fmt.Sprint(cmd.Val())}}, cmd.Err()
	}
}

func listValue(elems []string) value {
	v := make(value, len(elems))
	for i, e := range elems {
		v[i] = item{name: "index " + strconv.Itoa(i), val: e}
	}
	return v
}

func setValue(members []string) value {
	sort.Strings(members)
	v := make(value, len(members))
	for i, m := range members {
		v[i] = item{name: "member " + strconv.Quote(m)}
	}
	return v
}

// zsetValue keeps ZRANGE's order, which score and member fix. Scores are
// formatted exactly: -0, +Inf and every bit of the mantissa count.
func zsetValue(zs []redis.Z) value {
	v := make(value, len(zs))
	for i, z := range zs {
		v[i] = item{
			name:  "member " + strconv.Quote(fmt.Sprint(z.Member)),
			val:   "score " + strconv.FormatFloat(z.Score, 'g', -1, 64),
			shown: true,
		}
	}
	return v
}

func hashValue(m map[string]string) value {
	v := make(value, 0, len(m))
	for f, val := range m {
		v = append(v, item{name: "field " + strconv.Quote(f), val: val})
	}
	sort.Slice(v, func(i, j int) bool { return v[i].name < v[j].name })
	return v
}

// valueDiff describes the first difference between two values, or is "".
func valueDiff(s, d value) string {
	if equalValues(s, d) {
		return ""
	}
	dm := make(map[string]item, len(d))
	for _, it := range d {
		dm[it.name] = it
	}
	for _, it := range s {
		o, ok := dm[it.name]
		switch {
		case !ok:
			return it.label() + "missing on target"
		case !it.matches(o):
			return prefixed(it.name, it.show()+" vs "+o.show())
		}
		delete(dm, it.name)
	}
	for _, it := range d { // in d's order: the first extra one
		if _, ok := dm[it.name]; ok {
			return it.label() + "extra on target"
		}
	}
	return "order differs"
}

func equalValues(s, d value) bool {
	if len(s) != len(d) {
		return false
	}
	for i := range s {
		if s[i].name != d[i].name || !s[i].matches(d[i]) {
			return false
		}
	}
	return true
}

// prefixed puts name before s, if there is a name.
func prefixed(name, s string) string {
	if name == "" {
		return s
	}
	return name + ": " + s
}

// label is the item's name as a message prefix.
func (it item) label() string {
	if it.name == "" {
		return ""
	}
	return it.name + " "
}

// show is the item's value for a message, long values cut.
func (it item) show() string {
	if it.shown {
		return it.val
	}
	return clip(it.val, 60)
}
