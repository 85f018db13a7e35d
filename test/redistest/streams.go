package redistest

import (
	"context"
	"fmt"
	"sort"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/replicant/replicant/internal/redisreply"
)

// streamInfoFields are the XINFO STREAM fields compared, where present
// (max-deleted-entry-id and entries-added come with Redis 7.0).
var streamInfoFields = []string{"length", "last-generated-id", "max-deleted-entry-id", "entries-added"}

// groupFields are the XINFO GROUPS fields compared for each group.
// entries-read (and the lag derived from it) is not: a 7.0 master
// propagates XREADGROUP as XCLAIM ... LASTID, which does not carry it, so
// a real replica's entries-read stays nil or at the value the group was
// created or restored with (seen: 15 on the master, 1 on a target fed by
// its stream) while the master's counts on.
var groupFields = []string{"last-delivered-id", "pending"}

// readStream reads a stream's entries, metadata, groups, consumers and
// pending entries as one value.
func readStream(ctx context.Context, cl *redis.Client, key string) (value, error) {
	p := cl.Pipeline()
	entries := p.Do(ctx, "XRANGE", key, "-", "+")
	info := p.Do(ctx, "XINFO", "STREAM", key)
	groups := p.Do(ctx, "XINFO", "GROUPS", key)
	if _, err := p.Exec(ctx); err != nil {
		return nil, fmt.Errorf("XRANGE/XINFO: %w", err)
	}
	v, err := entryItems(entries.Val())
	if err != nil {
		return nil, err
	}
	v = append(v, fieldItems("", redisreply.Map(info.Val()), streamInfoFields)...)
	gv, err := groupItems(ctx, cl, key, groups.Val())
	return append(v, gv...), err
}

// entryItems renders XRANGE's [id, [field, value, ...]] entries.
func entryItems(reply any) (value, error) {
	list, _ := reply.([]any)
	v := make(value, 0, len(list))
	for _, e := range list {
		pair, ok := e.([]any)
		if !ok || len(pair) != 2 {
			return nil, fmt.Errorf("XRANGE: unexpected entry %v", e)
		}
		fields, _ := pair[1].([]any)
		strs := make([]string, len(fields))
		for i, f := range fields {
			strs[i] = redisreply.String(f)
		}
		v = append(v, item{name: "entry " + redisreply.String(pair[0]), val: fmt.Sprintf("%q", strs), shown: true})
	}
	return v, nil
}

// fieldItems takes the named fields that m has, under prefix.
func fieldItems(prefix string, m map[string]any, names []string) value {
	var v value
	for _, n := range names {
		if x, ok := m[n]; ok {
			v = append(v, item{name: prefix + n, val: redisreply.String(x), shown: true, unknownOK: n == "entries-read"})
		}
	}
	return v
}

// groupItems reads each group's fields, consumers and pending entries.
func groupItems(ctx context.Context, cl *redis.Client, key string, reply any) (value, error) {
	groups, _ := reply.([]any)
	maps := make([]map[string]any, len(groups))
	for i, g := range groups {
		maps[i] = redisreply.Map(g)
	}
	sort.Slice(maps, func(i, j int) bool { return redisreply.String(maps[i]["name"]) < redisreply.String(maps[j]["name"]) })
	p := cl.Pipeline()
	consumers := make([]*redis.Cmd, len(maps))
	pending := make([]*redis.Cmd, len(maps))
	for i, g := range maps {
		name := redisreply.String(g["name"])
		consumers[i] = p.Do(ctx, "XINFO", "CONSUMERS", key, name)
		n, _ := strconv.Atoi(redisreply.String(g["pending"]))
		pending[i] = p.Do(ctx, "XPENDING", key, name, "-", "+", max(n, 1))
	}
	if _, err := p.Exec(ctx); err != nil && len(maps) > 0 {
		return nil, fmt.Errorf("XINFO CONSUMERS/XPENDING: %w", err)
	}
	var v value
	for i, g := range maps {
		prefix := "group " + strconv.Quote(redisreply.String(g["name"])) + " "
		v = append(v, item{name: prefix + "exists", shown: true})
		v = append(v, fieldItems(prefix, g, groupFields)...)
		v = append(v, consumerItems(prefix, consumers[i].Val())...)
		v = append(v, pendingItems(prefix, pending[i].Val())...)
	}
	return v, nil
}

// consumerItems renders XINFO CONSUMERS: each consumer's name and pending count.
func consumerItems(prefix string, reply any) value {
	list, _ := reply.([]any)
	v := make(value, 0, len(list))
	for _, c := range list {
		m := redisreply.Map(c)
		name := prefix + "consumer " + strconv.Quote(redisreply.String(m["name"])) + " pending"
		v = append(v, item{name: name, val: redisreply.String(m["pending"]), shown: true})
	}
	sort.Slice(v, func(i, j int) bool { return v[i].name < v[j].name })
	return v
}

// pendingItems renders XPENDING's [id, consumer, idle, deliveries] rows;
// idle time is left out.
func pendingItems(prefix string, reply any) value {
	list, _ := reply.([]any)
	v := make(value, 0, len(list))
	for _, row := range list {
		r, _ := row.([]any)
		if len(r) < 4 {
			continue
		}
		v = append(v, item{
			name:  prefix + "pending entry " + redisreply.String(r[0]),
			val:   fmt.Sprintf("consumer %q deliveries %s", redisreply.String(r[1]), redisreply.String(r[3])),
			shown: true,
		})
	}
	return v
}
