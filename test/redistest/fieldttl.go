package redistest

import (
	"context"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// Hash field TTLs (Redis 7.4 and newer) are part of a hash's value: each
// field that expires adds an item with its expiry time, read with
// HPEXPIRETIME. A server without field TTLs has none, so a field that
// expires on one side and not on the other is a difference.

// holdsFieldTTLs reports whether s is a server with hash field TTLs.
func holdsFieldTTLs(ctx context.Context, s *Server) bool {
	v, err := s.Version(ctx)
	return err == nil && versionAtLeast(v, 7, 4)
}

// addFieldTTLs appends to each hash value of vals the expiry of each of its
// fields that has one.
func addFieldTTLs(ctx context.Context, cl *redis.Client, keys []typedKey, vals []value) error {
	p := cl.Pipeline()
	cmds := make([]*redis.Cmd, len(keys))
	fields := make([][]string, len(keys))
	for i, k := range keys {
		if k.typ != "hash" || len(vals[i]) == 0 {
			continue
		}
		args := []any{"HPEXPIRETIME", k.key, "FIELDS", len(vals[i])}
		for _, it := range vals[i] {
			f, _ := strconv.Unquote(it.name[len("field "):])
			fields[i] = append(fields[i], f)
			args = append(args, f)
		}
		cmds[i] = p.Do(ctx, args...)
	}
	if _, err := p.Exec(ctx); err != nil && err != redis.Nil {
		return err
	}
	for i, cmd := range cmds {
		if cmd == nil {
			continue
		}
		at, err := cmd.Int64Slice()
		if err != nil {
			continue // the key changed type or vanished: its value says so
		}
		for j, ms := range at {
			if ms >= 0 && j < len(fields[i]) {
				vals[i] = append(vals[i], item{name: "field " + strconv.Quote(fields[i][j]) + " expires at",
					val: strconv.FormatInt(ms, 10) + " ms", shown: true})
			}
		}
	}
	return nil
}
