package verify

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/replicant/replicant/internal/redisreply"
)

// Read sizes. The first read of a batch takes headSize bytes of each
// string and firstChunk elements of each collection; larger values are then
// read key by key, bigChunk elements (or bigStringChunk bytes) at a time, so
// memory stays bounded whatever the value sizes.
const (
	headSize       = 4 << 10
	firstChunk     = 128
	bigChunk       = 1024
	bigStringChunk = 256 << 10
)

// dbConn is one side's client for one database.
type dbConn struct {
	s *side
	c redis.UniversalClient
}

func (c dbConn) wrap(what string, err error) error { return c.s.wrap(what, err) }

// pair is one database compared: source db and its target counterpart.
type pair struct {
	db         int // the source's database number, used in reports
	dstDB      int // the target's database it is copied to (Config.DBMap)
	src, dst   dbConn
	targetPass bool // keys only on the target are looked for
}

// sideDB is the pair's database on the target (onTarget) or the source.
func (p *pair) sideDB(onTarget bool) int {
	if onTarget {
		return p.dstDB
	}
	return p.db
}

// meta is what the first read says of a key on one side.
type meta struct {
	typ  string // "none" (absent), "string", a TYPE reply, or "" until asked
	pttl int64  // ms; -1 without expiry, -2 absent
	head string // strings: the first headSize bytes
}

// readMeta reads PTTL and the head of each key (GETRANGE, which tells
// strings from other types by WRONGTYPE), then TYPE of the non-strings.
func (c dbConn) readMeta(ctx context.Context, keys []string) ([]meta, error) {
	p := c.c.Pipeline()
	ttls := make([]*redis.DurationCmd, len(keys))
	heads := make([]*redis.StringCmd, len(keys))
	for i, k := range keys {
		ttls[i] = p.PTTL(ctx, k)
		heads[i] = p.GetRange(ctx, k, 0, headSize-1)
	}
	_, _ = p.Exec(ctx) // errors are read per command
	ms := make([]meta, len(keys))
	for i := range keys {
		d, err := ttls[i].Result()
		if err != nil {
			return nil, c.wrap("PTTL", err)
		}
		ms[i] = metaFrom(d, heads[i])
		if ms[i].typ == "" && !isWrongType(heads[i].Err()) {
			return nil, c.wrap("GETRANGE", heads[i].Err())
		}
	}
	return ms, c.readTypes(ctx, keys, ms)
}

// metaFrom reads PTTL's answer (go-redis returns -1 and -2 as that many
// nanoseconds) and GETRANGE's.
func metaFrom(ttl time.Duration, head *redis.StringCmd) meta {
	m := meta{pttl: ttl.Milliseconds()}
	if ttl < 0 {
		m.pttl = int64(ttl)
	}
	switch {
	case m.pttl == -2:
		m.typ = "none"
	case head.Err() == nil:
		m.typ, m.head = "string", head.Val()
	}
	return m
}

// readTypes asks TYPE of the keys whose type is still unknown.
func (c dbConn) readTypes(ctx context.Context, keys []string, ms []meta) error {
	var idx []int
	for i, m := range ms {
		if m.typ == "" {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return nil
	}
	p := c.c.Pipeline()
	cmds := make([]*redis.StatusCmd, len(idx))
	for j, i := range idx {
		cmds[j] = p.Type(ctx, keys[i])
	}
	_, _ = p.Exec(ctx)
	for j, i := range idx {
		t, err := cmds[j].Result()
		if err != nil {
			return c.wrap("TYPE", err)
		}
		ms[i].typ = t
	}
	return nil
}

// isWrongType reports a WRONGTYPE error reply.
func isWrongType(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "WRONGTYPE")
}

// verdict is the outcome for one key.
type verdict struct {
	kind   DiffKind // "" when equal
	detail string
}

// pendingValue is a key whose values must be read to be judged.
type pendingValue struct {
	i   int    // index in the batch
	typ string // the type both sides agree on
	ttl string // a TTL difference, reported if the values agree
}

// compareKeys judges each key of one batch: presence, type, expiry, then
// value. It returns one verdict per key, and which keys the source holds.
// On a target with a pool, keys missing there are looked for on the other
// servers, and every key when look is set.
func (v *verifier) compareKeys(ctx context.Context, p *pair, keys []string, look bool) ([]verdict, []bool, error) {
	var sm, dm []meta
	err := onBoth(
		func() (err error) { sm, err = p.src.readMeta(ctx, keys); return },
		func() (err error) { dm, err = p.dst.readMeta(ctx, keys); return })
	if err != nil {
		return nil, nil, err
	}
	onSource := make([]bool, len(keys))
	for i, m := range sm {
		onSource[i] = m.typ != "none"
	}
	out, err := v.judgeKeys(ctx, p, keys, sm, dm)
	if err == nil {
		err = v.placement(ctx, p, keys, sm, dm, out, look)
	}
	return out, onSource, err
}

// judgeKeys judges the keys of a batch from their first reads, and reads
// on where the values must be compared.
func (v *verifier) judgeKeys(ctx context.Context, p *pair, keys []string, sm, dm []meta) ([]verdict, error) {
	out := make([]verdict, len(keys))
	var strs, others []pendingValue
	for i := range keys {
		var pv *pendingValue
		if out[i], pv = v.judgeMeta(sm[i], dm[i]); pv == nil {
			continue
		}
		pv.i = i
		if pv.typ == "string" {
			strs = append(strs, *pv)
		} else {
			others = append(others, *pv)
		}
	}
	if err := v.compareStrings(ctx, p, keys, sm, dm, strs, out); err != nil {
		return nil, err
	}
	return out, v.compareValues(ctx, p, keys, others, out)
}

// judgeMeta judges presence, type and expiry. When the values must be
// compared too it returns what to read.
func (v *verifier) judgeMeta(s, d meta) (verdict, *pendingValue) {
	switch {
	case s.typ == "none" && d.typ == "none":
		return verdict{}, nil
	case d.typ == "none":
		if v.expiresSoon(s) {
			return verdict{}, nil
		}
		return verdict{Missing, fmt.Sprintf("%s on source (ttl %s), not on target", s.typ, redisreply.TTL(s.pttl))}, nil
	case s.typ == "none":
		if v.expiresSoon(d) || d.pttl >= 0 && d.pttl <= (v.cfg.TTLTolerance+v.cfg.ExpireMargin).Milliseconds() {
			return verdict{}, nil
		}
		return verdict{Extra, fmt.Sprintf("%s on target (ttl %s), not on source", d.typ, redisreply.TTL(d.pttl))}, nil
	case s.typ != d.typ:
		return verdict{Type, s.typ + " vs " + d.typ}, nil
	}
	ttl := v.ttlDiff(s.pttl, d.pttl)
	if v.expiresSoon(s) || v.expiresSoon(d) { // may vanish while read
		if ttl != "" {
			return verdict{TTL, ttl}, nil
		}
		return verdict{}, nil
	}
	return verdict{}, &pendingValue{typ: s.typ, ttl: ttl}
}

// expiresSoon reports a key that may expire before the comparison is done.
func (v *verifier) expiresSoon(m meta) bool {
	return m.pttl >= 0 && m.pttl <= v.cfg.TTLTolerance.Milliseconds()
}

// ttlDiff describes expiries further apart than the tolerance, or is "".
func (v *verifier) ttlDiff(s, d int64) string {
	switch {
	case s < 0 && d < 0:
		return ""
	case s >= 0 && d >= 0 && abs(s+v.cfg.ExpireMargin.Milliseconds()-d) <= v.cfg.TTLTolerance.Milliseconds():
		return ""
	}
	return redisreply.TTL(s) + " vs " + redisreply.TTL(d)
}

// valueVerdict is a value difference, or a TTL one if the values agree.
func valueVerdict(detail string, pv pendingValue) verdict {
	switch {
	case detail != "" && pv.ttl != "":
		return verdict{Value, detail + "; ttl " + pv.ttl}
	case detail != "":
		return verdict{Value, detail}
	case pv.ttl != "":
		return verdict{TTL, pv.ttl}
	}
	return verdict{}
}

// compareStrings judges string keys by their heads, and reads the rest of
// those longer than headSize.
func (v *verifier) compareStrings(ctx context.Context, p *pair, keys []string, sm, dm []meta, strs []pendingValue, out []verdict) error {
	for _, pv := range strs {
		s, d := sm[pv.i].head, dm[pv.i].head
		detail := diffString(s, d, 0)
		if detail == "" && len(s) == headSize {
			var err error
			if detail, err = v.bigString(ctx, p, keys[pv.i]); err != nil {
				return err
			}
		}
		out[pv.i] = valueVerdict(detail, pv)
	}
	return nil
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

// onBoth runs fs (the source's part) and fd (the target's) at once and
// returns the first error, the source's first.
func onBoth(fs, fd func() error) error {
	var derr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		derr = fd()
	}()
	serr := fs()
	<-done
	if serr != nil {
		return serr
	}
	return derr
}
