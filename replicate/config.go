package replicate

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/replicant/replicant/filter"
)

// Endpoint is a Redis deployment to connect to, as a URL names it.
type Endpoint struct {
	// Addrs are the host:port addresses of its servers. For a source: the
	// master first, then the replicas that may replace it after a
	// failover (or, with Cluster, seed nodes of the cluster). For a
	// target: one address, or the seed nodes of a cluster.
	Addrs []string
	// Username and Password authenticate with AUTH; both empty: no AUTH,
	// Username empty: the default user.
	Username string
	Password string
	// TLS, when not nil, connects with TLS using these settings. When its
	// ServerName is empty, each connection verifies the host of the
	// address it dials.
	TLS *tls.Config
	// Cluster says the deployment is a Redis Cluster (redis+cluster://).
	// A cluster source is synced by one replica link per master (a fleet).
	Cluster bool
	// Name is how logs show the endpoint, e.g. its URL without the
	// password. Empty: the addresses.
	Name string
}

// addr is the first address.
func (e Endpoint) addr() string {
	if len(e.Addrs) == 0 {
		return ""
	}
	return e.Addrs[0]
}

// name is how logs show e.
func (e Endpoint) name() string {
	if e.Name != "" {
		return e.Name
	}
	return strings.Join(e.Addrs, ",")
}

// tlsFor is the TLS setting for a connection to addr; nil without TLS.
func (e Endpoint) tlsFor(addr string) *tls.Config {
	if e.TLS == nil {
		return nil
	}
	c := e.TLS.Clone()
	if c.ServerName == "" {
		c.ServerName, _, _ = net.SplitHostPort(addr)
	}
	return c
}

// Values of Config.TargetKind.
const (
	KindAuto       = "auto"       // cluster for a Cluster target, else standalone
	KindStandalone = "standalone" // one Redis server (or a proxy that takes every command)
	KindCluster    = "cluster"    // a Redis Cluster
	KindTwemproxy  = "twemproxy"  // twemproxy (nutcracker) in front of Redis servers
)

// Values of Config.SnapshotCommands.
const (
	SnapshotAuto    = "auto"    // small plain strings as MSET, the rest as RESTORE
	SnapshotRestore = "restore" // every key as RESTORE
)

// Values of Config.Apply: how a snapshot key reaches the target.
const (
	ApplyAuto    = "auto"    // RESTORE when the target takes the payload, else rewrite
	ApplyRestore = "restore" // RESTORE of the source's DUMP payload
	ApplyRewrite = "rewrite" // plain commands, in bounded chunks
)

// Config says what to sync and how. Build it by hand or from flags (as
// cmd/replicant does); New fills the fields marked "default" when they are
// zero.
type Config struct {
	// Source is the source master (or a cluster source). Required.
	Source Endpoint
	// Target is where the data goes. Required.
	Target Endpoint
	// TargetKind is KindAuto (default), KindStandalone, KindCluster or
	// KindTwemproxy.
	TargetKind string
	// TwemproxyConfig is the nutcracker.yml of a twemproxy target. With a
	// Target address (the proxy), the pool listening there takes FLUSHALL
	// and FLUSHDB on its servers directly. Without one, the pool's
	// servers are the target: every key is written straight to the server
	// nutcracker would pick for it (direct mode). "": none.
	TwemproxyConfig string
	// TwemproxyPool names the pool of TwemproxyConfig written in direct
	// mode; "": the file's only pool.
	TwemproxyPool string

	// Logger receives the sync's log; the zero Logger writes nothing.
	Logger zerolog.Logger
	// StatusInterval is how often a status line is logged (0: never).
	StatusInterval time.Duration
	// Version is the version reported by Status (e.g. the program's).
	Version string
	// OnSnapshot, when set, is called as a snapshot begins, with a function
	// that reads its progress. No status line is logged until the function
	// it returns is called, when the snapshot ends. cmd/replicant draws its
	// progress bar with it.
	OnSnapshot func(ctx context.Context, progress func() SnapshotProgress) (done func())

	// Window is the most commands sent to the target and not yet answered
	// (default 8192).
	Window int
	// ReplicaPort is the port announced with REPLCONF listening-port
	// (0: the local port).
	ReplicaPort int
	// ConnectTimeout bounds each connection to the source or the target
	// (0: no bound).
	ConnectTimeout time.Duration
	// RetryMax is the longest wait between attempts while the source is
	// not ready (default 30s).
	RetryMax time.Duration
	// ExpireMargin delays expiries on the target by this much, so that the
	// source's own DEL of an expired key removes it (0: same time).
	ExpireMargin time.Duration

	// StateDir holds the spool of the stream and the resume state; a sync
	// started again with the same dir resumes without a full sync. "": a
	// temporary dir, removed when Run returns.
	StateDir string
	// SpoolMax is the most stream bytes kept on disk while the target is
	// slow or down (default 4 GiB, at least 1 MiB); past it Run fails.
	SpoolMax int64
	// CheckpointKey is the key (db 0 of the target) holding the applied
	// stream offset, written atomically with every batch (default
	// "replicant:checkpoint").
	CheckpointKey string

	// Overwrite allows writing into a target holding data replicant did
	// not write (no checkpoint of replicant on it).
	Overwrite bool
	// AfterCutoverOK allows syncing into a target marked as cut over: the
	// mark goes and a full sync replaces its data.
	AfterCutoverOK bool
	// LeaseTTL is the lifetime of the target's lease key naming this
	// writer, renewed every third of it (default 15s, at least 1s).
	LeaseTTL time.Duration

	// SnapshotCommands is SnapshotAuto (default) or SnapshotRestore.
	SnapshotCommands string
	// Apply is ApplyAuto (default), ApplyRestore or ApplyRewrite.
	Apply string
	// MaxRestoreBytes is the largest DUMP payload sent as RESTORE with
	// ApplyAuto (default 64 MiB).
	MaxRestoreBytes int64
	// BigValueElements: collections with more elements (and strings over
	// MaxRestoreBytes) are streamed as commands, element by element
	// (0: never).
	BigValueElements int64
	// Strict fails the sync on a snapshot key the target cannot represent,
	// instead of skipping it with a warning.
	Strict bool
	// DropFieldTTL copies a hash with field TTLs to a target before Redis
	// 7.4 without its TTLs, instead of skipping the key.
	DropFieldTTL bool

	// HeartbeatKey is the key (db 0 of the source) written every second to
	// measure the lag in seconds ("": off).
	HeartbeatKey string

	// Filter chooses the databases, keys and commands copied, and maps
	// databases (package filter). The zero Config copies everything.
	Filter filter.Config
}

// withDefaults fills the zero fields that have a default.
func (c Config) withDefaults() Config {
	if c.TargetKind == "" {
		c.TargetKind = KindAuto
	}
	if c.Window == 0 {
		c.Window = 8192
	}
	if c.RetryMax == 0 {
		c.RetryMax = 30 * time.Second
	}
	if c.SpoolMax == 0 {
		c.SpoolMax = 4 << 30
	}
	if c.CheckpointKey == "" {
		c.CheckpointKey = "replicant:checkpoint"
	}
	if c.LeaseTTL == 0 {
		c.LeaseTTL = 15 * time.Second
	}
	if c.SnapshotCommands == "" {
		c.SnapshotCommands = SnapshotAuto
	}
	if c.Apply == "" {
		c.Apply = ApplyAuto
	}
	if c.MaxRestoreBytes == 0 {
		c.MaxRestoreBytes = 64 << 20
	}
	return c
}

// check refuses a Config the engine cannot run.
func (c Config) check() error {
	switch {
	case len(c.Source.Addrs) == 0:
		return errors.New("replicate: Config.Source has no address")
	case len(c.Target.Addrs) == 0 && !directPool(c):
		return errors.New("replicate: Config.Target has no address (and no TwemproxyConfig names a pool to write directly)")
	case c.SpoolMax < 1<<20:
		return errors.New("replicate: Config.SpoolMax must be at least 1 MiB")
	case c.SnapshotCommands != SnapshotAuto && c.SnapshotCommands != SnapshotRestore:
		return errors.New("replicate: Config.SnapshotCommands must be SnapshotAuto or SnapshotRestore")
	case c.Apply != ApplyAuto && c.Apply != ApplyRestore && c.Apply != ApplyRewrite:
		return errors.New("replicate: Config.Apply must be ApplyAuto, ApplyRestore or ApplyRewrite")
	case c.Window < 1 || c.MaxRestoreBytes < 1 || c.BigValueElements < 0 || c.ExpireMargin < 0:
		return errors.New("replicate: Config.Window and MaxRestoreBytes must be positive, BigValueElements and ExpireMargin not negative")
	case c.LeaseTTL < time.Second:
		return errors.New("replicate: Config.LeaseTTL must be at least 1s")
	}
	return nil
}

// SnapshotProgress is one reading of a snapshot's progress.
type SnapshotProgress struct {
	Read  int64 // RDB bytes received
	Total int64 // RDB bytes in all; -1 unknown (a diskless snapshot)
	Keys  int64 // keys the target confirmed
}
