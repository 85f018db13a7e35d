package replicate

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/replicant/replicant/rdbstream"
	"github.com/replicant/replicant/rewrite"
)

// applyPlan is what the target takes, read once before a snapshot.
type applyPlan struct {
	mode       string // ApplyRestore or ApplyRewrite for every key; ApplyAuto: per key
	targetRDB  int    // the newest RDB version the target RESTOREs; 0: unknown
	maxRestore int    // the largest payload sent as RESTORE
	target     rewrite.Target
}

// rewriteCounts count the snapshot keys sent as plain commands, and those
// skipped because the target cannot represent them.
type rewriteCounts struct {
	rewritten, unrepresentable atomic.Int64
	big                        atomic.Int64 // of the rewritten, those streamed element by element
	fieldTTLsDropped           atomic.Int64 // hash fields copied without their TTL (--drop-field-ttl)
}

// planApply reads the target's version and proto-max-bulk-len. A target
// that answers neither (a proxy) gets every key rewritten.
func (sc *snapshotCopier) planApply(ctx context.Context) *applyPlan {
	s := sc.s
	p := &applyPlan{mode: s.opts.Apply, maxRestore: int(s.opts.MaxRestoreBytes)}
	sc.skipped.reset()
	version, bulk, err := s.target.version(ctx)
	if err != nil || version == "" {
		p.target = rewrite.TargetOf("99.0.0")
		if p.mode == ApplyAuto {
			p.mode = ApplyRewrite
			s.log.Warn().AnErr("reason", err).Msg("target: its version is unknown (INFO refused): every snapshot key is rewritten as plain commands")
		}
		return p
	}
	p.target = rewrite.TargetOf(version)
	p.targetRDB = rewrite.RDBVersion(version)
	if bulk > 0 && bulk < p.maxRestore {
		p.maxRestore = bulk
	}
	s.log.Info().Str("target_version", version).Int("target_rdb_version", p.targetRDB).
		Int("max_restore_bytes", p.maxRestore).Str("apply", p.mode).Msg("target: how snapshot keys are applied")
	return p
}

// rewrites reports whether a key's payload goes as plain commands.
func (p *applyPlan) rewrites(sourceRDB, payload int) bool {
	switch p.mode {
	case ApplyRestore:
		return false
	case ApplyRewrite:
		return true
	}
	return sourceRDB > p.targetRDB || payload > p.maxRestore
}

// bigCount is rdbstream's Options.BigCount: values with more elements are
// streamed from the RDB to the target as commands, never held whole. Off
// with --apply restore, which sends every value as its payload.
func (sc *snapshotCopier) bigCount() int64 {
	s := sc.s
	if s.opts.Apply == ApplyRestore {
		return 0
	}
	return s.opts.BigValueElements
}

// bigString is rdbstream's Options.BigString: plain strings longer than
// --max-restore-bytes are streamed too.
func (sc *snapshotCopier) bigString() int64 {
	s := sc.s
	if s.opts.Apply == ApplyRestore {
		return 0
	}
	return s.opts.MaxRestoreBytes
}

// rewriteBig streams a big value from the RDB to the target as commands.
func (sc *snapshotCopier) rewriteBig(e *rdbstream.Entry, expireAt int64) error {
	done, err := sc.rewriteWith(e, func(emit func([][]byte) error) error {
		return rewrite.Big(e.Key, e.Type, expireAt, e.Elements, emit)
	})
	if done {
		sc.rewrites.big.Add(1)
	}
	return err
}

// rewriteKey sends a key as plain commands.
func (sc *snapshotCopier) rewriteKey(e *rdbstream.Entry, expireAt int64) error {
	s := sc.s
	o := rewrite.Options{Target: sc.plan.target, DropFieldTTL: s.opts.DropFieldTTL, FieldTTLsDropped: func(n int) {
		sc.rewrites.fieldTTLsDropped.Add(int64(n))
		s.log.Warn().Str("key", string(e.Key)).Int("db", e.DB).Int("fields", n).
			Msg("snapshot key copied without its field TTLs (--drop-field-ttl): the target does not keep them")
	}}
	_, err := sc.rewriteWith(e, func(emit func([][]byte) error) error {
		return rewrite.Key(e.Key, e.Payload, expireAt, o, emit)
	})
	return err
}

// rewriteWith sends the commands build emits for key e, and reports
// whether the key was written. A key the target cannot represent is
// skipped with a warning and counted, or with --strict stops the sync.
func (sc *snapshotCopier) rewriteWith(e *rdbstream.Entry, build func(emit func([][]byte) error) error) (bool, error) {
	s := sc.s
	first := true
	err := build(func(args [][]byte) error {
		err := sc.fwd.Rewrite(e.DB, args, first)
		first = false
		return err
	})
	var ue *rewrite.UnrepresentableError
	switch {
	case errors.As(err, &ue):
		sc.rewrites.unrepresentable.Add(1)
		sc.skipped.add(e.DB, ue.Key, s.log)
		s.log.Warn().Str("key", ue.Key).Int("db", e.DB).Str("reason", ue.Reason).Msg("snapshot key skipped: the target cannot represent it; its live writes are held back")
		if s.opts.Strict {
			return false, fatalError{fmt.Errorf("--strict: %w", err)}
		}
		return false, nil
	case errors.Is(err, rewrite.ErrPayload):
		return false, fatalError{fmt.Errorf("snapshot: key %q: %w", e.Key, err)}
	case err != nil:
		return false, err
	}
	sc.rewrites.rewritten.Add(1)
	return true, nil
}
