package redistest

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/redis/go-redis/v9"
)

// compareFunctions compares FUNCTION LIST WITHCODE: library names, engines
// and code. A server without FUNCTION (before 7.0) has no libraries.
func (c *comparer) compareFunctions(ctx context.Context) error {
	sl, dl, err := onBoth(c.src, c.dst, func(s *Server) (map[string]string, error) {
		return libraries(ctx, s.Client)
	})
	if err != nil {
		return fmt.Errorf("redistest: FUNCTION LIST: %w", err)
	}
	for _, name := range sortedKeys(sl) {
		code, ok := dl[name]
		switch {
		case !ok:
			c.add(Diff{DB: -1, What: fmt.Sprintf("functions differ: library %q missing on target", name)})
		case code != sl[name]:
			c.add(Diff{DB: -1, What: fmt.Sprintf("functions differ: library %q code differs", name)})
		}
	}
	for _, name := range sortedKeys(dl) {
		if _, ok := sl[name]; !ok {
			c.add(Diff{DB: -1, What: fmt.Sprintf("functions differ: library %q extra on target", name)})
		}
	}
	return nil
}

// libraries maps each library name to its engine and code.
func libraries(ctx context.Context, cl *redis.Client) (map[string]string, error) {
	libs, err := cl.FunctionList(ctx, redis.FunctionListQuery{WithCode: true}).Result()
	if err != nil && strings.Contains(strings.ToLower(err.Error()), "unknown command") {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(libs))
	for _, l := range libs {
		m[l.Name] = l.Engine + "\n" + l.Code
	}
	return m, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
