package verify

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// first is the first read of one non-string value on one side.
type first struct {
	elems  []string  // list elements, set members, hash field/value pairs
	zs     []redis.Z // sorted set members by rank
	cursor uint64    // SSCAN/HSCAN: 0 when elems is the whole value
	dump   string    // DUMP payload, types compared that way
	stream *streamHead
	gone   bool // the key changed type or vanished between the reads
}

// more reports a list or sorted set chunk that may not be the whole value.
func (f *first) more() bool { return len(f.elems) == firstChunk || len(f.zs) == firstChunk }

// byDump reports whether values of type typ are compared by DUMP.
func (v *verifier) byDump(typ string) bool {
	switch typ {
	case "list", "set", "zset", "hash":
		return false
	case "stream":
		return !v.streamsReadable()
	}
	return true
}

// streamsReadable: both sides take X* commands (a proxy does not).
func (v *verifier) streamsReadable() bool {
	return v.src.ep.Kind != Proxy && v.dst.ep.Kind != Proxy
}

// readFirst reads the first chunk of each value, one pipeline for all,
// then the streams (which need a second pipeline for their groups).
func (v *verifier) readFirst(ctx context.Context, c dbConn, keys []string, pvs []pendingValue) ([]first, error) {
	p := c.c.Pipeline()
	collect := make([]func(*first) error, len(pvs))
	var streams []int
	for j, pv := range pvs {
		if pv.typ == "stream" && !v.byDump("stream") {
			streams = append(streams, j)
			continue
		}
		collect[j] = v.queueFirst(ctx, p, keys[pv.i], pv.typ)
	}
	_, _ = p.Exec(ctx)
	out := make([]first, len(pvs))
	for j, pv := range pvs {
		if collect[j] == nil {
			continue
		}
		if err := collect[j](&out[j]); err != nil {
			return nil, c.wrap(fmt.Sprintf("read %s %q", pv.typ, keys[pv.i]), err)
		}
	}
	return out, readStreams(ctx, c, keys, pvs, streams, out)
}

// queueFirst queues the first read of one value and returns how to collect
// it. A WRONGTYPE or nil reply marks the value gone.
func (v *verifier) queueFirst(ctx context.Context, p redis.Pipeliner, key, typ string) func(*first) error {
	var cmd redis.Cmder
	var take func(*first)
	switch {
	case v.byDump(typ):
		c := p.Dump(ctx, key)
		cmd, take = c, func(f *first) { f.dump = c.Val() }
	case typ == "list":
		c := p.LRange(ctx, key, 0, firstChunk-1)
		cmd, take = c, func(f *first) { f.elems = c.Val() }
	case typ == "zset":
		c := p.ZRangeWithScores(ctx, key, 0, firstChunk-1)
		cmd, take = c, func(f *first) { f.zs = c.Val() }
	case typ == "set":
		c := p.SScan(ctx, key, 0, "", firstChunk)
		cmd, take = c, func(f *first) { f.elems, f.cursor = c.Val() }
	default: // hash
		c := p.HScan(ctx, key, 0, "", firstChunk)
		cmd, take = c, func(f *first) { f.elems, f.cursor = c.Val() }
	}
	return func(f *first) error {
		err := cmd.Err()
		switch {
		case isWrongType(err) || errors.Is(err, redis.Nil):
			f.gone = true
		case err != nil:
			return err
		default:
			take(f)
		}
		return nil
	}
}

// compareValues reads and judges the non-string values of a batch.
func (v *verifier) compareValues(ctx context.Context, p *pair, keys []string, pvs []pendingValue, out []verdict) error {
	if len(pvs) == 0 {
		return nil
	}
	var sf, df []first
	err := onBoth(
		func() (err error) { sf, err = v.readFirst(ctx, p.src, keys, pvs); return },
		func() (err error) { df, err = v.readFirst(ctx, p.dst, keys, pvs); return })
	if err != nil {
		return err
	}
	for j, pv := range pvs {
		if sf[j].gone || df[j].gone {
			out[pv.i] = verdict{Type, "changed type or vanished while compared"}
			continue
		}
		detail, err := v.judgeValue(ctx, p, keys[pv.i], pv.typ, &sf[j], &df[j])
		if err != nil {
			return err
		}
		out[pv.i] = valueVerdict(detail, pv)
	}
	return nil
}

// judgeValue compares the first reads of one value, and reads on where
// they are not the whole value.
func (v *verifier) judgeValue(ctx context.Context, p *pair, key, typ string, s, d *first) (string, error) {
	switch {
	case v.byDump(typ):
		return diffDump(s.dump, d.dump), nil
	case typ == "stream":
		return v.compareStream(ctx, p, key, s.stream, d.stream)
	case typ == "list":
		if detail := diffList(s.elems, d.elems, 0); detail != "" || !s.more() && !d.more() {
			return detail, nil
		}
		return v.bigList(ctx, p, key)
	case typ == "zset":
		if detail := diffZset(s.zs, d.zs, 0); detail != "" || !s.more() && !d.more() {
			return detail, nil
		}
		return v.bigZset(ctx, p, key)
	case s.cursor != 0 || d.cursor != 0: // a set or hash larger than a chunk
		if typ == "set" {
			return v.bigSet(ctx, p, key)
		}
		return v.bigHash(ctx, p, key)
	case typ == "set":
		return diffSet(s.elems, d.elems), nil
	}
	if detail := diffHash(s.elems, d.elems); detail != "" {
		return detail, nil
	}
	return v.compareFieldTTLs(ctx, p, key, s.elems)
}
