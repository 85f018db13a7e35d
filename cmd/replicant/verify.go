package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/replicant/replicant/filter"
	"github.com/replicant/replicant/replicate"
	"github.com/replicant/replicant/twemproxy"
	"github.com/replicant/replicant/verify"
)

// verifyOptions are the flags of "replicant verify".
type verifyOptions struct {
	Source, Target string
	TargetKind     string
	TwemproxyConf  string // nutcracker.yml: read the pool's servers directly
	TwemproxyPool  string // its pool; default: the only one, or --target's
	TLS            tlsOptions
	Mode           string
	Compare        verify.Config   // the flags bound to its fields; the rest set by config
	Keys, SkipKeys filter.Patterns // the sync's --key and --skip-key
	SkipDBs        filter.DBList   // the sync's --skip-db
	DBMap          filter.DBMap    // the sync's --db-map
	CheckpointKey  string
	HeartbeatKey   string
	ConnectTimeout time.Duration
	LogFormat      string
	LogLevel       string
}

func verifyFlags(o *verifyOptions) *flag.FlagSet {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	c := &o.Compare
	fs.StringVar(&o.Source, "source", "", "source `URL`: redis://[user:password@]host:port, rediss:// for TLS (required)")
	fs.StringVar(&o.Target, "target", "", "target `URL`: redis://[user:password@]host:port, rediss:// for TLS (required, but for a twemproxy pool read with --twemproxy-config)")
	fs.StringVar(&o.TargetKind, "target-kind", "auto", "`kind` of target: standalone, cluster (any node's URL), twemproxy (the proxy's URL: no SCAN, so keys only on the target are not looked for, unless --twemproxy-config is given), or auto: standalone or cluster, as the target's INFO says")
	fs.StringVar(&o.TwemproxyConf, "twemproxy-config", "", "nutcracker.yml `file` of a twemproxy target (with --target-kind twemproxy): without --target, each key is read from the pool's server nutcracker's routing names for it, without the proxy; with --target, through the proxy. Either way every server is scanned (db redis_db) for keys only on the target and keys on a server that is not theirs (misplaced)")
	fs.StringVar(&o.TwemproxyPool, "twemproxy-pool", "", "`name` of the pool in --twemproxy-config (default: the only pool, or the one listening on --target's address)")
	fs.StringVar(&o.Mode, "mode", "full", "`mode`: full (every key) or sample (--sample random keys per database and side)")
	fs.IntVar(&c.Sample, "sample", 0, "random keys per database and side compared in sample mode (RANDOMKEY); a database with no more keys is compared whole; setting it implies --mode sample (default 10000)")
	fs.DurationVar(&c.TTLTolerance, "ttl-tolerance", verify.DefaultTTLTolerance, "how far two expiries may differ; a key expiring within it may be missing on one side")
	fs.DurationVar(&c.ExpireMargin, "expire-margin", time.Second, "the sync's --expire-margin: expiries on the target are expected this much later than on the source (within --ttl-tolerance), and a key the source expired may live on the target this long")
	fs.IntVar(&c.Rounds, "rounds", verify.DefaultRounds, "rounds at most: after the first, each round rechecks only the keys still differing, so keys changing under live writes settle")
	fs.DurationVar(&c.RoundDelay, "round-delay", verify.DefaultRoundDelay, "pause before each recheck round")
	fs.Var((*filter.DBList)(&c.DBs), "db", "database `number`s to compare, repeatable or comma-separated (default: every database non-empty on either side)")
	fs.Var((*stringList)(&c.SkipKeys), "skip-prefix", "leave out keys starting with `prefix` (repeatable); with * ? or [ it is a glob that must match the whole key")
	fs.Var(&o.Keys, "key", "compare only keys matching this `pattern`, as replicant sync --key (repeatable)")
	fs.Var(&o.SkipKeys, "skip-key", "leave out keys matching this `pattern`, as replicant sync --skip-key (repeatable)")
	fs.Var(&o.SkipDBs, "skip-db", "leave out these source `databases`, as replicant sync --skip-db")
	fs.Var(&o.DBMap, "db-map", "`FROM=TO[,...]`: compare source database FROM with target database TO, as replicant sync --db-map (key prefixes are not supported here)")
	fs.StringVar(&o.CheckpointKey, "checkpoint-key", "replicant:checkpoint", "`key` replicant sync keeps on the target (its --checkpoint-key): always left out")
	fs.StringVar(&o.HeartbeatKey, "heartbeat-key", "replicant:heartbeat", "`key` replicant sync writes on the source (its --heartbeat-key): always left out")
	fs.IntVar(&c.Parallel, "parallel", verify.DefaultParallel, "batches compared at once")
	fs.IntVar(&c.Batch, "batch", verify.DefaultBatch, "keys per SCAN page and per pipeline")
	fs.IntVar(&c.MaxDiffs, "max-report", verify.DefaultMaxDiffs, "most differences printed (all are counted)")
	fs.DurationVar(&o.ConnectTimeout, "connect-timeout", 5*time.Second, "timeout to connect to the source or the target")
	tlsAndLogFlags(fs, &o.TLS, &o.LogFormat, &o.LogLevel)
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprint(out, `Usage: replicant verify --source URL --target URL [flags]
       replicant verify --source URL --target-kind twemproxy --twemproxy-config nutcracker.yml [--twemproxy-pool NAME] [flags]

Compares the target's dataset with the source's, key by key: type, value,
expiry (within --ttl-tolerance), keys missing on the target and keys only on
the target, and Redis 7 function libraries. Prints one line per difference,
then a summary line, on stdout; logs go to stderr. With --twemproxy-config,
a key found on a pool's server that nutcracker would not send it to is a
difference too (misplaced).

Exit status: 0 when the datasets are equal, 1 when they differ or the
comparison failed (unreachable side, wrong password), 2 for bad flags.

Flags:
`)
		fs.PrintDefaults()
	}
	return fs
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(s string) error {
	if s == "" {
		return errors.New("empty prefix")
	}
	*l = append(*l, s)
	return nil
}

// config turns the flags into a verify.Config; errors are usage errors.
func (o *verifyOptions) config(fs *flag.FlagSet) (verify.Config, error) {
	if o.Source == "" || o.Target == "" && o.TwemproxyConf == "" {
		return verify.Config{}, fmt.Errorf("--source and --target are required (or, for a twemproxy pool read straight from its servers, --target-kind twemproxy --twemproxy-config FILE instead of --target)")
	}
	mode, err := o.mode(fs) // before the copy: it may set the sample size
	if err != nil {
		return verify.Config{}, err
	}
	c := o.Compare
	c.Mode = mode
	if c.Source, err = o.endpoint("--source", o.Source, "auto"); err != nil {
		return c, err
	}
	if c.Target, err = o.target(); err != nil {
		return c, err
	}
	if err := o.TLS.checkPair(); err != nil {
		return c, err
	}
	if err := checkDurations(map[string]time.Duration{"connect-timeout": o.ConnectTimeout, "expire-margin": c.ExpireMargin}); err != nil {
		return c, err
	}
	switch {
	case c.TTLTolerance <= 0:
		return c, fmt.Errorf("--ttl-tolerance must be above 0")
	case c.Rounds < 1 || c.Parallel < 1 || c.Batch < 1 || c.MaxDiffs < 1:
		return c, fmt.Errorf("--rounds, --parallel, --batch and --max-report must be at least 1")
	case c.RoundDelay < 0:
		return c, fmt.Errorf("--round-delay must not be negative")
	}
	if len(o.DBMap.Prefix) > 0 {
		return c, fmt.Errorf("--db-map with a key prefix is not supported by verify yet")
	}
	if err = c.UseFilter(filter.Config{AllowKeys: o.Keys, DenyKeys: o.SkipKeys, DenyDBs: o.SkipDBs, DBMap: o.DBMap.To}); err != nil {
		return c, err
	}
	if c.RoundDelay == 0 {
		c.RoundDelay = -1 // verify.Config's "no pause"
	}
	c.SkipSyncKeys(o.CheckpointKey, o.HeartbeatKey) // replicant's own keys
	return c, nil
}

// mode reads --mode and --sample (which implies sample mode).
func (o *verifyOptions) mode(fs *flag.FlagSet) (verify.Mode, error) {
	mode, err := verify.ParseMode(o.Mode)
	if err != nil {
		return mode, fmt.Errorf("--mode: %w", err)
	}
	sampleSet, modeSet := false, false
	fs.Visit(func(f *flag.Flag) {
		sampleSet = sampleSet || f.Name == "sample"
		modeSet = modeSet || f.Name == "mode"
	})
	switch {
	case sampleSet && o.Compare.Sample < 1:
		return mode, fmt.Errorf("--sample must be at least 1")
	case sampleSet && modeSet && mode == verify.Full:
		return mode, fmt.Errorf("--sample needs --mode sample")
	case sampleSet:
		return verify.Sample, nil
	case mode == verify.Sample:
		o.Compare.Sample = 10000
	}
	return mode, nil
}

// endpoint parses a URL and a kind into a verify.Endpoint.
func (o *verifyOptions) endpoint(flagName, raw, kind string) (verify.Endpoint, error) {
	ep, err := replicate.ParseURL(raw)
	if err != nil {
		return verify.Endpoint{}, fmt.Errorf("%s: %w", flagName, err)
	}
	k, err := verify.ParseKind(kind)
	if err != nil {
		return verify.Endpoint{}, fmt.Errorf("--target-kind: %w", err)
	}
	addr := ep.Addrs[0]
	e := verify.Endpoint{Kind: k, Options: redis.Options{
		Addr: addr, Username: ep.Username, Password: ep.Password,
		DialTimeout: o.ConnectTimeout, MaxRetries: 1,
	}}
	if ep.TLS != nil {
		if e.Options.TLSConfig, err = o.TLS.config(addr); err != nil {
			return verify.Endpoint{}, err
		}
	}
	return e, nil
}

// target is the target endpoint: --target, or the servers of a twemproxy
// pool, or the proxy at --target with its pool's servers.
func (o *verifyOptions) target() (verify.Endpoint, error) {
	switch {
	case o.TwemproxyConf == "" && o.TwemproxyPool != "":
		return verify.Endpoint{}, fmt.Errorf("--twemproxy-pool needs --twemproxy-config")
	case o.TwemproxyConf == "":
		return o.endpoint("--target", o.Target, o.TargetKind)
	}
	if k, err := verify.ParseKind(o.TargetKind); err != nil || k != verify.Proxy {
		return verify.Endpoint{}, fmt.Errorf("--twemproxy-config needs --target-kind twemproxy")
	}
	e := verify.Endpoint{Kind: verify.Pool, Options: redis.Options{DialTimeout: o.ConnectTimeout, MaxRetries: 1}}
	if o.Target != "" {
		var err error
		if e, err = o.endpoint("--target", o.Target, o.TargetKind); err != nil {
			return e, err
		}
	}
	cfg, err := twemproxy.LoadConfig(o.TwemproxyConf)
	if err != nil {
		return e, fmt.Errorf("--twemproxy-config: %w", err)
	}
	if e.Pool, err = cfg.PickPool(o.TwemproxyPool, e.Options.Addr); err != nil {
		return e, fmt.Errorf("--twemproxy-config %s: %w", o.TwemproxyConf, err)
	}
	if err := verify.CheckPool(e.Pool); err != nil {
		return e, fmt.Errorf("--twemproxy-config %s: %w", o.TwemproxyConf, err)
	}
	return e, nil
}

// runVerify is "replicant verify": compare, print the differences and a
// summary, exit 0 only when equal.
func runVerify(args []string, stdout, stderr io.Writer) int {
	var o verifyOptions
	fs := verifyFlags(&o)
	if code, stop := parseFlags(fs, args, stdout, stderr); stop {
		return code
	}
	log, err := newLogger(stderr, o.LogFormat, o.LogLevel)
	var cfg verify.Config
	if err == nil {
		cfg, err = o.config(fs)
	}
	if err != nil {
		fmt.Fprintf(stderr, "replicant verify: %v\n", err)
		return exitUsage
	}
	cfg.Logger = log
	if os.Getenv("GOGC") == "" {
		// The comparison makes short-lived garbage fast, in bounded batches:
		// a lazier collector saves about a quarter of the CPU.
		debug.SetGCPercent(400)
	}
	ctx, stop := signalContext()
	defer stop()
	ev := log.Info().Str("source", replicate.Redact(o.Source)).Str("target", replicate.Redact(o.Target))
	if p := cfg.Target.Pool; p != nil {
		ev = ev.Str("twemproxy_pool", p.Name).Int("servers", len(p.Servers)).Bool("through_proxy", o.Target != "")
	}
	ev.Str("mode", cfg.Mode.String()).Msg("verifying")
	res, err := verify.Run(ctx, cfg)
	switch {
	case err != nil && ctx.Err() != nil:
		fmt.Fprintln(stderr, "replicant verify: interrupted")
		return exitError
	case err != nil:
		fmt.Fprintf(stderr, "replicant %v\n", err) // "replicant verify: source ...: ..."
		return exitError
	}
	for _, n := range res.Notes {
		log.Warn().Msg(n)
	}
	for _, d := range res.Diffs {
		fmt.Fprintln(stdout, d)
	}
	fmt.Fprintln(stdout, res.Summary())
	if !res.Equal {
		return exitError
	}
	return exitOK
}
