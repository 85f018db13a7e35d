package main

import (
	"flag"
	"fmt"
	"time"

	"github.com/replicant/replicant/replicate"
)

// syncOptions are the flags of "replicant sync". Those that are settings
// of the engine are bound to the fields of Engine.
type syncOptions struct {
	Source    string
	Target    string
	TLS       tlsOptions
	LogFormat string
	LogLevel  string
	Engine    replicate.Config // Source, Target, Logger, Version, Filter and OnSnapshot set by config (sync.go)

	Admin         string // admin endpoint (RESP) address; "" off
	AdminPassword string
	Metrics       string // Prometheus endpoint address; "" off
	Pprof         string // Go profiling endpoint address; "" off

	Filter filterOptions // --db, --skip-db, --key, --skip-key, --skip-command, --db-map (filters.go)
}

// tlsAndLogFlags registers the TLS and logging flags sync and verify share.
func tlsAndLogFlags(fs *flag.FlagSet, tls *tlsOptions, logFormat, logLevel *string) {
	fs.StringVar(&tls.CAFile, "tls-ca", "", "PEM `file` of CA certificates to verify rediss:// servers (default: the system's)")
	fs.StringVar(&tls.CertFile, "tls-cert", "", "PEM client certificate `file` for rediss:// servers that ask for one")
	fs.StringVar(&tls.KeyFile, "tls-key", "", "PEM private key `file` of --tls-cert")
	fs.StringVar(&tls.ServerName, "tls-server-name", "", "server `name` to verify in rediss:// certificates (default: the URL's host)")
	fs.BoolVar(&tls.Insecure, "tls-insecure", false, "do not verify rediss:// server certificates (testing only)")
	fs.StringVar(logFormat, "log-format", "auto", "log `format`: text, json, or auto (text on a terminal, json otherwise)")
	fs.StringVar(logLevel, "log-level", "info", "log `level`: debug, info, warn or error")
}

func syncFlags(o *syncOptions) *flag.FlagSet {
	fs := flag.NewFlagSet("sync", flag.ContinueOnError)
	e := &o.Engine
	fs.StringVar(&o.Source, "source", "", "source master `URL`: redis://[user:password@]host:port, rediss:// for TLS (required)")
	fs.StringVar(&o.Target, "target", "", "target `URL`: redis://[user:password@]host:port, rediss:// for TLS (required)")
	fs.StringVar(&e.TargetKind, "target-kind", replicate.KindAuto, "`kind` of target: auto (cluster for a redis+cluster:// URL, else standalone), standalone, cluster or twemproxy")
	fs.StringVar(&e.TwemproxyConfig, "twemproxy-config", "", "nutcracker.yml `file` of a twemproxy target. Without --target: the pool's servers are the target, each key written straight to the server nutcracker picks for it (exactly once, every type; the proxy need not run). With --target (the proxy): its pool's servers take FLUSHALL and FLUSHDB directly (the proxy does not)")
	fs.StringVar(&e.TwemproxyPool, "twemproxy-pool", "", "`name` of the pool in --twemproxy-config (default: the only pool, or the one listening on --target's address)")
	tlsAndLogFlags(fs, &o.TLS, &o.LogFormat, &o.LogLevel)
	fs.DurationVar(&e.StatusInterval, "status-interval", 5*time.Second, "how often to log a status line (0: never)")
	fs.IntVar(&e.Window, "window", 8192, "most commands sent to the target and not yet answered")
	fs.IntVar(&e.ReplicaPort, "replica-port", 0, "port announced to the source with REPLCONF listening-port, shown in its INFO (default: the local port)")
	fs.DurationVar(&e.ConnectTimeout, "connect-timeout", 5*time.Second, "timeout to connect to the source or the target")
	fs.DurationVar(&e.RetryMax, "retry-max", 30*time.Second, "longest wait between attempts while the source is not ready (loading, or a replica whose link is down)")
	fs.DurationVar(&e.ExpireMargin, "expire-margin", time.Second, "keys with an expiry expire this much later on the target than on the source, so that the source's own DEL of an expired key, not the target's clock, removes it while the replication lag stays under the margin (0: same time)")
	fs.StringVar(&e.StateDir, "state-dir", "", "`dir` for the spool of the stream and the resume state; start again with the same dir to resume without a full sync (default: a temporary dir, removed at exit; resuming then relies on the target's checkpoint and the source's backlog)")
	e.SpoolMax = 4 << 30
	fs.Var(sizeFlag{&e.SpoolMax}, "spool-max", "most `size` of stream kept on disk while the target is slow or down (4GiB, 512MiB, 4GB, or bytes); past it replicant stops with an error, losing nothing")
	fs.StringVar(&e.CheckpointKey, "checkpoint-key", "replicant:checkpoint", "`key` (in db 0 of the target) holding the stream offset the target has applied, written atomically with every batch")
	fs.BoolVar(&e.Overwrite, "overwrite", false, "write into a target that holds data replicant did not write (no checkpoint of replicant on it): a first sync into a non-empty target (keys of the same name are replaced, the others kept), and a full resync after the target lost replicant's checkpoint while holding data (FLUSHALL)")
	fs.BoolVar(&e.AfterCutoverOK, "after-cutover-ok", false, "sync into a target that \"replicant cutover\" marked as cut over: the mark is removed and a full sync replaces the target's data, writes made on it since the cutover included")
	fs.DurationVar(&e.LeaseTTL, "lease-ttl", 15*time.Second, "lifetime of the lease key on the target that names the replicant writing to it, renewed every third of it; another replicant is refused while the lease is live, and may go on once the holder stopped renewing it for this long")
	fs.StringVar(&e.SnapshotCommands, "snapshot-commands", replicate.SnapshotAuto, "`mode` of writing the snapshot's keys: auto (string keys without expiry, up to 1 MiB, as MSET batches and the rest as RESTORE: the cheapest for the target) or restore (every key as RESTORE, byte for byte the source's encoding)")
	fs.StringVar(&e.Apply, "apply", replicate.ApplyAuto, "`mode` of applying snapshot keys: restore (RESTORE of the source's DUMP payload), rewrite (plain commands: DEL, then RPUSH/SADD/HSET/ZADD/XADD... in bounded chunks, then PEXPIREAT) or auto: restore when the target takes the payload's RDB version and the payload is under --max-restore-bytes, else rewrite")
	e.MaxRestoreBytes = 64 << 20
	fs.Var(sizeFlag{&e.MaxRestoreBytes}, "max-restore-bytes", "largest DUMP payload `size` sent as RESTORE in --apply auto (64MiB, or bytes; the target's proto-max-bulk-len lowers it); larger keys are rewritten")
	fs.Int64Var(&e.BigValueElements, "big-value-elements", 1<<20, "lists, sets, hashes and sorted sets with more elements than this (and plain strings over --max-restore-bytes) are streamed from the source's RDB to the target as commands, element by element, so memory does not grow with the key (not with --apply restore)")
	fs.BoolVar(&e.Strict, "strict", false, "stop with an error when a snapshot key cannot be represented on the target (a stream on Redis < 5.0, hash field expiries on Redis < 7.4, a module type), instead of skipping it with a warning")
	fs.BoolVar(&e.DropFieldTTL, "drop-field-ttl", false, "copy a hash with field TTLs to a target before Redis 7.4 as its fields without their TTLs (warned and counted), instead of skipping the key")
	fs.StringVar(&o.Admin, "admin", "", "`address` of the admin endpoint, which speaks RESP (redis-cli -p PORT: PING, INFO, CUTOVER, PAUSE, RESUME, SHUTDOWN); an address other than loopback needs --admin-password (default: off)")
	fs.StringVar(&o.AdminPassword, "admin-password", "", "`password` clients of --admin must give with AUTH")
	fs.StringVar(&o.Metrics, "metrics", "", "`address` of the HTTP endpoint serving Prometheus /metrics and /healthz (default: off)")
	fs.StringVar(&o.Pprof, "pprof", "", "`address` of an HTTP endpoint serving Go's profiles under /debug/pprof/ (go tool pprof http://ADDR/debug/pprof/profile) (default: off)")
	fs.StringVar(&e.HeartbeatKey, "heartbeat-key", "replicant:heartbeat", "`key` (db 0 of the source) where replicant writes the time every second, to measure the lag in seconds; needs a source user that may SET it (\"\": off)")
	o.Filter.register(fs)
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprint(out, `Usage: replicant sync --source URL --target URL [flags]

Connects to the source master as a replica, restores every key of every
database on the target (RESTORE ... REPLACE ABSTTL, or MSET for string keys
without expiry: see --snapshot-commands), then forwards the live
replication stream in order until SIGINT or SIGTERM, which stop it cleanly
(exit status 0) once what was read is applied. A status line is logged every
--status-interval.

Flags:
`)
		fs.PrintDefaults()
	}
	return fs
}

func (o *syncOptions) validate() error {
	e := &o.Engine
	if o.Source == "" || o.Target == "" && e.TwemproxyConfig == "" {
		return fmt.Errorf("--source and --target are required (or, for a twemproxy pool written straight to its servers, --twemproxy-config instead of --target)")
	}
	if e.SpoolMax < 1<<20 {
		return fmt.Errorf("--spool-max must be at least 1 MiB")
	}
	if e.CheckpointKey == "" {
		return fmt.Errorf("--checkpoint-key must not be empty")
	}
	if e.SnapshotCommands != replicate.SnapshotAuto && e.SnapshotCommands != replicate.SnapshotRestore {
		return fmt.Errorf("--snapshot-commands must be auto or restore, not %q", e.SnapshotCommands)
	}
	switch e.Apply {
	case replicate.ApplyAuto, replicate.ApplyRestore, replicate.ApplyRewrite:
	default:
		return fmt.Errorf("--apply must be auto, restore or rewrite, not %q", e.Apply)
	}
	if e.MaxRestoreBytes < 1 || e.BigValueElements < 0 {
		return fmt.Errorf("--max-restore-bytes must be positive and --big-value-elements not negative")
	}
	if e.ExpireMargin < 0 {
		return fmt.Errorf("--expire-margin must not be negative")
	}
	if e.Window < 1 {
		return fmt.Errorf("--window must be at least 1")
	}
	if e.LeaseTTL < time.Second {
		return fmt.Errorf("--lease-ttl must be at least 1s")
	}
	return o.validateMore()
}

// validateMore refuses flags that contradict each other or name nothing.
func (o *syncOptions) validateMore() error {
	e := &o.Engine
	if err := checkDurations(map[string]time.Duration{"status-interval": e.StatusInterval,
		"connect-timeout": e.ConnectTimeout, "retry-max": e.RetryMax}); err != nil {
		return err
	}
	if e.RetryMax == 0 {
		return fmt.Errorf("--retry-max must be above 0")
	}
	if err := o.TLS.checkPair(); err != nil {
		return err
	}
	if err := checkDBOverlap(o.Filter.DBs, o.Filter.SkipDBs); err != nil {
		return err
	}
	return checkCommands(o.Filter.SkipCommands)
}
