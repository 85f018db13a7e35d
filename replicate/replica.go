package replicate

import (
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/replicant/replicant/filter"
	"github.com/replicant/replicant/forwarder"
	"github.com/replicant/replicant/psync"
	"github.com/replicant/replicant/rdbstream"
	"github.com/replicant/replicant/spool"
)

// replica joins a source link, the RDB decoder, the spool and the target
// writers. Its fields are the run goroutine's; what other goroutines read is
// atomic.
type replica struct {
	opts     Config
	log      zerolog.Logger
	srcCfg   psync.Config
	dstCfg   forwarder.Config
	src      *psync.Conn              // the current source link
	fwd      forwarder.SnapshotWriter // the snapshot writer, during a full sync
	plan     *applyPlan               // how snapshot keys are applied, read before each full sync
	rewrites rewriteCounts            // snapshot keys rewritten or skipped as unrepresentable
	skipped  skippedKeys              // snapshot keys skipped: their live writes are held back
	dec      *rdbstream.Decoder
	expiry   *expiryRewriter
	status   *status

	srcAddrs   []string               // the source's addresses: a master and the replicas that may replace it
	srcAddr    atomic.Pointer[string] // the address of the current source link
	dstAddrs   []string               // the target's addresses (a cluster's seed nodes)
	targetKind string                 // KindStandalone, KindCluster, KindTwemproxy
	stateDir   string
	tempState  bool // stateDir was made for this run: removed at exit
	state      savedState
	spool      *spool.Spool
	applier    atomic.Pointer[applier]
	replIDs    atomic.Pointer[[]string] // known replication ids, newest first
	needFull   atomic.Bool              // the target lost its checkpoint
	restored   atomic.Int64             // keys restored by finished snapshots
	fullSyncs  int
	everSynced bool // this process restored a snapshot or resumed

	// stream commands applied and refused by stopped appliers, for the
	// summary at exit
	pastCommands, pastRefused atomic.Int64

	// interlocks (interlock.go, lease.go)
	lease        *lease   // the target's lease, held from before the first write
	ownPrefixes  []string // prefixes of replicant's own keys: the base checkpoint and heartbeat keys
	forceFull    bool     // --after-cutover-ok over a cut-over target: a full sync, whatever the checkpoint
	clearCutover bool     // the cut-over mark goes once the full sync began

	// corruptSnapshots counts the snapshots in a row whose bytes arrived
	// but did not decode (snapshotFailed).
	corruptSnapshots int

	ctl operator // admin endpoints, pause, heartbeat, cutover (operate.go)

	filter   *filter.Filter // nil: copy everything as is (filters.go)
	filtered filterStats
	keySpecs filter.KeySpecs // the source's key positions, once loaded
	shard    *shard          // the slots this sync copies, for one shard of a cluster source; nil: all
	sweepDBs map[int][]int   // target db → its source dbs, during a sweep
}

func newReplica(o Config, log zerolog.Logger) (*replica, error) {
	src, dst := o.Source, o.Target
	kind, err := resolveTargetKind(o.TargetKind, dst)
	if err != nil {
		return nil, err
	}
	if len(dst.Addrs) > 1 && kind != KindCluster {
		return nil, fmt.Errorf("--target: one address only, unless the target is a cluster (redis+cluster://)")
	}
	s := &replica{opts: o, log: log, status: newStatus(), expiry: newExpiryRewriter(o.ExpireMargin),
		srcAddrs: src.Addrs, dstAddrs: dst.Addrs, targetKind: kind, ownPrefixes: []string{o.CheckpointKey}}
	if o.HeartbeatKey != "" {
		s.ownPrefixes = append(s.ownPrefixes, o.HeartbeatKey)
	}
	if s.filter, err = newFilter(o.Filter); err != nil {
		return nil, err
	}
	s.srcCfg = psync.Config{
		Addr: src.addr(), Username: src.Username, Password: src.Password,
		ListeningPort: o.ReplicaPort, DialTimeout: o.ConnectTimeout,
		Logger: log.With().Str("side", "source").Logger(), TLS: src.tlsFor(src.addr()),
	}
	s.dstCfg = forwarder.Config{
		Addr: dst.addr(), Username: dst.Username, Password: dst.Password,
		DialTimeout: o.ConnectTimeout, Window: o.Window,
		Logger: log.With().Str("side", "target").Logger(), TLS: dst.tlsFor(dst.addr()),
	}
	return s, nil
}

// copySnapshot restores every key of the streamed RDB on the target.
func (s *replica) copySnapshot() error {
	s.status.setPhase(phaseSnapshot)
	rdb, err := s.src.Snapshot()
	if err != nil {
		return err
	}
	// A key counts as expired only once its expiry plus the margin has
	// passed: until then the target keeps it too, so that writes the source
	// made to it before it expired there still find it (see expiry.go).
	margin := s.opts.ExpireMargin
	s.dec = rdbstream.NewDecoder(rdb, rdbstream.Options{Now: func() time.Time { return time.Now().Add(-margin) },
		BigCount: s.bigCount(), BigString: s.bigString()})
	start := time.Now()
	var keys int64
	for {
		e, err := s.dec.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return s.snapshotFailed(fmt.Errorf("snapshot: %w", err))
		}
		if err := s.apply(e); err != nil {
			return s.snapshotFailed(err)
		}
		keys++
	}
	if err := s.checkPayloadEnd(); err != nil {
		return s.snapshotFailed(err)
	}
	s.corruptSnapshots = 0
	for _, body := range s.dec.Scripts() { // the "lua" fields of 4.0-6.2 sources
		if err := s.fwd.LoadScript([]byte(body)); err != nil {
			return err
		}
	}
	if err := s.fwd.Flush(); err != nil {
		return err
	}
	s.ctl.expired.Add(s.dec.Expired())
	s.log.Info().Int64("entries", keys).Int64("expired_skipped", s.dec.Expired()).
		Int64("rewritten", s.rewrites.rewritten.Load()).Int64("streamed_big", s.rewrites.big.Load()).Int64("unrepresentable_skipped", s.rewrites.unrepresentable.Load()).Int64("field_ttls_dropped", s.rewrites.fieldTTLsDropped.Load()).
		Int64("rdb_bytes", s.dec.Offset()).Int("rdb_version", s.dec.Version()).
		Str("took", time.Since(start).Round(time.Millisecond).String()).Msg("snapshot received")
	return nil
}

func (s *replica) apply(e *rdbstream.Entry) error {
	switch e.Kind {
	case rdbstream.KindKey:
		if !s.keepSnapshotKey(e.DB, e.Key) {
			return nil
		}
		e.Key = s.targetKey(e.DB, e.Key)
		e.DB = s.mapDB(e.DB)
		if e.Big {
			return s.rewriteBig(e, s.expiry.snapshot(e.ExpireAt))
		}
		if s.opts.SnapshotCommands == SnapshotAuto && s.plan.mode != ApplyRestore && plainString(e) {
			return s.setString(e)
		}
		if s.plan.rewrites(s.dec.Version(), len(e.Payload)) {
			return s.rewriteKey(e, s.expiry.snapshot(e.ExpireAt))
		}
		return s.fwd.Restore(e.DB, e.Key, s.expiry.snapshot(e.ExpireAt), e.Payload)
	case rdbstream.KindFunction:
		return s.fwd.LoadFunction(e.Code)
	}
	return nil
}

// maxSetString bounds the values sent as plain strings: a larger one is
// sent compressed, as RESTORE, rather than decoded in memory here.
const maxSetString = 1 << 20

// plainString reports whether e is best sent as its plain value (SET, in
// MSET batches): a string key without expiry of at most maxSetString
// bytes. The target applies an MSET of small strings for about half the
// cost of as many RESTOREs, and a large LZF-compressed string for less
// than its RESTORE, whose decompression is slow. Everything else goes as
// RESTORE: a string with an expiry (SET ... PXAT saves the target little
// on small values, and needs Redis 6.2) and collections, which RESTORE
// loads in their compact encoding for less than commands that add their
// elements one by one.
func plainString(e *rdbstream.Entry) bool {
	if e.Type != rdbTypeString || e.ExpireAt != 0 {
		return false
	}
	n, err := e.StringLen()
	return err == nil && n <= maxSetString
}

// rdbTypeString is the RDB value type of a string.
const rdbTypeString = 0

// setString sends a string key as its plain value. A value that does not
// decode goes as RESTORE, for the target to judge.
func (s *replica) setString(e *rdbstream.Entry) error {
	v, err := e.StringValue()
	if err != nil {
		return s.fwd.Restore(e.DB, e.Key, 0, e.Payload)
	}
	return s.fwd.SetString(e.DB, e.Key, v)
}
