package redistest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/replicant/replicant/internal/redisreply"
)

// Diff is one difference found between source and target.
type Diff struct {
	DB  int    // database; -1 for server-wide differences (functions)
	Key string // the key; "" for server-wide differences
	// What says what differs, "source vs target" where it shows both. It
	// starts with one of: "missing on target", "extra on target", "type "
	// ("type string vs list"), "ttl " ("ttl 12000ms vs none"), "value differs"
	// (with the first differing element, field, member, stream entry or
	// stream group/consumer/pending detail) or "functions differ".
	What string
}

// String renders the difference for a test failure message.
func (d Diff) String() string {
	if d.DB < 0 {
		return d.What
	}
	return fmt.Sprintf("db %d key %q: %s", d.DB, d.Key, d.What)
}

// CompareOptions tunes Compare. The zero value compares everything.
type CompareOptions struct {
	// DBs to compare; default: every database that INFO keyspace lists as
	// non-empty on either side.
	DBs []int
	// TTLTolerance is how far two PTTLs may differ; default 2 s. A key that
	// expires within it on one side may be missing on the other, and its
	// value is not compared (it may vanish between reads).
	TTLTolerance time.Duration
	// SkipKeys, if set, excludes keys for which it returns true (e.g. a
	// checkpoint key the tool writes to the target).
	SkipKeys func(key string) bool
	// MaxDiffs stops the comparison after this many differences; default 20.
	MaxDiffs int
	// SkipFunctions leaves out the function library comparison.
	SkipFunctions bool
	// Digest also compares DEBUG DIGEST of the two servers (which needs
	// --enable-debug-command yes), after the key-by-key comparison found
	// nothing. A digest covers every db but not expiry times. With SkipKeys
	// set, a whole-server digest would count the skipped keys, so each
	// compared key's DEBUG DIGEST-VALUE is compared instead.
	Digest bool
}

func (o CompareOptions) withDefaults() CompareOptions {
	if o.TTLTolerance <= 0 {
		o.TTLTolerance = 2 * time.Second
	}
	if o.MaxDiffs <= 0 {
		o.MaxDiffs = 20
	}
	return o
}

// scanCount is the SCAN COUNT hint, and so about the batch size of the
// pipelined reads.
const scanCount = 1000

// Compare compares every key of every database of src and dst: type, whole
// value, expiry and presence (both sides are scanned), then the function
// libraries (FUNCTION LIST WITHCODE). Strings are compared with GET, lists
// with LRANGE, sets with SMEMBERS, sorted sets with ZRANGE WITHSCORES (scores
// exactly, -0 and infinities included), hashes with HGETALL, streams with
// XRANGE, XINFO STREAM, XINFO GROUPS, XINFO CONSUMERS and XPENDING, other
// types with DUMP. Reads are pipelined per SCAN page on both servers at once.
// It returns at most MaxDiffs differences; an error means it could not read.
func Compare(ctx context.Context, src, dst *Server, o CompareOptions) ([]Diff, error) {
	c := &comparer{src: src, dst: dst, o: o.withDefaults(),
		fieldTTLs: map[*Server]bool{src: holdsFieldTTLs(ctx, src), dst: holdsFieldTTLs(ctx, dst)}}
	dbs := c.o.DBs
	if dbs == nil {
		var err error
		if dbs, err = nonEmptyDBs(ctx, src, dst); err != nil {
			return nil, err
		}
	}
	for _, db := range dbs {
		if err := c.compareDB(ctx, db); err != nil {
			return c.diffs, fmt.Errorf("redistest: compare db %d: %w", db, err)
		}
		if c.full() {
			return c.diffs, nil
		}
	}
	if !c.o.SkipFunctions {
		if err := c.compareFunctions(ctx); err != nil {
			return c.diffs, err
		}
	}
	if c.o.Digest && c.o.SkipKeys == nil && len(c.diffs) == 0 {
		return c.diffs, c.compareDigests(ctx)
	}
	return c.diffs, nil
}

// WaitEqual polls Compare every interval until it finds no differences or
// ctx ends. Read errors are retried too (a target may be loading). At the
// end it returns the last differences found and an error wrapping ctx's.
func WaitEqual(ctx context.Context, src, dst *Server, o CompareOptions, every time.Duration) ([]Diff, error) {
	var last []Diff
	var lastErr error
	for {
		diffs, err := Compare(ctx, src, dst, o)
		if err == nil && len(diffs) == 0 {
			return nil, nil
		}
		if ctx.Err() == nil { // else the pass was cut short: keep the previous one
			last, lastErr = diffs, err
		}
		select {
		case <-ctx.Done():
			return last, fmt.Errorf("redistest: %s and %s still differ (%d diffs, last error %v): %w",
				src.Addr, dst.Addr, len(last), lastErr, ctx.Err())
		case <-time.After(every):
		}
	}
}

type comparer struct {
	src, dst  *Server
	o         CompareOptions
	diffs     []Diff
	fieldTTLs map[*Server]bool // the server holds hash field TTLs (7.4+)
}

func (c *comparer) add(d Diff) {
	if !c.full() {
		c.diffs = append(c.diffs, d)
	}
}

func (c *comparer) full() bool { return len(c.diffs) >= c.o.MaxDiffs }

// compareDB compares the keys found on src, then those found only on dst.
func (c *comparer) compareDB(ctx context.Context, db int) error {
	seen := map[string]struct{}{}
	onePass := func(s *Server) error {
		return scanKeys(ctx, s.ClientDB(db), func(page []string) error {
			var keys []string
			for _, k := range page {
				_, dup := seen[k]
				if !dup && (c.o.SkipKeys == nil || !c.o.SkipKeys(k)) {
					keys = append(keys, k)
				}
				seen[k] = struct{}{}
			}
			return c.compareKeys(ctx, db, keys)
		})
	}
	if err := onePass(c.src); err != nil || c.full() {
		return err
	}
	return onePass(c.dst)
}

// scanKeys calls fn with each page of a full SCAN, until fn fails.
func scanKeys(ctx context.Context, cl *redis.Client, fn func([]string) error) error {
	var cursor uint64
	for {
		keys, next, err := cl.Scan(ctx, cursor, "*", scanCount).Result()
		if err != nil {
			return fmt.Errorf("SCAN: %w", err)
		}
		if err := fn(keys); err != nil {
			return err
		}
		if cursor = next; cursor == 0 {
			return nil
		}
	}
}

// keyMeta is what TYPE and PTTL say of a key; typ "none" if absent.
type keyMeta struct {
	typ  string
	pttl int64 // ms; -1 without expiry
}

// compareKeys compares type and expiry of keys, then the values of those
// whose types agree.
func (c *comparer) compareKeys(ctx context.Context, db int, keys []string) error {
	if len(keys) == 0 || c.full() {
		return nil
	}
	sm, dm, err := onBoth(c.src, c.dst, func(s *Server) ([]keyMeta, error) {
		return readMeta(ctx, s.ClientDB(db), keys)
	})
	if err != nil {
		return err
	}
	var same []typedKey
	for i, k := range keys {
		if what := c.metaDiff(sm[i], dm[i]); what != "" {
			c.add(Diff{DB: db, Key: k, What: what})
		} else if sm[i].typ != "none" && !c.expiresSoon(sm[i]) && !c.expiresSoon(dm[i]) {
			same = append(same, typedKey{key: k, typ: sm[i].typ})
		}
	}
	if err := c.compareValues(ctx, db, same); err != nil {
		return err
	}
	if c.o.Digest && c.o.SkipKeys != nil {
		return c.compareValueDigests(ctx, db, same)
	}
	return nil
}

// compareValueDigests compares DEBUG DIGEST-VALUE of each key.
func (c *comparer) compareValueDigests(ctx context.Context, db int, keys []typedKey) error {
	if len(keys) == 0 {
		return nil
	}
	args := []any{"DEBUG", "DIGEST-VALUE"}
	for _, k := range keys {
		args = append(args, k.key)
	}
	sd, dd, err := onBoth(c.src, c.dst, func(s *Server) ([]string, error) {
		return s.ClientDB(db).Do(ctx, args...).StringSlice()
	})
	if err != nil {
		return fmt.Errorf("DEBUG DIGEST-VALUE: %w", err)
	}
	for i, k := range keys {
		if i < len(sd) && i < len(dd) && sd[i] != dd[i] {
			c.add(Diff{DB: db, Key: k.key, What: fmt.Sprintf("DEBUG DIGEST-VALUE differs: %s vs %s", sd[i], dd[i])})
		}
	}
	return nil
}

func readMeta(ctx context.Context, cl *redis.Client, keys []string) ([]keyMeta, error) {
	p := cl.Pipeline()
	types := make([]*redis.StatusCmd, len(keys))
	ttls := make([]*redis.Cmd, len(keys))
	for i, k := range keys {
		types[i] = p.Type(ctx, k)
		ttls[i] = p.Do(ctx, "PTTL", k)
	}
	if _, err := p.Exec(ctx); err != nil {
		return nil, fmt.Errorf("TYPE/PTTL: %w", err)
	}
	meta := make([]keyMeta, len(keys))
	for i := range keys {
		meta[i] = keyMeta{typ: types[i].Val()}
		meta[i].pttl, _ = ttls[i].Int64()
		if meta[i].pttl == -2 { // vanished between TYPE and PTTL
			meta[i] = keyMeta{typ: "none", pttl: -2}
		}
	}
	return meta, nil
}

// expiresSoon reports a key that may expire before the comparison is done.
func (c *comparer) expiresSoon(m keyMeta) bool {
	return m.typ != "none" && m.pttl >= 0 && m.pttl <= c.o.TTLTolerance.Milliseconds()
}

// metaDiff describes a difference in presence, type or expiry, or is "".
func (c *comparer) metaDiff(s, d keyMeta) string {
	switch {
	case s.typ == d.typ && s.typ == "none":
		return ""
	case d.typ == "none" && !c.expiresSoon(s):
		return "missing on target"
	case s.typ == "none" && !c.expiresSoon(d):
		return "extra on target"
	case s.typ == "none" || d.typ == "none":
		return ""
	case s.typ != d.typ:
		return fmt.Sprintf("type %s vs %s", s.typ, d.typ)
	}
	return c.ttlDiff(s.pttl, d.pttl)
}

func (c *comparer) ttlDiff(s, d int64) string {
	switch {
	case s < 0 && d < 0:
		return ""
	case s < 0 || d < 0:
		return fmt.Sprintf("ttl %s vs %s", redisreply.TTL(s), redisreply.TTL(d))
	case max(s-d, d-s) > c.o.TTLTolerance.Milliseconds():
		return fmt.Sprintf("ttl %s vs %s", redisreply.TTL(s), redisreply.TTL(d))
	}
	return ""
}

// onBoth runs fn on src and dst concurrently.
func onBoth[T any](src, dst *Server, fn func(*Server) (T, error)) (T, T, error) {
	var d T
	var derr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		d, derr = fn(dst)
	}()
	s, serr := fn(src)
	<-done
	if serr != nil {
		serr = fmt.Errorf("source %s: %w", src.Addr, serr)
	}
	if derr != nil {
		derr = fmt.Errorf("target %s: %w", dst.Addr, derr)
	}
	return s, d, errors.Join(serr, derr)
}

// nonEmptyDBs lists the databases INFO keyspace shows on either server.
func nonEmptyDBs(ctx context.Context, src, dst *Server) ([]int, error) {
	sk, dk, err := onBoth(src, dst, func(s *Server) (string, error) {
		return s.Client.Info(ctx, "keyspace").Result()
	})
	if err != nil {
		return nil, fmt.Errorf("redistest: INFO keyspace: %w", err)
	}
	set := map[int]bool{}
	for _, db := range append(redisreply.KeyspaceDBs(sk), redisreply.KeyspaceDBs(dk)...) {
		set[db] = true
	}
	dbs := make([]int, 0, len(set))
	for db := range set {
		dbs = append(dbs, db)
	}
	sort.Ints(dbs)
	return dbs, nil
}

// compareDigests adds a server-wide Diff when DEBUG DIGEST differs.
func (c *comparer) compareDigests(ctx context.Context) error {
	sd, err := Digest(ctx, c.src)
	if err != nil {
		return err
	}
	dd, err := Digest(ctx, c.dst)
	if err != nil {
		return err
	}
	if sd != dd {
		c.add(Diff{DB: -1, What: fmt.Sprintf("DEBUG DIGEST differs: %s vs %s", sd, dd)})
	}
	return nil
}
