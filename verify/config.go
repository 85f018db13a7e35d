package verify

import (
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/replicant/replicant/twemproxy"
)

// Defaults for the zero values of Config.
const (
	DefaultTTLTolerance = 2 * time.Second
	DefaultRounds       = 3
	DefaultRoundDelay   = time.Second
	DefaultParallel     = 4
	DefaultBatch        = 1000
	DefaultMaxDiffs     = 100
	DefaultMaxRecheck   = 100_000
	DefaultReadTimeout  = 30 * time.Second
)

// Kind is the kind of deployment on one side.
type Kind int

const (
	// Auto, the zero value, is Standalone or Cluster as INFO cluster says
	// (cluster_enabled). A proxy cannot be told apart: name it.
	Auto Kind = iota
	// Standalone is one Redis server (a master or a replica): every
	// database, SCAN, INFO, FUNCTION and stream commands.
	Standalone
	// Cluster is a Redis Cluster reached through any of its nodes: database
	// 0 only, keys scanned on every master, functions compared on each.
	Cluster
	// Proxy is a twemproxy-like proxy: database 0 only, and no SCAN,
	// RANDOMKEY, INFO, FUNCTION or stream (X*) commands, so keys only on
	// the proxy's side cannot be listed and streams are compared by their
	// DUMP payloads. With Endpoint.Pool set, the pool's servers are scanned
	// directly for keys only on the target and misplaced keys.
	Proxy
	// Pool is the servers of a twemproxy pool (Endpoint.Pool), reached
	// directly: each key is read from the server nutcracker's routing
	// names for it, every server is scanned (database redis_db), and a
	// key found on a server other than its own is a Misplaced difference.
	// Database 0 only, as through the proxy. Target only.
	Pool
)

// ParseKind reads "auto", "standalone", "cluster" or "twemproxy" (or
// "proxy", its older name).
func ParseKind(s string) (Kind, error) {
	switch s {
	case "auto":
		return Auto, nil
	case "standalone":
		return Standalone, nil
	case "cluster":
		return Cluster, nil
	case "proxy", "twemproxy":
		return Proxy, nil
	}
	return 0, fmt.Errorf("kind %q: want auto, standalone, cluster or twemproxy", s)
}

func (k Kind) String() string {
	switch k {
	case Auto:
		return "auto"
	case Standalone:
		return "standalone"
	case Cluster:
		return "cluster"
	case Proxy:
		return "twemproxy"
	case Pool:
		return "twemproxy pool"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Mode says which keys the first round compares.
type Mode int

const (
	// Full compares every key of each database, scanning both sides.
	Full Mode = iota
	// Sample compares Config.Sample random keys (RANDOMKEY) of each
	// database from each side, or every key of a database that has no more
	// than that many.
	Sample
)

// ParseMode reads "full" or "sample".
func ParseMode(s string) (Mode, error) {
	switch s {
	case "full":
		return Full, nil
	case "sample":
		return Sample, nil
	}
	return 0, fmt.Errorf("mode %q: want full or sample", s)
}

func (m Mode) String() string {
	if m == Sample {
		return "sample"
	}
	return "full"
}

// Endpoint is one side of the comparison.
type Endpoint struct {
	// Options hold the address, credentials, TLS and timeouts. Verify sets
	// DB, PoolSize, Protocol (RESP2) and DisableIndentity (no CLIENT
	// SETINFO) itself, and a ReadTimeout of DefaultReadTimeout when it is
	// zero. For a Cluster, Addr is any node and the same credentials are
	// used on every node.
	Options redis.Options
	Kind    Kind
	// Pool is the twemproxy pool of a Pool side (required), or of a Proxy
	// side whose servers can be reached. Its servers are dialed with
	// Options (Addr aside), in database Pool.RedisDB, with the password
	// Pool.RedisAuth when Options.Password is empty. A pool with
	// distribution random, or with a server on a Unix socket, is refused.
	Pool *twemproxy.Pool
}

// Config describes one verification. Only Source.Options.Addr and
// Target.Options.Addr are required.
type Config struct {
	Source, Target Endpoint

	// DBs to compare; default: every database that INFO keyspace lists as
	// non-empty on either side. A Cluster or Proxy side holds database 0
	// only: each compared database of the other side maps to it.
	DBs []int
	// Mode is Full (the default) or Sample.
	Mode Mode
	// Sample is how many random keys per database and side Sample mode
	// compares; required in Sample mode.
	Sample int
	// TTLTolerance is how far two expiries may differ; default 2 s. A key
	// that expires within it may be missing on the other side, and its
	// value is not compared (it may vanish between the reads).
	TTLTolerance time.Duration
	// ExpireMargin is how much later than on the source a key expires on
	// the target (replicant sync's --expire-margin): a target expiry that
	// much later is equal, and a key the source expired may live on the
	// target for that long.
	ExpireMargin time.Duration
	// Rounds is how many rounds run at most, the first one included;
	// default 3. Each round after the first rechecks only the keys that
	// differed in the previous one, so keys that were changing under live
	// writes settle.
	Rounds int
	// RoundDelay is the pause before each recheck round; default 1 s,
	// negative for none.
	RoundDelay time.Duration
	// SkipKeys leaves out keys: an entry with a glob character (* ? [) is a
	// Redis-style glob that must match the whole key, any other entry is a
	// key prefix.
	SkipKeys []string
	// Keep, if set, says which keys of a source database are copied (the
	// sync's filters): the others are left out on both sides, so that a
	// target holding only part of the source, or more than it, compares
	// equal.
	Keep func(db int, key string) bool
	// DBMap maps a source database to the target database it is copied
	// to; unmapped databases keep their number.
	DBMap map[int]int
	// Parallel is how many batches are compared at once; default 4.
	Parallel int
	// Batch is the SCAN COUNT hint and the number of keys read per
	// pipeline; default 1000.
	Batch int
	// MaxDiffs is how many differences Result.Diffs holds at most;
	// default 100. Counts cover every difference.
	MaxDiffs int
	// MaxRecheck is how many differing keys are kept for the recheck
	// rounds; default 100,000. Keys past it still count as differing.
	MaxRecheck int
	// OnRound, if set, is called after each round, before the pause.
	OnRound func(Round)
	// Logger receives a line per round at info level and details at debug.
	Logger zerolog.Logger
}

func (c Config) withDefaults() Config {
	if c.TTLTolerance <= 0 {
		c.TTLTolerance = DefaultTTLTolerance
	}
	if c.Rounds <= 0 {
		c.Rounds = DefaultRounds
	}
	if c.RoundDelay == 0 {
		c.RoundDelay = DefaultRoundDelay
	}
	if c.Parallel <= 0 {
		c.Parallel = DefaultParallel
	}
	if c.Batch <= 0 {
		c.Batch = DefaultBatch
	}
	if c.MaxDiffs <= 0 {
		c.MaxDiffs = DefaultMaxDiffs
	}
	if c.MaxRecheck <= 0 {
		c.MaxRecheck = DefaultMaxRecheck
	}
	return c
}

func (c Config) validate() error {
	switch {
	case c.Source.Options.Addr == "" || c.Target.Options.Addr == "" && c.Target.Kind != Pool:
		return fmt.Errorf("verify: source and target addresses are required")
	case c.Source.Kind == Pool || c.Source.Pool != nil:
		return fmt.Errorf("verify: a twemproxy pool can be the target only")
	case c.Target.Kind == Pool && c.Target.Pool == nil:
		return fmt.Errorf("verify: a Pool target needs Endpoint.Pool")
	case c.Target.Pool != nil && c.Target.Kind != Pool && c.Target.Kind != Proxy:
		return fmt.Errorf("verify: Endpoint.Pool is for a Pool or Proxy target, not %s", c.Target.Kind)
	case c.Mode == Sample && c.Sample <= 0:
		return fmt.Errorf("verify: sample mode needs a sample size above 0")
	case c.Mode != Full && c.Mode != Sample:
		return fmt.Errorf("verify: unknown mode %d", c.Mode)
	}
	for _, db := range c.DBs {
		if db < 0 {
			return fmt.Errorf("verify: database %d is negative", db)
		}
	}
	for _, e := range []Endpoint{c.Source, c.Target} {
		if e.Kind < Auto || e.Kind > Pool {
			return fmt.Errorf("verify: unknown kind %d", e.Kind)
		}
	}
	if c.Target.Pool != nil {
		if err := CheckPool(c.Target.Pool); err != nil {
			return fmt.Errorf("verify: %w", err)
		}
	}
	return nil
}
