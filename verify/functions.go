package verify

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/replicant/replicant/internal/redisreply"
)

// functionsComparable says whether both sides have functions (7.0+) and,
// if not, why.
func (v *verifier) functionsComparable() (bool, string) {
	for _, s := range []*side{v.src, v.dst} {
		switch {
		case s.ep.Kind == Proxy:
			return false, fmt.Sprintf("functions not compared: the %s is a proxy", s.name)
		case !atLeast7(s.version):
			return false, fmt.Sprintf("functions not compared: the %s runs Redis %s (functions came with 7.0)", s.name, s.version)
		}
	}
	return true, ""
}

// compareFunctions compares FUNCTION LIST WITHCODE of the source with the
// target's (with each master's, for a cluster target; each server's, for a
// pool).
func (v *verifier) compareFunctions(ctx context.Context) ([]Diff, error) {
	node, err := v.src.node(ctx)
	if err != nil {
		return nil, v.src.wrap("cluster node", err)
	}
	src, err := libraries(ctx, node)
	if err != nil {
		return nil, v.src.wrap("FUNCTION LIST", err)
	}
	var mu sync.Mutex
	var diffs []Diff
	err = v.dst.masters(ctx, 0, func(ctx context.Context, c *redis.Client) error {
		dst, err := libraries(ctx, c)
		if err != nil {
			return err
		}
		prefix := ""
		switch v.dst.ep.Kind {
		case Cluster:
			prefix = "node " + c.Options().Addr + ": "
		case Pool:
			prefix = "server " + c.Options().Addr + ": "
		}
		found := diffLibraries(src, dst, prefix)
		mu.Lock()
		diffs = append(diffs, found...)
		mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, v.dst.wrap("FUNCTION LIST", err)
	}
	sort.Slice(diffs, func(i, j int) bool { return diffs[i].Detail < diffs[j].Detail })
	return diffs, nil
}

// libraries maps each library name to its engine and code.
func libraries(ctx context.Context, c *redis.Client) (map[string]string, error) {
	reply, err := c.Do(ctx, "FUNCTION", "LIST", "WITHCODE").Result()
	if err != nil {
		return nil, err
	}
	list, _ := reply.([]any)
	libs := make(map[string]string, len(list))
	for _, l := range list {
		m := redisreply.Map(l)
		libs[redisreply.String(m["library_name"])] = redisreply.String(m["engine"]) + "\n" + redisreply.String(m["library_code"])
	}
	return libs, nil
}

func diffLibraries(src, dst map[string]string, prefix string) []Diff {
	var diffs []Diff
	add := func(format string, args ...any) {
		diffs = append(diffs, Diff{DB: -1, Kind: Function, Detail: prefix + fmt.Sprintf(format, args...)})
	}
	for name, code := range src {
		switch dcode, ok := dst[name]; {
		case !ok:
			add("library %q missing on target", name)
		case dcode != code:
			add("library %q code differs: %s vs %s", name, firstLineDiff(code, dcode), firstLineDiff(dcode, code))
		}
	}
	for name := range dst {
		if _, ok := src[name]; !ok {
			add("library %q extra on target", name)
		}
	}
	return diffs
}

// firstLineDiff is the first line of a that differs from b, quoted.
func firstLineDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i, l := range al {
		if i >= len(bl) || l != bl[i] {
			return show(l)
		}
	}
	return show("")
}
