package redistest

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// opFn is the body of a liveOp.
type opFn = func(ctx context.Context, l *live, c *redis.Client) error

// do builds an opFn that sends the command args returns.
func do(args func(l *live) []any) opFn {
	return func(ctx context.Context, l *live, c *redis.Client) error {
		return c.Do(ctx, args(l)...).Err()
	}
}

// liveOps is every write LiveWrites may send, with weights and versions.
var liveOps = []liveOp{
	{"SET", 6, 1, 0, do(func(l *live) []any { return l.setArgs() })},
	{"SETEX", 2, 2, 0, do(func(l *live) []any { return []any{"SETEX", l.key("str"), 30 + l.rng.IntN(600), l.text()} })},
	{"INCR", 3, 1, 0, do(func(l *live) []any { return []any{"INCR", l.key("int")} })},
	{"INCRBY", 1, 1, 0, do(func(l *live) []any { return []any{"INCRBY", l.key("int"), l.rng.IntN(2000) - 1000} })},
	{"INCRBYFLOAT", 2, 2, 6, do(func(l *live) []any { return []any{"INCRBYFLOAT", l.key("flt"), l.fraction()} })},
	{"APPEND", 2, 2, 0, do(func(l *live) []any { return []any{"APPEND", l.key("str"), l.text()} })},
	{"SETRANGE", 2, 2, 2, do(func(l *live) []any { return []any{"SETRANGE", l.key("str"), l.rng.IntN(100), l.text()} })},
	{"GETDEL", 1, 6, 2, do(func(l *live) []any { return []any{"GETDEL", l.key("str")} })},
	{"LPUSH", 3, 1, 0, do(func(l *live) []any { return []any{"LPUSH", l.key("list"), l.text(), l.text()} })},
	{"RPUSH", 3, 1, 0, do(func(l *live) []any { return []any{"RPUSH", l.key("list"), l.text()} })},
	{"LPOP", 2, 1, 0, do(func(l *live) []any { return []any{"LPOP", l.key("list")} })},
	{"LTRIM", 1, 1, 0, do(func(l *live) []any { return []any{"LTRIM", l.key("list"), 0, 20} })},
	{"LSET", 1, 1, 0, do(func(l *live) []any { return []any{"LSET", l.key("list"), l.rng.IntN(5), l.text()} })},
	{"LMOVE", 1, 6, 2, do(func(l *live) []any { return []any{"LMOVE", l.key("list"), l.key("list"), "LEFT", "RIGHT"} })},
	{"SADD", 3, 1, 0, do(func(l *live) []any { return []any{"SADD", l.key("set"), l.member(), l.rng.IntN(1000)} })},
	{"SREM", 2, 1, 0, do(func(l *live) []any { return []any{"SREM", l.key("set"), l.member()} })},
	{"SPOP", 1, 1, 0, do(func(l *live) []any { return []any{"SPOP", l.key("set")} })},
	{"SMOVE", 1, 1, 0, do(func(l *live) []any { return []any{"SMOVE", l.key("set"), l.key("set"), l.member()} })},
	{"ZADD", 3, 1, 2, do(func(l *live) []any { return []any{"ZADD", l.key("zset"), l.score(), l.member()} })},
	{"ZINCRBY", 2, 1, 2, do(func(l *live) []any { return []any{"ZINCRBY", l.key("zset"), l.rng.IntN(10) - 5, l.member()} })},
	{"ZREM", 1, 1, 2, do(func(l *live) []any { return []any{"ZREM", l.key("zset"), l.member()} })},
	{"ZPOPMIN", 1, 5, 0, do(func(l *live) []any { return []any{"ZPOPMIN", l.key("zset")} })},
	{"HSET", 3, 2, 0, do(func(l *live) []any { return []any{"HSET", l.key("hash"), "f" + l.member(), l.text()} })},
	{"HDEL", 2, 2, 0, do(func(l *live) []any { return []any{"HDEL", l.key("hash"), "f" + l.member()} })},
	{"HINCRBY", 2, 2, 0, do(func(l *live) []any { return []any{"HINCRBY", l.key("hash"), "n" + l.member(), 3} })},
	{"EXPIRE", 2, 1, 0, do(func(l *live) []any { return []any{"EXPIRE", l.anyKey(), 30 + l.rng.IntN(600)} })},
	{"PEXPIRE", 2, 2, 6, do(func(l *live) []any { return []any{"PEXPIRE", l.anyKey(), l.pexpireMillis()} })},
	{"EXPIREAT", 1, 1, 2, do(func(l *live) []any {
		return []any{"EXPIREAT", l.anyKey(), time.Now().Unix() + 30 + int64(l.rng.IntN(600))}
	})},
	{"PEXPIREAT", 1, 2, 6, do(func(l *live) []any {
		return []any{"PEXPIREAT", l.anyKey(), time.Now().UnixMilli() + 30000 + l.rng.Int64N(600000)}
	})},
	{"PERSIST", 1, 2, 2, do(func(l *live) []any { return []any{"PERSIST", l.anyKey()} })},
	{"DEL", 1, 1, 0, do(func(l *live) []any { return []any{"DEL", l.anyKey(), l.anyKey()} })},
	{"UNLINK", 1, 4, 0, do(func(l *live) []any { return []any{"UNLINK", l.anyKey()} })},
	{"RENAME", 1, 1, 0, do(func(l *live) []any { k := l.kind(); return []any{"RENAME", l.key(k), l.key(k)} })},
	{"COPY", 1, 6, 2, do(func(l *live) []any { k := l.kind(); return []any{"COPY", l.key(k), l.key(k), "REPLACE"} })},
	{"MULTI", 2, 1, 2, multi},
	{"EVAL", 2, 2, 6, do(func(l *live) []any {
		return []any{"EVAL", evalScript, 3, l.key("str"), l.key("int"), l.key("list"), l.text()}
	})},
	{"FCALL", 1, 7, 0, do(func(l *live) []any { return []any{"FCALL", "replicant_set", 1, l.key("str"), l.text()} })},
	{"XADD", 4, 5, 0, do(func(l *live) []any { return l.xaddArgs() })},
	{"XGROUP CREATE", 1, 5, 0, do(func(l *live) []any { return []any{"XGROUP", "CREATE", l.key("x"), "g1", "0", "MKSTREAM"} })},
	{"XREADGROUP", 3, 5, 0, xreadgroup},
	{"XACK", 2, 5, 0, xack},
	{"XCLAIM", 2, 5, 0, xclaim},
	{"XDEL", 1, 5, 0, xdel},
	{"XTRIM", 1, 5, 0, do(func(l *live) []any { return []any{"XTRIM", l.key("x"), "MAXLEN", 10 + l.rng.IntN(20)} })},
	{"XGROUP CREATECONSUMER", 1, 6, 2, do(func(l *live) []any {
		return []any{"XGROUP", "CREATECONSUMER", l.key("x"), "g1", l.consumer()}
	})},
	// Hash field TTLs (7.4, and 8.0's HSETEX, HGETEX, HGETDEL), on keys of
	// their own ("live:hfe:N"), which a target before 7.4 cannot hold.
	{"HSET hfe", 2, 7, 4, do(func(l *live) []any { return []any{"HSET", l.key("hfe"), l.field(), l.text()} })},
	{"HPEXPIRE", 2, 7, 4, do(func(l *live) []any {
		return []any{"HPEXPIRE", l.key("hfe"), l.pexpireMillis(), "FIELDS", 1, l.field()}
	})},
	{"HPERSIST", 1, 7, 4, do(func(l *live) []any { return []any{"HPERSIST", l.key("hfe"), "FIELDS", 1, l.field()} })},
	{"HSETEX", 2, 8, 0, do(func(l *live) []any {
		return []any{"HSETEX", l.key("hfe"), "PX", l.pexpireMillis(), "FIELDS", 1, l.field(), l.text()}
	})},
	{"HGETEX", 1, 8, 0, do(func(l *live) []any {
		return []any{"HGETEX", l.key("hfe"), "PX", l.pexpireMillis(), "FIELDS", 1, l.field()}
	})},
	{"HGETDEL", 1, 8, 0, do(func(l *live) []any { return []any{"HGETDEL", l.key("hfe"), "FIELDS", 1, l.field()} })},
}

// field is one of a few hash field names, so that field ops meet.
func (l *live) field() string { return "f" + strconv.Itoa(l.rng.IntN(5)) }

// evalScript writes three keys: a string, a counter and a list.
const evalScript = `redis.call('SET', KEYS[1], ARGV[1])
redis.call('INCR', KEYS[2])
redis.call('RPUSH', KEYS[3], ARGV[1])
return 1`

func (l *live) kind() string {
	kinds := []string{"str", "list", "set", "zset", "hash", "x"}
	return kinds[l.rng.IntN(len(kinds))]
}

func (l *live) consumer() string { return []string{"c1", "c2", "c3"}[l.rng.IntN(3)] }

// setArgs is SET with, at random, EX, PX or KEEPTTL.
func (l *live) setArgs() []any {
	args := []any{"SET", l.key("str"), l.text()}
	switch l.rng.IntN(6) {
	case 0:
		return append(args, "EX", 30+l.rng.IntN(600))
	case 1:
		return append(args, "PX", l.pexpireMillis())
	case 2:
		return append(args, "KEEPTTL")
	}
	return args
}

// pexpireMillis is a TTL in ms; one in four is under 1.5 s.
func (l *live) pexpireMillis() int {
	if l.rng.IntN(4) == 0 {
		return 100 + l.rng.IntN(1400)
	}
	return 30000 + l.rng.IntN(600000)
}

// xaddArgs is XADD with an automatic id, sometimes capped with MAXLEN ~.
func (l *live) xaddArgs() []any {
	args := []any{"XADD", l.key("x")}
	if l.rng.IntN(5) == 0 {
		args = append(args, "MAXLEN", "~", 50)
	}
	return append(args, "*", "f", l.text(), "n", l.rng.IntN(100))
}

func multi(ctx context.Context, l *live, c *redis.Client) error {
	str, cnt, list, hash, v := l.key("str"), l.key("int"), l.key("list"), l.key("hash"), l.text()
	_, err := c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, str, v, 0)
		p.Incr(ctx, cnt)
		p.LPush(ctx, list, v)
		p.HSet(ctx, hash, "f"+l.member(), v)
		return nil
	})
	return err
}

// xreadgroup reads new entries as a consumer of g1, creating the group
// (and the stream) first if needed.
func xreadgroup(ctx context.Context, l *live, c *redis.Client) error {
	key, consumer, count := l.key("x"), l.consumer(), 1+l.rng.IntN(3)
	read := func() error {
		return c.Do(ctx, "XREADGROUP", "GROUP", "g1", consumer, "COUNT", count, "STREAMS", key, ">").Err()
	}
	err := read()
	if err == nil || !strings.Contains(err.Error(), "NOGROUP") {
		return err
	}
	if err := c.Do(ctx, "XGROUP", "CREATE", key, "g1", "0", "MKSTREAM").Err(); err != nil {
		return err
	}
	return read()
}

// firstPending returns the id of a pending entry of g1 in key, or "".
func firstPending(ctx context.Context, c *redis.Client, key string) (string, error) {
	p, err := c.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: key, Group: "g1", Start: "-", End: "+", Count: 1}).Result()
	if err != nil || len(p) == 0 {
		return "", err
	}
	return p[0].ID, nil
}

func xack(ctx context.Context, l *live, c *redis.Client) error {
	key := l.key("x")
	id, err := firstPending(ctx, c, key)
	if err != nil || id == "" {
		return err
	}
	return c.XAck(ctx, key, "g1", id).Err()
}

func xclaim(ctx context.Context, l *live, c *redis.Client) error {
	key, consumer := l.key("x"), l.consumer()
	id, err := firstPending(ctx, c, key)
	if err != nil || id == "" {
		return err
	}
	return c.Do(ctx, "XCLAIM", key, "g1", consumer, 0, id).Err()
}

func xdel(ctx context.Context, l *live, c *redis.Client) error {
	key := l.key("x")
	msgs, err := c.XRangeN(ctx, key, "-", "+", 5).Result()
	if err != nil || len(msgs) == 0 {
		return err
	}
	return c.XDel(ctx, key, msgs[l.rng.IntN(len(msgs))].ID).Err()
}
