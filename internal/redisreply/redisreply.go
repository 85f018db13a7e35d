// Package redisreply reads what go-redis returns for Redis commands, for
// verify and the test helpers alike: scalar and map replies, TTLs shown in
// messages, and the text of INFO.
package redisreply

import (
	"fmt"
	"strconv"
	"strings"
)

// String renders a scalar reply; nil is "nil".
func String(v any) string {
	switch x := v.(type) {
	case nil:
		return "nil"
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	}
	return fmt.Sprint(v)
}

// Map reads a RESP2 flat [k, v, ...] array or a RESP3 map, its keys
// rendered by String.
func Map(reply any) map[string]any {
	m := map[string]any{}
	switch r := reply.(type) {
	case map[any]any:
		for k, v := range r {
			m[String(k)] = v
		}
	case []any:
		for i := 0; i+1 < len(r); i += 2 {
			m[String(r[i])] = r[i+1]
		}
	}
	return m
}

// TTL shows a PTTL reply in milliseconds: "1500ms", or "none" for a key
// without one (a negative reply).
func TTL(ms int64) string {
	if ms < 0 {
		return "none"
	}
	return strconv.FormatInt(ms, 10) + "ms"
}

// InfoField returns the value of "name:value" in an INFO reply, or "".
func InfoField(info, name string) string {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			return v
		}
	}
	return ""
}

// KeyspaceDBs lists the databases of INFO keyspace (its "db3:keys=..."
// lines): those that hold keys.
func KeyspaceDBs(info string) []int {
	var dbs []int
	for _, line := range strings.Split(info, "\n") {
		name, _, ok := strings.Cut(strings.TrimSpace(line), ":")
		if n, err := strconv.Atoi(strings.TrimPrefix(name, "db")); ok && err == nil && strings.HasPrefix(name, "db") {
			dbs = append(dbs, n)
		}
	}
	return dbs
}
