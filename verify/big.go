package verify

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// Values larger than one chunk are read key by key, a chunk at a time on
// both sides at once, so memory stays bounded by the chunk sizes.

// both runs read on the source and on the target at once.
func both[T any](p *pair, what string, read func(redis.UniversalClient) (T, error)) (s, d T, err error) {
	err = onBoth(
		func() (err error) {
			if s, err = read(p.src.c); err != nil {
				err = p.src.wrap(what, err)
			}
			return
		},
		func() (err error) {
			if d, err = read(p.dst.c); err != nil {
				err = p.dst.wrap(what, err)
			}
			return
		})
	return s, d, err
}

// sizeDiff reads a size on both sides and describes a difference.
func sizeDiff(p *pair, what string, size func(redis.UniversalClient) *redis.IntCmd) (int64, string, error) {
	s, d, err := both(p, what, func(c redis.UniversalClient) (int64, error) { return size(c).Result() })
	if err != nil || s == d {
		return s, "", err
	}
	return s, fmt.Sprintf("size %d vs %d", s, d), nil
}

// bigString compares a string beyond its first headSize bytes.
func (v *verifier) bigString(ctx context.Context, p *pair, key string) (string, error) {
	n, detail, err := sizeDiff(p, "STRLEN", func(c redis.UniversalClient) *redis.IntCmd { return c.StrLen(ctx, key) })
	if err != nil || detail != "" {
		return detail, err
	}
	for off := int64(headSize); off < n; off += bigStringChunk {
		s, d, err := both(p, "GETRANGE", func(c redis.UniversalClient) (string, error) {
			return c.GetRange(ctx, key, off, off+bigStringChunk-1).Result()
		})
		if err != nil {
			return "", err
		}
		if detail := diffString(s, d, off); detail != "" {
			return detail, nil
		}
	}
	return "", nil
}

// bigList compares a list after its first chunk, by index ranges.
func (v *verifier) bigList(ctx context.Context, p *pair, key string) (string, error) {
	for start := int64(firstChunk); ; start += bigChunk {
		s, d, err := both(p, "LRANGE", func(c redis.UniversalClient) ([]string, error) {
			return c.LRange(ctx, key, start, start+bigChunk-1).Result()
		})
		if err != nil {
			return "", err
		}
		if detail := diffList(s, d, int(start)); detail != "" || len(s) < bigChunk {
			return detail, nil
		}
	}
}

// bigZset compares a sorted set after its first chunk, by rank ranges.
func (v *verifier) bigZset(ctx context.Context, p *pair, key string) (string, error) {
	for start := int64(firstChunk); ; start += bigChunk {
		s, d, err := both(p, "ZRANGE", func(c redis.UniversalClient) ([]redis.Z, error) {
			return c.ZRangeWithScores(ctx, key, start, start+bigChunk-1).Result()
		})
		if err != nil {
			return "", err
		}
		if detail := diffZset(s, d, int(start)); detail != "" || len(s) < bigChunk {
			return detail, nil
		}
	}
}

// bigSet compares sizes, then looks up every source member on the target
// (SSCAN pages, SISMEMBER pipelined): same size and no member missing
// means equal sets.
func (v *verifier) bigSet(ctx context.Context, p *pair, key string) (string, error) {
	_, detail, err := sizeDiff(p, "SCARD", func(c redis.UniversalClient) *redis.IntCmd { return c.SCard(ctx, key) })
	if err != nil || detail != "" {
		return detail, err
	}
	return scanSource(ctx, p, "SSCAN", func(cursor uint64) *redis.ScanCmd {
		return p.src.c.SScan(ctx, key, cursor, "", bigChunk)
	}, func(members []string) (string, error) {
		pipe := p.dst.c.Pipeline()
		cmds := make([]*redis.BoolCmd, len(members))
		for i, m := range members {
			cmds[i] = pipe.SIsMember(ctx, key, m)
		}
		_, _ = pipe.Exec(ctx)
		for i, c := range cmds {
			ok, err := c.Result()
			if err != nil {
				return "", p.dst.wrap("SISMEMBER", err)
			}
			if !ok {
				return fmt.Sprintf("member %s missing on target", show(members[i])), nil
			}
		}
		return "", nil
	})
}

// bigHash compares sizes, then every source field with the target's
// (HSCAN pages, HMGET).
func (v *verifier) bigHash(ctx context.Context, p *pair, key string) (string, error) {
	_, detail, err := sizeDiff(p, "HLEN", func(c redis.UniversalClient) *redis.IntCmd { return c.HLen(ctx, key) })
	if err != nil || detail != "" {
		return detail, err
	}
	return scanSource(ctx, p, "HSCAN", func(cursor uint64) *redis.ScanCmd {
		return p.src.c.HScan(ctx, key, cursor, "", bigChunk)
	}, func(pairs []string) (string, error) {
		fields := make([]string, 0, len(pairs)/2)
		for i := 0; i+1 < len(pairs); i += 2 {
			fields = append(fields, pairs[i])
		}
		vals, err := p.dst.c.HMGet(ctx, key, fields...).Result()
		if err != nil {
			return "", p.dst.wrap("HMGET", err)
		}
		dm := make(map[string]string, len(fields))
		for i, f := range fields {
			if s, ok := vals[i].(string); ok {
				dm[f] = s
			}
		}
		for i := 0; i+1 < len(pairs); i += 2 {
			if detail := diffField(pairs[i], pairs[i+1], dm); detail != "" {
				return detail, nil
			}
		}
		return "", nil
	})
}

// scanSource runs a SSCAN/HSCAN over the source, checking each page until
// one shows a difference.
func scanSource(ctx context.Context, p *pair, what string, scan func(uint64) *redis.ScanCmd, check func([]string) (string, error)) (string, error) {
	var cursor uint64
	for {
		page, next, err := scan(cursor).Result()
		if err != nil {
			return "", p.src.wrap(what, err)
		}
		if detail, err := check(page); detail != "" || err != nil {
			return detail, err
		}
		if cursor = next; cursor == 0 {
			return "", nil
		}
	}
}
