package main

import (
	"context"
	"fmt"
	"math/rand"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/replicant/replicant/test/redistest"
)

type dataset struct {
	name  string
	about string
	load  func(context.Context, *redistest.Server) error
}

var datasets = map[string]dataset{
	"small": {"small", "1,000,000 strings of 32 bytes (DEBUG POPULATE 1000000 key 32)", loadSmall},
	"mixed": {"mixed", "200,000 keys of mixed types and sizes", loadMixed},
	"big":   {"big", "10,000 strings of 100 KiB", loadBig},
}

func loadSmall(ctx context.Context, s *redistest.Server) error {
	return s.Client.Do(ctx, "DEBUG", "POPULATE", 1000000, "key", 32).Err()
}

// scaledDataset is dataset small or mixed with keys keys for small and a
// fifth of that for mixed, as they are at 1,000,000; keys 0 or 1,000,000:
// the datasets as they are.
func scaledDataset(name string, keys int) (dataset, error) {
	ds, ok := datasets[name]
	if !ok || (name != "small" && name != "mixed") {
		return dataset{}, fmt.Errorf("dataset %q cannot be scaled (small or mixed)", name)
	}
	if keys == 0 || keys == 1000000 {
		return ds, nil
	}
	if name == "small" {
		ds.about = fmt.Sprintf("%s strings of 32 bytes (DEBUG POPULATE %d key 32)", thousands(float64(keys)), keys)
		ds.load = func(ctx context.Context, s *redistest.Server) error {
			return s.Client.Do(ctx, "DEBUG", "POPULATE", keys, "key", 32).Err()
		}
		return ds, nil
	}
	n := max(1, keys/5)
	ds.about = fmt.Sprintf("%s keys of mixed types and sizes", thousands(float64(n)))
	ds.load = func(ctx context.Context, s *redistest.Server) error { return loadMixedN(ctx, s, n) }
	return ds, nil
}

func loadBig(ctx context.Context, s *redistest.Server) error {
	val := strings.Repeat("v", 100<<10)
	return pipelined(ctx, s.Client, 10000, func(p redis.Pipeliner, i int) {
		p.Set(ctx, "big:"+strconv.Itoa(i), val, 0)
	})
}

// loadMixed writes 200k keys: a fifth each of strings (some with TTLs),
// lists, sets, sorted sets and hashes, most small, one in a hundred large.
func loadMixed(ctx context.Context, s *redistest.Server) error { return loadMixedN(ctx, s, 200000) }

func loadMixedN(ctx context.Context, s *redistest.Server, keys int) error {
	rng := rand.New(rand.NewSource(1))
	return pipelined(ctx, s.Client, keys, func(p redis.Pipeliner, i int) {
		n := 5 + rng.Intn(20)
		if i%100 == 0 {
			n = 500 + rng.Intn(1000)
		}
		key := fmt.Sprintf("mixed:%d", i)
		switch i % 5 {
		case 0:
			p.Set(ctx, key, strings.Repeat("s", 10+rng.Intn(200)), 0)
			if i%10 == 0 {
				p.Expire(ctx, key, 3600e9)
			}
		case 1:
			p.RPush(ctx, key, members(n, "item")...)
		case 2:
			p.SAdd(ctx, key, members(n, "member")...)
		case 3:
			zs := make([]redis.Z, n)
			for j := range zs {
				zs[j] = redis.Z{Score: float64(j) * 1.5, Member: "m" + strconv.Itoa(j)}
			}
			p.ZAdd(ctx, key, zs...)
		case 4:
			p.HSet(ctx, key, members(2*n, "f")...)
		}
	})
}

func members(n int, prefix string) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = prefix + strconv.Itoa(i)
	}
	return out
}

func pipelined(ctx context.Context, c *redis.Client, n int, add func(redis.Pipeliner, int)) error {
	p := c.Pipeline()
	for i := 0; i < n; i++ {
		add(p, i)
		if p.Len() >= 1000 || i == n-1 {
			if _, err := p.Exec(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}
