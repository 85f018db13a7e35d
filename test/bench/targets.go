package main

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/replicant/replicant/test/redistest"
)

// The kinds of target replicant writes to in the benchmark: a standalone
// redis-server, a 3-master Redis Cluster (--cluster) and a pool of 3
// redis-servers behind nutcracker (--twemproxy).

// getter reads a key wherever the target keeps it.
type getter interface {
	Get(ctx context.Context, key string) *redis.StringCmd
}

// target is a running target of one kind.
type target struct {
	kind  string              // its targetKind's name
	nodes []*redistest.Server // the redis-servers holding the data
	get   getter              // reads a key: the server, the cluster client or the proxy
	args  []string            // replicant's flags naming it
	pids  func() []int        // the processes whose CPU is the target's
	stop  func()
}

// cpu is the CPU time so far of the target's processes, -1 if unknown.
func (t *target) cpu() time.Duration {
	var sum time.Duration
	for _, pid := range t.pids() {
		c := procCPU(pid)
		if c < 0 {
			return -1
		}
		sum += c
	}
	return sum
}

// keys is the number of keys on all of the target's servers.
func (t *target) keys(ctx context.Context) (int64, error) {
	var n int64
	for _, s := range t.nodes {
		k, err := totalKeys(ctx, s)
		if err != nil {
			return 0, err
		}
		n += k
	}
	return n, nil
}

// waitKeys polls the target until it holds want keys. Replicant's own keys
// (checkpoint, lease, the source's heartbeat) count too, as in waitKeys:
// a few keys out of the dataset's.
func (t *target) waitKeys(ctx context.Context, want int64) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	for {
		n, err := t.keys(ctx)
		if err == nil && n >= want {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("target holds %d of %d keys: %w", n, want, ctx.Err())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// targetKind starts fresh, empty targets of one kind.
type targetKind struct {
	name  string // as the report names it
	about string // how it is made, for the report
	// exact: the target runs replicant's MULTI ... SET <checkpoint> EXEC
	// batches only, so benchWrites counts what it applied of all four
	// commands; else its own writes are SETs in numbers not known here,
	// and only INCR, LPUSH and HSET are compared.
	exact bool
	start func(context.Context) (*target, error)
}

const (
	standaloneName = "standalone"
	clusterName    = "cluster"
)

var standaloneKind = targetKind{name: standaloneName, about: "one redis-server", exact: true, start: startStandalone}

func startStandalone(ctx context.Context) (*target, error) {
	s, err := redistest.Start(ctx, redistest.Options{})
	if err != nil {
		return nil, err
	}
	return &target{kind: standaloneName, nodes: []*redistest.Server{s}, get: s.Client,
		args: []string{"--target", "redis://" + s.Addr},
		pids: func() []int { return []int{s.Pid()} },
		stop: func() { s.Stop() }}, nil
}

var clusterKind = targetKind{name: clusterName,
	about: "a Redis Cluster of 3 masters and no replicas (redis-server --cluster-enabled yes, joined with `redis-cli --cluster create`)",
	start: startClusterTarget}

func startClusterTarget(ctx context.Context) (*target, error) {
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	c, err := redistest.StartCluster(sctx, 3, 0)
	if err != nil {
		return nil, err
	}
	masters := c.Nodes()
	return &target{kind: clusterName, nodes: masters, get: c.Client,
		args: []string{"--target", "redis://" + masters[0].Addr, "--target-kind", "cluster"},
		pids: func() []int { return serverPids(masters) },
		stop: func() { c.Stop() }}, nil
}

func serverPids(ss []*redistest.Server) []int {
	var pids []int
	for _, s := range ss {
		pids = append(pids, s.Pid())
	}
	return pids
}

// twemproxyMode is a way for replicant to write to a twemproxy pool: the
// flags it is given for the pool. The report has one row per mode.
type twemproxyMode struct {
	name  string // "through the proxy"
	flags string // the flags args makes, with placeholders, for the report
	args  func(p *redistest.Nutcracker) []string
}

// twemproxyThroughProxy writes through nutcracker. --twemproxy-config lets
// replicant send FLUSHALL to the pool's servers, as the tests run it.
var twemproxyThroughProxy = twemproxyMode{name: "through the proxy",
	flags: "--target redis://<proxy> --target-kind twemproxy --twemproxy-config <nutcracker.yml>",
	args: func(p *redistest.Nutcracker) []string {
		return []string{"--target", "redis://" + p.Addr, "--target-kind", "twemproxy", "--twemproxy-config", p.ConfigPath}
	}}

// twemproxyDirect writes straight to the pool's servers, placing keys as
// nutcracker does: no --target, the pool read from the config.
var twemproxyDirect = twemproxyMode{name: "straight to the servers",
	flags: "--target-kind twemproxy --twemproxy-config <nutcracker.yml>",
	args: func(p *redistest.Nutcracker) []string {
		return []string{"--target-kind", "twemproxy", "--twemproxy-config", p.ConfigPath}
	}}

// twemproxyModes are the modes --twemproxy measures, each a row.
var twemproxyModes = []twemproxyMode{twemproxyDirect, twemproxyThroughProxy}

func twemproxyKind(m twemproxyMode) targetKind {
	return targetKind{name: twemproxyName(m),
		about: "3 redis-servers behind one nutcracker (twemproxy) pool (fnv1a_64, ketama)",
		start: func(ctx context.Context) (*target, error) { return startTwemproxy(ctx, m) }}
}

func twemproxyName(m twemproxyMode) string { return "twemproxy, " + m.name }

func startTwemproxy(ctx context.Context, m twemproxyMode) (*target, error) {
	var backends []*redistest.Server
	stopAll := func() {
		for _, s := range backends {
			s.Stop()
		}
	}
	for range 3 {
		s, err := redistest.Start(ctx, redistest.Options{})
		if err != nil {
			stopAll()
			return nil, err
		}
		backends = append(backends, s)
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	p, err := redistest.StartNutcracker(sctx, backends, redistest.NutcrackerOptions{})
	if err != nil {
		stopAll()
		return nil, err
	}
	return &target{kind: twemproxyName(m), nodes: backends, get: p.Client, args: m.args(p),
		pids: func() []int { return append(serverPids(backends), p.Pid()) },
		stop: func() { p.Stop(); stopAll() }}, nil
}

// timeReplicantInto measures replicant's full sync of src into a fresh
// target of kind until it holds keys keys.
func timeReplicantInto(ctx context.Context, bin string, kind targetKind, src *redistest.Server, keys int64) (measure, error) {
	t, err := kind.start(ctx)
	if err != nil {
		return measure{}, fmt.Errorf("start %s target: %w", kind.name, err)
	}
	defer t.stop()
	if n, err := t.keys(ctx); err != nil {
		return measure{}, err
	} else if n != 0 {
		return measure{}, fmt.Errorf("%s target not empty: %d keys", kind.name, n)
	}
	return runReplicantArgs(ctx, bin, src, t.args, func() error { return t.waitKeys(ctx, keys) })
}
