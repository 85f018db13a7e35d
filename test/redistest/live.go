package redistest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/redis/go-redis/v9"
)

// LiveOptions tunes LiveWrites.
type LiveOptions struct {
	// Seed fixes the sequence of commands (the server still decides SPOP's
	// victims and stream ids).
	Seed int64
	// Ops stops LiveWrites after this many commands; 0 runs until ctx ends.
	Ops int
	// DBs is how many databases (0..DBs-1) are written; default 4.
	DBs int
}

// liveKeys is how many keys of each kind LiveWrites cycles through per db;
// fewer streams, so that their groups see more traffic.
const liveKeys, liveStreams = 30, 8

// LiveWrites sends writes of every kind to s until ctx ends or o.Ops
// operations are done, and returns how many it did. Keys are named
// "live:<kind>:<n>", with a kind per type, so commands meet the types they
// expect. Operations: SET (with EX, PX, KEEPTTL), SETEX, INCR, INCRBYFLOAT,
// APPEND, SETRANGE, GETDEL, LPUSH, RPUSH, LPOP, LTRIM, LSET, LMOVE, SADD,
// SREM, SPOP, SMOVE, ZADD, ZINCRBY, ZREM, ZPOPMIN, HSET, HDEL, HINCRBY,
// EXPIRE, PEXPIRE (some under two seconds, so keys expire while it runs),
// EXPIREAT, PEXPIREAT, PERSIST, DEL, UNLINK, RENAME, COPY, MULTI/EXEC, EVAL
// of a script writing three keys, FCALL of Fill's library, XADD, XREADGROUP,
// XACK, XCLAIM, XDEL, XTRIM, XGROUP CREATE and CREATECONSUMER, and about
// once in 2000 operations on db 3, FLUSHDB. Each database has its own client
// (so SELECT goes through the stream). Commands the server's version lacks
// are left out. Expected refusals (no such key, index out of range, missing
// group) count as operations; any other error stops it. ctx ending is not
// an error.
func LiveWrites(ctx context.Context, s *Server, o LiveOptions) (int, error) {
	if o.DBs <= 0 {
		o.DBs = 4
	}
	version, err := s.Version(ctx)
	if err != nil {
		return 0, err
	}
	l := &live{rng: rand.New(rand.NewPCG(uint64(o.Seed), 0x6c697665)), ops: opsFor(version)}
	n := 0
	for ; o.Ops == 0 || n < o.Ops; n++ {
		if ctx.Err() != nil {
			return n, nil
		}
		db := l.rng.IntN(o.DBs)
		op := l.pick(db)
		if err := op.run(ctx, l, s.ClientDB(db)); err != nil && !benign(err) {
			if ctx.Err() != nil {
				return n, nil
			}
			return n, fmt.Errorf("redistest: live %s on db %d: %w", op.name, db, err)
		}
	}
	return n, nil
}

// liveOp is one kind of write; weight sets how often it runs.
type liveOp struct {
	name         string
	weight       int
	major, minor int // first server version that has it
	run          func(ctx context.Context, l *live, c *redis.Client) error
}

// live holds LiveWrites' state: the seeded source and the ops the server has.
type live struct {
	rng   *rand.Rand
	ops   []liveOp
	total int // sum of the ops' weights
}

func opsFor(version string) []liveOp {
	var ops []liveOp
	for _, op := range liveOps {
		if versionAtLeast(version, op.major, op.minor) {
			ops = append(ops, op)
		}
	}
	return ops
}

// pick chooses the next op by weight; rarely FLUSHDB on db 3.
func (l *live) pick(db int) liveOp {
	if db == 3 && l.rng.IntN(2000) == 0 {
		return flushOp
	}
	if l.total == 0 {
		for _, op := range l.ops {
			l.total += op.weight
		}
	}
	r := l.rng.IntN(l.total)
	for _, op := range l.ops {
		if r -= op.weight; r < 0 {
			return op
		}
	}
	return l.ops[len(l.ops)-1]
}

var flushOp = liveOp{name: "FLUSHDB", run: func(ctx context.Context, _ *live, c *redis.Client) error {
	return c.FlushDB(ctx).Err()
}}

// benignErrors are refusals that LiveWrites' random choices provoke.
var benignErrors = []string{
	"no such key", "index out of range", "NOGROUP", "BUSYGROUP",
	"requires the key to exist", "Function not found",
	"source and destination objects are the same",
}

func benign(err error) bool {
	if errors.Is(err, redis.Nil) {
		return true
	}
	for _, s := range benignErrors {
		if strings.Contains(err.Error(), s) {
			return true
		}
	}
	return false
}

// key is a random key of a kind: "str", "int", "flt", "list", "set", "zset",
// "hash" or "x" (streams).
func (l *live) key(kind string) string {
	n := liveKeys
	if kind == "x" {
		n = liveStreams
	}
	return fmt.Sprintf("live:%s:%d", kind, l.rng.IntN(n))
}

// anyKey is a random key of any kind.
func (l *live) anyKey() string {
	kinds := []string{"str", "int", "flt", "list", "set", "zset", "hash", "x"}
	return l.key(kinds[l.rng.IntN(len(kinds))])
}

// text is a short random value, sometimes binary.
func (l *live) text() string {
	b := make([]byte, 1+l.rng.IntN(30))
	for i := range b {
		b[i] = byte('a' + l.rng.IntN(26))
	}
	if l.rng.IntN(8) == 0 {
		b[0], b[len(b)-1] = 0x00, 0xff
	}
	return string(b)
}

// member is one of 50 set, sorted-set or hash-field names.
func (l *live) member() string { return fmt.Sprintf("m%d", l.rng.IntN(50)) }

// score is a sorted-set score, one in ten of them special (infinities...).
func (l *live) score() string {
	if l.rng.IntN(10) == 0 {
		return specialScores[l.rng.IntN(len(specialScores))]
	}
	return l.fraction()
}

// fraction is a finite number with a fractional part, exact in binary.
func (l *live) fraction() string {
	return fmt.Sprint(float64(l.rng.IntN(20000)-10000) / 8)
}
