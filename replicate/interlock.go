package replicate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/replicant/replicant/internal/redisreply"
)

// The interlocks: what sync checks before its first write to the target,
// so that a wrong command line cannot destroy data. Each refusal is a
// fatalError of one line.
//
//   - the source and the target are not one server (same run_id);
//   - the target was not cut over ("replicant cutover" marks it), unless
//     --after-cutover-ok;
//   - no other replicant holds the target's lease (lease.go);
//   - a first sync (no checkpoint of replicant on the target) finds no
//     data it would overwrite, unless --overwrite; and a full resync
//     does not FLUSHALL a target that lost replicant's checkpoint while
//     holding data, unless --overwrite (snapshotCopier.mark).

// interlock runs the interlocks of a replica s and holds what they leave:
// the target's lease, replicant's own key prefixes (never in the way of a
// sync, never swept) and what --after-cutover-ok asks of the sync (a full
// sync, then the mark's removal); a cutover writes its mark through it. It
// reaches the replica for its config, log, source, target, resume state
// and the keys it copies. Its fields are the run goroutine's; a cutover
// reads lease, which is set before the first write.
type interlock struct {
	s            *replica
	lease        *lease   // the target's lease, held from before the first write
	ownPrefixes  []string // prefixes of replicant's own keys: the base checkpoint and heartbeat keys
	forceFull    bool     // --after-cutover-ok over a cut-over target: a full sync, whatever the checkpoint
	clearCutover bool     // the cut-over mark goes once the full sync began
}

// newInterlock makes the interlock of s, whose own keys are named after
// the checkpoint and heartbeat keys of o (before a fleet names them after
// a shard: every shard's keys are replicant's own).
func newInterlock(s *replica, o Config) *interlock {
	il := &interlock{s: s, ownPrefixes: []string{o.CheckpointKey}}
	if o.HeartbeatKey != "" {
		il.ownPrefixes = append(il.ownPrefixes, o.HeartbeatKey)
	}
	return il
}

// Suffixes of replicant's keys next to the checkpoint key on the target.
const (
	leaseSuffix   = ":lease"
	cutoverSuffix = ":cutover"
)

func (il *interlock) leaseKey() string   { return il.s.opts.CheckpointKey + leaseSuffix }
func (il *interlock) cutoverKey() string { return il.s.opts.CheckpointKey + cutoverSuffix }

// engage runs the checks that come before any write to the target and
// takes its lease. The context returned ends when the lease is lost, with
// a leaseLostError as its cause; done ends it. The lease is renewed until
// closeState releases it, once the applier stopped.
func (il *interlock) engage(ctx context.Context) (_ context.Context, done func(), err error) {
	if err := il.checkNotSelf(ctx); err != nil {
		return ctx, nil, err
	}
	marked, err := il.checkCutoverMark(ctx)
	if err != nil {
		return ctx, nil, err
	}
	c := il.s.target.client(il.leaseKey())
	defer func() {
		if err != nil {
			c.Close()
		}
	}()
	id := randomID()
	if !il.s.resume.temp {
		if id, err = loadOwnerID(il.s.resume.dir); err != nil {
			return ctx, nil, err
		}
	}
	l := newLease(c, il.leaseKey(), id, il.s.opts.LeaseTTL, il.s.resume.replID, il.s.log.With().Str("side", "target").Logger())
	if err := l.acquire(ctx); err != nil {
		return ctx, nil, err
	}
	il.lease = l
	if marked { // --after-cutover-ok: a full sync, then the mark goes
		il.forceFull, il.clearCutover = true, true
	}
	ctx, lost := context.WithCancelCause(ctx)
	l.start(lost)
	return ctx, func() { lost(nil) }, nil
}

// leaseLost returns the cause of ctx's end when it is the lease's loss.
func leaseLost(ctx context.Context) error {
	var lost leaseLostError
	if errors.As(context.Cause(ctx), &lost) {
		return lost
	}
	return nil
}

// serverID names a server: its address and the run_id of its INFO ("" when
// INFO is refused or unknown, as to a replication-only user).
type serverID struct{ addr, runID string }

// checkNotSelf refuses a target that is the source itself: the same
// run_id in INFO server, or, where either side does not tell its run_id,
// the same address. Sources and targets that do not answer are left to the
// sync to report.
func (il *interlock) checkNotSelf(ctx context.Context) error {
	targets := il.s.target.servers(ctx)
	for _, addr := range il.s.srcAddrs {
		o := il.s.sourceClientOptions()
		o.Addr = addr
		src := serverID{addr, il.s.target.runID(ctx, o)}
		for _, dst := range targets {
			if !sameServer(ctx, src, dst) {
				continue
			}
			how := "address " + dst.addr
			if src.runID != "" && dst.runID != "" {
				how = fmt.Sprintf("run_id %s at %s and %s", src.runID, src.addr, dst.addr)
			}
			return fatalError{fmt.Errorf("source and target are the same server (%s): replicant would copy it onto itself", how)}
		}
	}
	return nil
}

// sameServer compares run_ids when both are known, else addresses.
func sameServer(ctx context.Context, a, b serverID) bool {
	if a.runID != "" && b.runID != "" {
		return a.runID == b.runID
	}
	return sameAddr(ctx, a.addr, b.addr)
}

// sameAddr reports whether two host:port addresses name one endpoint: the
// same port, and a host that resolves to a shared address.
func sameAddr(ctx context.Context, a, b string) bool {
	if a == b {
		return true
	}
	ha, pa, err1 := net.SplitHostPort(a)
	hb, pb, err2 := net.SplitHostPort(b)
	if err1 != nil || err2 != nil || pa != pb {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	ipsA, err1 := net.DefaultResolver.LookupHost(ctx, ha)
	ipsB, err2 := net.DefaultResolver.LookupHost(ctx, hb)
	if err1 != nil || err2 != nil {
		return false
	}
	for _, x := range ipsA {
		for _, y := range ipsB {
			if net.ParseIP(x).Equal(net.ParseIP(y)) {
				return true
			}
		}
	}
	return false
}

// cutoverMark is the value of the cut-over mark, JSON.
type cutoverMark struct {
	At     time.Time `json:"at"`
	Source string    `json:"source"`
	ReplID string    `json:"replid"`
	Offset int64     `json:"offset"`
	Owner  string    `json:"owner"` // the lease owner id of the replicant that cut over
}

// checkCutoverMark refuses a target marked as cut over, unless
// --after-cutover-ok; marked says the mark is there.
func (il *interlock) checkCutoverMark(ctx context.Context) (marked bool, err error) {
	key := il.cutoverKey()
	c := il.s.target.client(key)
	defer c.Close()
	v, err := c.Get(ctx, key).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("target: %w", err)
	}
	what := fmt.Sprintf("%q", v)
	var m cutoverMark
	if json.Unmarshal([]byte(v), &m) == nil && !m.At.IsZero() {
		what = fmt.Sprintf("at %s, from source %s", m.At.Format(time.RFC3339), m.Source)
	}
	if il.s.opts.AfterCutoverOK {
		il.s.log.Warn().Str("key", key).Str("mark", v).Msg("the target was cut over; --after-cutover-ok: a full sync replaces its data, then the mark is removed")
		return true, nil
	}
	return true, fatalError{fmt.Errorf("target was cut over (%s; key %s): it is a primary now, and a sync would overwrite the writes made on it since; pass --after-cutover-ok to make it a copy of the source again, replacing its data", what, key)}
}

// markCutover writes the cut-over mark on the target: a sync started
// into it again refuses to run.
func (il *interlock) markCutover(ctx context.Context, off int64) error {
	owner := ""
	if il.lease != nil {
		owner = il.lease.self.ID
	}
	b, err := json.Marshal(cutoverMark{At: time.Now().UTC(), Source: il.s.sourceAddr(), ReplID: il.s.resume.replID(), Offset: off, Owner: owner})
	if err != nil {
		return err
	}
	c := il.s.target.client(il.cutoverKey())
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, il.s.opts.ConnectTimeout+5*time.Second)
	defer cancel()
	if err := c.Set(ctx, il.cutoverKey(), b, 0).Err(); err != nil {
		return fmt.Errorf("target: writing the cut-over mark %s: %w", il.cutoverKey(), err)
	}
	return nil
}

// clearCutoverMark removes the mark once a full sync over it began.
func (il *interlock) clearCutoverMark(ctx context.Context) error {
	c := il.s.target.client(il.cutoverKey())
	defer c.Close()
	if err := c.Del(ctx, il.cutoverKey()).Err(); err != nil {
		return fmt.Errorf("target: removing the cut-over mark %s: %w", il.cutoverKey(), err)
	}
	il.clearCutover = false
	il.s.log.Info().Str("key", il.cutoverKey()).Msg("target: cut-over mark removed; it is a copy of the source again")
	return nil
}

// checkFirstSync refuses a first sync (no checkpoint of replicant on the
// target) into a target holding data it would overwrite: any key but
// replicant's own when the sync copies the whole source (a later full
// resync flushes it), else a key it copies.
func (il *interlock) checkFirstSync(ctx context.Context) error {
	if il.s.opts.Overwrite {
		return nil
	}
	db, key, err := il.foreignKey(ctx)
	switch {
	case errors.Is(err, errCannotScan):
		il.s.log.Warn().Msg("a twemproxy target without --twemproxy-config cannot be scanned: whether it holds data already is not checked")
		return nil
	case err != nil:
		return fmt.Errorf("target: looking for keys: %w", err)
	case key == "":
		return nil
	}
	return fatalError{fmt.Errorf("target is not empty (db %d holds %q) and holds no checkpoint of replicant: refusing a first sync over data replicant did not write; empty the target, or pass --overwrite to write over it", db, key)}
}

// checkFlush refuses the FLUSHALL of a full resync over a target that
// lost replicant's checkpoint and holds data: whose it is, nobody can
// tell (written after a cutover, or by someone else).
func (il *interlock) checkFlush(ctx context.Context) error {
	if il.s.opts.Overwrite {
		return nil
	}
	db, key, err := il.foreignKey(ctx)
	switch {
	case errors.Is(err, errCannotScan):
		return nil // its FLUSHALL cannot go through the proxy either
	case err != nil:
		return fmt.Errorf("target: looking for keys: %w", err)
	case key == "":
		return nil
	}
	return fatalError{fmt.Errorf("target lost replicant's checkpoint but holds data (db %d holds %q): not flushing it for a full resync, as that data may not be replicant's; check the target, then empty it or pass --overwrite", db, key)}
}

// errCannotScan: the keys of a proxy target are not listed.
var errCannotScan = errors.New("a twemproxy target without --twemproxy-config cannot be scanned")

// foreignKey finds a key of the target this sync would overwrite or
// flush and did not write; key is "" when there is none.
func (il *interlock) foreignKey(ctx context.Context) (db int, key string, err error) {
	err = il.s.target.scan(ctx, func(d int, keys []string) bool {
		for _, k := range keys {
			if il.wouldOverwrite(d, k) {
				db, key = d, k
				return true
			}
		}
		return false
	})
	return db, key, err
}

// isOwnKey reports replicant's own keys: those named after the checkpoint
// and heartbeat keys (the lease, the mark, slot and shard checkpoints).
func (il *interlock) isOwnKey(key string) bool {
	for _, p := range il.ownPrefixes {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

// wouldOverwrite reports whether key of target database db is in the way
// of this sync: a key not replicant's own, and, unless the sync owns the
// whole target, one it copies.
func (il *interlock) wouldOverwrite(db int, key string) bool {
	if il.isOwnKey(key) {
		return false
	}
	if il.s.ownsWholeTarget() {
		return true
	}
	for _, from := range il.s.filters.sourceDBsOf(db) {
		if name, ok := il.s.filters.sourceName(from, []byte(key)); ok && il.s.keepsSourceKey(from, name) {
			return true
		}
	}
	return false
}

// scanServer scans each database of one server that INFO keyspace lists.
func scanServer(ctx context.Context, o *redis.Options, visit func(db int, keys []string) bool) (bool, error) {
	c := redis.NewClient(o)
	info, err := c.Info(ctx, "keyspace").Result()
	c.Close()
	if err != nil {
		return false, err
	}
	for _, db := range redisreply.KeyspaceDBs(info) {
		one := *o
		one.DB = db
		c := redis.NewClient(&one)
		stop, err := scanDB(ctx, c, db, visit)
		c.Close()
		if stop || err != nil {
			return stop, err
		}
	}
	return false, nil
}

// scanDB scans the database c is connected to.
func scanDB(ctx context.Context, c *redis.Client, db int, visit func(db int, keys []string) bool) (bool, error) {
	var cursor uint64
	for {
		keys, next, err := c.Scan(ctx, cursor, "", 1000).Result()
		if err != nil {
			return false, err
		}
		if visit(db, keys) {
			return true, nil
		}
		if cursor = next; cursor == 0 {
			return false, nil
		}
	}
}

// afterMarker runs once the snapshot marker is on the target: the lease,
// which a FLUSHALL took too, is renewed, and the cut-over mark of
// --after-cutover-ok goes (only now: a crash before the marker must not
// leave a cut-over target without its mark and with its old checkpoint).
func (il *interlock) afterMarker(ctx context.Context, flushed bool) error {
	if flushed && il.lease != nil {
		err := il.lease.renew(ctx)
		var held *leaseHeldError
		switch {
		case errors.As(err, &held):
			return leaseLostError{fatalError{fmt.Errorf("lost the lease on the target, stopped writing: %w", held)}}
		case err != nil:
			il.s.log.Warn().Err(err).Msg("target: cannot renew the lease; will keep trying")
		}
	}
	if il.clearCutover {
		return il.clearCutoverMark(ctx)
	}
	return nil
}
