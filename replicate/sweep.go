package replicate

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// A full resync over an earlier copy must not leave behind keys the
// source deleted meanwhile. When this sync owns the whole target, a
// FLUSHALL does it; when it copies only part of the source (filters) or
// shares the target with others (one shard of a cluster source), only the
// keys it would have copied are removed: a sweep.

// ownsWholeTarget reports whether a FLUSHALL of the target removes only
// what this sync copies.
func (s *replica) ownsWholeTarget() bool {
	return s.shard == nil && !s.filters.leavesOut()
}

// owned reports whether key of target database db is one this sync
// copies: it comes from a kept source database and key, and, for a shard of
// a cluster source, from one of the shard's slots.
func (s *replica) owned(db int, key []byte) bool {
	if s.interlock.isOwnKey(string(key)) {
		return false // replicant's own keys, every shard's of a fleet too
	}
	for _, from := range s.sweepDBs[db] {
		name, ok := s.filters.sourceName(from, key)
		if ok && s.keepsSourceKey(from, name) {
			return true
		}
	}
	return false
}

// keepsSourceKey reports whether key of source database db is copied.
func (s *replica) keepsSourceKey(db int, key []byte) bool {
	return s.filters.keepsKey(db, key) && (s.shard == nil || s.shard.owns(key))
}

// sweepTarget removes from the target every key this sync copies.
func (s *replica) sweepTarget(ctx context.Context) error {
	removed := 0
	s.sweepDBs = map[int][]int{}
	err := s.target.eachDB(ctx, func(db int) bool { return len(s.filters.sourceDBsOf(db)) > 0 }, func(db int, c redis.UniversalClient, scan func(cursor uint64) ([]string, uint64, error)) error {
		var cursor uint64
		for {
			keys, next, err := scan(cursor)
			if err != nil {
				return err
			}
			if _, ok := s.sweepDBs[db]; !ok {
				s.sweepDBs[db] = s.filters.sourceDBsOf(db)
			}
			var gone []string
			for _, k := range keys {
				if s.owned(db, []byte(k)) {
					gone = append(gone, k)
				}
			}
			if err := unlinkEach(ctx, c, gone); err != nil {
				return err
			}
			removed += len(gone)
			if cursor = next; cursor == 0 {
				return nil
			}
		}
	})
	if err != nil {
		return fmt.Errorf("target: removing the keys of the earlier copy: %w", err)
	}
	s.log.Warn().Int("keys_removed", removed).Msg("removed the keys this sync copies from the target (a full resync over an earlier copy, or a FLUSHALL of one shard of a cluster source)")
	return nil
}

// unlinkEach unlinks keys one command each (each may live in another slot).
func unlinkEach(ctx context.Context, c redis.UniversalClient, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	p := c.Pipeline()
	for _, k := range keys {
		p.Unlink(ctx, k)
	}
	_, err := p.Exec(ctx)
	return err
}
