package replicate

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/rs/zerolog"

	"github.com/replicant/replicant/forwarder"
	"github.com/replicant/replicant/psync"
	"github.com/replicant/replicant/rewrite"
	"github.com/replicant/replicant/spool"
)

// replica joins a source link, the resume state (resume_state.go), the
// interlock (interlock.go), the key filter (filters.go), the snapshot
// copier (snapshot_copier.go), the spool and the applier that writes the
// stream to the target. Its fields are the run goroutine's; what other
// goroutines read is atomic.
type replica struct {
	opts   Config
	log    zerolog.Logger
	srcCfg psync.Config
	src    *psync.Conn     // the current source link
	resume *resumeState    // the state dir and where the source's stream resumes
	snap   *snapshotCopier // copies the source's snapshot in a full sync
	expiry *rewrite.Expiry
	status *status

	srcAddrs   []string               // the source's addresses: a master and the replicas that may replace it
	srcAddr    atomic.Pointer[string] // the address of the current source link
	target     *target                // where the sync writes (target.go)
	spool      *spool.Spool           // the stream, in the state dir (opened by resume)
	applier    atomic.Pointer[applier]
	bg         sync.WaitGroup // the source poller and the status loop, waited for when the run ends
	fullSyncs  int
	everSynced bool // this process restored a snapshot or resumed

	// stream commands applied and refused by stopped appliers, for the
	// summary at exit
	pastCommands, pastRefused atomic.Int64

	interlock *interlock // the checks before the first write, and the lease (interlock.go, lease.go)

	ctl operator // admin endpoints, pause, heartbeat, cutover (operator.go)

	filters  *keyFilter    // which keys are copied, under which names, and the source's key positions (filters.go)
	shard    *shard        // the slots this sync copies, for one shard of a cluster source; nil: all
	sweepDBs map[int][]int // target db → its source dbs, during a sweep
}

func newReplica(o Config, log zerolog.Logger) (*replica, error) {
	src, dst := o.Source, o.Target
	kind, err := KindTwemproxy, error(nil)
	if !directPool(o) {
		kind, err = resolveTargetKind(o.TargetKind, dst)
	}
	if err != nil {
		return nil, err
	}
	if len(dst.Addrs) > 1 && kind != KindCluster {
		return nil, fmt.Errorf("--target: one address only, unless the target is a cluster (redis+cluster://)")
	}
	s := &replica{opts: o, log: log, status: newStatus(), expiry: rewrite.NewExpiry(o.ExpireMargin),
		srcAddrs: src.Addrs}
	s.resume = &resumeState{log: log}
	s.snap = &snapshotCopier{s: s}
	s.interlock = newInterlock(s, o)
	if s.filters, err = newKeyFilter(o.Filter, o.ConnectTimeout, log); err != nil {
		return nil, err
	}
	s.srcCfg = psync.Config{
		Addr: src.addr(), Username: src.Username, Password: src.Password,
		ListeningPort: o.ReplicaPort, DialTimeout: o.ConnectTimeout,
		Logger: log.With().Str("side", "source").Logger(), TLS: src.tlsFor(src.addr()),
	}
	s.target = &target{kind: kind, addrs: dst.Addrs, log: log,
		cfg: forwarder.Config{
			Addr: dst.addr(), Username: dst.Username, Password: dst.Password,
			DialTimeout: o.ConnectTimeout, Window: o.Window,
			Logger: log.With().Str("side", "target").Logger(), TLS: dst.tlsFor(dst.addr()),
		},
		checkpointKey: o.CheckpointKey, twemproxyConfig: o.TwemproxyConfig, twemproxyPool: o.TwemproxyPool,
		connectTimeout: o.ConnectTimeout, commandKeys: s.filters.commandKeys, commandKeyIndexes: s.filters.commandKeyIndexes,
	}
	if directPool(o) {
		if err := s.target.usePool(o); err != nil {
			return nil, err
		}
		s.opts.Target.Name = fmt.Sprintf("twemproxy pool %q of %s", s.target.pool.pool.Name, o.TwemproxyConfig)
	}
	return s, nil
}
