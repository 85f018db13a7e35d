package replicate

import (
	"fmt"
	"io"
	"time"

	"github.com/replicant/replicant/rdbstream"
)

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
		if err := s.restoreEntry(e); err != nil {
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

// restoreEntry writes one snapshot entry to the target: a key (filtered,
// renamed, then as MSET, RESTORE or rewritten commands) or a function.
func (s *replica) restoreEntry(e *rdbstream.Entry) error {
	switch e.Kind {
	case rdbstream.KindKey:
		if !s.keepSnapshotKey(e.DB, e.Key) {
			return nil
		}
		e.Key = s.targetKey(e.DB, e.Key)
		e.DB = s.mapDB(e.DB)
		if e.Big {
			return s.rewriteBig(e, s.expiry.Snapshot(e.ExpireAt))
		}
		if s.opts.SnapshotCommands == SnapshotAuto && s.plan.mode != ApplyRestore && plainString(e) {
			return s.setString(e)
		}
		if s.plan.rewrites(s.dec.Version(), len(e.Payload)) {
			return s.rewriteKey(e, s.expiry.Snapshot(e.ExpireAt))
		}
		return s.fwd.Restore(e.DB, e.Key, s.expiry.Snapshot(e.ExpireAt), e.Payload)
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
