package verify

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// verifier is one Run.
type verifier struct {
	cfg      Config
	src, dst *side
	skip     skipper
	log      zerolog.Logger
}

// Run compares the target with the source and returns what differs. An
// error means the comparison could not be done (a side unreachable, a
// refused password or command); differences are not errors.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	pool := cfg.Parallel + 2 // the workers, and the scans beside them
	v := &verifier{
		cfg: cfg, skip: newSkipper(cfg.SkipKeys), log: cfg.Logger,
		src: newSide("source", cfg.Source, pool), dst: newSide("target", cfg.Target, pool),
	}
	defer v.close()
	err := onBoth(func() error { return v.src.connect(ctx) }, func() error { return v.dst.connect(ctx) })
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	pairs, notes, err := v.plan(ctx)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	res, err := v.run(ctx, pairs)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	res.Notes = append(notes, res.Notes...)
	return res, nil
}

func (v *verifier) close() {
	_ = v.src.close()
	_ = v.dst.close()
}

// plan decides the databases compared and whether keys only on the target
// can be looked for.
func (v *verifier) plan(ctx context.Context) ([]*pair, []string, error) {
	if !v.src.canList() {
		return nil, nil, fmt.Errorf("the source is a %s, which cannot list its keys", v.src.ep.Kind)
	}
	dbs := v.cfg.DBs
	if dbs == nil {
		var err error
		if dbs, err = v.defaultDBs(ctx); err != nil {
			return nil, nil, err
		}
	}
	dbs = sortedUnion(dbs)
	if !v.src.multiDB() && len(dbs) > 1 {
		return nil, nil, fmt.Errorf("the source is a %s with database 0 only: compare one database at a time", v.src.ep.Kind)
	}
	var notes []string
	shared := v.sharedTargetDB(dbs)
	targetPass := v.dst.canList() && !shared
	switch {
	case !v.dst.canList():
		notes = append(notes, "keys only on the target are not looked for: a proxy cannot list its keys")
	case !targetPass:
		notes = append(notes, "keys only on the target are not looked for: several source databases share one target database")
	}
	pairs := make([]*pair, len(dbs))
	for i, db := range dbs {
		to := v.targetDB(db)
		pairs[i] = &pair{db: db, dstDB: to, targetPass: targetPass,
			src: dbConn{v.src, v.src.client(db)}, dst: dbConn{v.dst, v.dst.client(to)}}
	}
	return pairs, notes, nil
}

// targetDB is the target database source database db is copied to.
func (v *verifier) targetDB(db int) int {
	if !v.dst.multiDB() {
		return 0
	}
	if to, ok := v.cfg.DBMap[db]; ok {
		return to
	}
	return db
}

// sharedTargetDB reports whether two of dbs are copied to one target
// database.
func (v *verifier) sharedTargetDB(dbs []int) bool {
	seen := map[int]bool{}
	for _, db := range dbs {
		to := v.targetDB(db)
		if seen[to] {
			return true
		}
		seen[to] = true
	}
	return false
}

// kept leaves out the keys of source database db that Config.SkipKeys or
// Config.Keep leave out.
func (v *verifier) kept(db int, keys []string) []string {
	keys = v.skip.filter(keys)
	if v.cfg.Keep == nil {
		return keys
	}
	out := keys[:0]
	for _, k := range keys {
		if v.cfg.Keep(db, k) {
			out = append(out, k)
		}
	}
	return out
}

// defaultDBs lists the databases non-empty on either standalone side; a
// side with one database brings database 0.
func (v *verifier) defaultDBs(ctx context.Context) ([]int, error) {
	if !v.src.multiDB() {
		return []int{0}, nil
	}
	var sdbs, ddbs []int
	err := onBoth(
		func() (err error) { sdbs, err = v.src.keyspace(ctx); return },
		func() (err error) {
			if v.dst.multiDB() {
				ddbs, err = v.dst.keyspace(ctx)
			}
			return
		})
	dbs := sortedUnion(sdbs, ddbs)
	if len(dbs) == 0 && !v.dst.multiDB() {
		dbs = []int{0}
	}
	return dbs, err
}

// run runs the rounds: the first compares every key (or a sample), each
// further one only the keys still differing, until none differ or
// Config.Rounds have run.
func (v *verifier) run(ctx context.Context, pairs []*pair) (*Result, error) {
	start := time.Now()
	res := &Result{}
	t := newTally(v.cfg, nil)
	for _, p := range pairs {
		dbResult(t.dbs, p.db) // listed even when empty
	}
	fnOK, note := v.functionsComparable()
	if !fnOK {
		res.Notes = append(res.Notes, note)
	}
	var fdiffs []Diff
	for n := 1; ; n++ {
		roundStart := time.Now()
		err := v.round(ctx, t, v.producers(pairs, n, t.prev))
		if err == nil && fnOK && (n == 1 || len(fdiffs) > 0) {
			fdiffs, err = v.compareFunctions(ctx)
		}
		if err != nil {
			return nil, err
		}
		if n == 1 {
			res.FirstPass = time.Since(start)
		}
		v.report(Round{N: n, Keys: t.checked, Differing: t.differing(), Functions: len(fdiffs) > 0, Elapsed: time.Since(roundStart)})
		res.Rounds = n
		if n == v.cfg.Rounds || !t.recheckable() && len(fdiffs) == 0 {
			break
		}
		if err := sleep(ctx, v.cfg.RoundDelay); err != nil {
			return nil, err
		}
		t = newTally(v.cfg, t)
	}
	t.fill(res, fdiffs)
	res.Elapsed = time.Since(start)
	return res, nil
}

func (v *verifier) report(r Round) {
	v.log.Info().Int("round", r.N).Int64("keys", r.Keys).Int64("differing", r.Differing).
		Bool("functions_differ", r.Functions).Str("took", r.Elapsed.Round(time.Millisecond).String()).
		Msg("round done")
	if v.cfg.OnRound != nil {
		v.cfg.OnRound(r)
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// job is one batch of keys of one database to compare.
type job struct {
	p        *pair
	keys     []string
	onTarget bool // from the target: compare only those not on the source
	// misplaced: from the target, found on a server of its pool that is not
	// theirs; compared whether on the source or not.
	misplaced bool
	look      bool // look for every key on the pool's other servers
}

// producer sends jobs until it is done or send fails.
type producer func(ctx context.Context, send func(job) error) error

// round runs the producers and Config.Parallel workers comparing their
// jobs into t, until all is done or something fails.
func (v *verifier) round(ctx context.Context, t *tally, producers []producer) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	jobs := make(chan job, v.cfg.Parallel)
	send := func(j job) error {
		select {
		case jobs <- j:
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	var workers, prods sync.WaitGroup
	for range v.cfg.Parallel {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for j := range jobs {
				if ctx.Err() == nil {
					if err := v.do(ctx, j, t); err != nil {
						cancel(err)
					}
				}
			}
		}()
	}
	for _, p := range producers {
		prods.Add(1)
		go func() {
			defer prods.Done()
			if err := p(ctx, send); err != nil {
				cancel(err)
			}
		}()
	}
	prods.Wait()
	close(jobs)
	workers.Wait()
	return context.Cause(ctx)
}

// do compares one job's keys and counts the outcome.
func (v *verifier) do(ctx context.Context, j job, t *tally) error {
	keys := j.keys
	if j.onTarget && !j.misplaced {
		var err error
		if keys, err = v.notOnSource(ctx, j.p, keys); err != nil || len(keys) == 0 {
			return err
		}
	}
	verdicts, onSource, err := v.compareKeys(ctx, j.p, keys, j.look || j.misplaced)
	if err != nil {
		return err
	}
	if !j.misplaced {
		onSource = nil
	}
	t.add(j.p.db, keys, verdicts, onSource)
	return nil
}

// notOnSource returns the keys absent from the source: one EXISTS for the
// whole batch when all are there, else one per key.
func (v *verifier) notOnSource(ctx context.Context, p *pair, keys []string) ([]string, error) {
	if v.src.ep.Kind == Standalone {
		n, err := p.src.c.Exists(ctx, keys...).Result()
		if err != nil {
			return nil, p.src.wrap("EXISTS", err)
		}
		if n == int64(len(keys)) {
			return nil, nil
		}
	}
	pipe := p.src.c.Pipeline()
	cmds := make([]interface{ Val() int64 }, len(keys))
	for i, k := range keys {
		cmds[i] = pipe.Exists(ctx, k)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, p.src.wrap("EXISTS", err)
	}
	var out []string
	for i, k := range keys {
		if cmds[i].Val() == 0 {
			out = append(out, k)
		}
	}
	return out, nil
}

// producers are the first round's scans or samples, or a recheck round's
// lists of differing keys.
func (v *verifier) producers(pairs []*pair, round int, prev *tally) []producer {
	var ps []producer
	for _, p := range pairs {
		switch {
		case round > 1:
			ps = append(ps, v.recheckKeys(p, prev.recheck[p.db]))
		case v.cfg.Mode == Sample:
			ps = append(ps, v.sampleKeys(p, p.src, false))
			if p.targetPass && v.dst.pool() != nil {
				ps = append(ps, v.samplePool(p))
			} else if p.targetPass {
				ps = append(ps, v.sampleKeys(p, p.dst, true))
			}
		default:
			ps = append(ps, v.scanKeys(p, p.src, false))
			if p.targetPass && v.dst.pool() != nil {
				ps = append(ps, v.scanPool(p))
			} else if p.targetPass {
				ps = append(ps, v.scanKeys(p, p.dst, true))
			}
		}
	}
	return ps
}

// scanKeys sends every key of one side's database, a SCAN page at a time.
func (v *verifier) scanKeys(p *pair, c dbConn, onTarget bool) producer {
	return func(ctx context.Context, send func(job) error) error {
		return c.s.scan(ctx, p.sideDB(onTarget), v.cfg.Batch, func(keys []string) error {
			if keys = v.kept(p.db, keys); len(keys) == 0 {
				return nil
			}
			return send(job{p: p, keys: keys, onTarget: onTarget})
		})
	}
}

// sampleKeys sends Config.Sample random keys of one side's database, or
// every key when it has no more.
func (v *verifier) sampleKeys(p *pair, c dbConn, onTarget bool) producer {
	return func(ctx context.Context, send func(job) error) error {
		n, err := c.s.dbSize(ctx, p.sideDB(onTarget))
		if err != nil {
			return err
		}
		if n <= int64(v.cfg.Sample) {
			return v.scanKeys(p, c, onTarget)(ctx, send)
		}
		keep := func(k string) bool { return len(v.kept(p.db, []string{k})) == 1 }
		keys, err := c.s.randomKeys(ctx, p.sideDB(onTarget), v.cfg.Sample, v.cfg.Batch, keep)
		if err != nil {
			return err
		}
		return v.sendBatches(job{p: p, onTarget: onTarget}, keys, send)
	}
}

// recheckKeys sends the keys that differed in the previous round.
func (v *verifier) recheckKeys(p *pair, keys []string) producer {
	return func(ctx context.Context, send func(job) error) error {
		// On a pool, a key that differed may sit on another server: a
		// stray copy beside an equal one is found only by looking.
		return v.sendBatches(job{p: p, look: v.dst.pool() != nil}, keys, send)
	}
}

// sendBatches sends keys in jobs like j, Config.Batch keys at a time.
func (v *verifier) sendBatches(j job, keys []string, send func(job) error) error {
	for len(keys) > 0 {
		n := min(len(keys), v.cfg.Batch)
		j.keys = keys[:n:n]
		if err := send(j); err != nil {
			return err
		}
		keys = keys[n:]
	}
	return nil
}

// tally counts one round.
type tally struct {
	cfg  Config
	prev *tally // the round before; nil for the first

	mu      sync.Mutex
	checked int64 // keys compared in this round
	dbs     map[int]*DBResult
	kinds   map[DiffKind]int64
	diffs   []Diff
	recheck map[int][]string // differing keys to check again, by db
	kept    int
	// counted holds the differing keys of a round on a target with a pool,
	// up to Config.MaxRecheck, so that a key found on its own server and
	// again on another one counts once.
	counted map[int]map[string]struct{}
	// unchecked counts differing keys past Config.MaxRecheck, in this round
	// and every one before: they are not checked again.
	unchecked      map[int]*DBResult
	uncheckedKinds map[DiffKind]int64
}

func newTally(cfg Config, prev *tally) *tally {
	t := &tally{cfg: cfg, prev: prev, dbs: map[int]*DBResult{}, kinds: map[DiffKind]int64{},
		recheck: map[int][]string{}, unchecked: map[int]*DBResult{}, uncheckedKinds: map[DiffKind]int64{}}
	if cfg.Target.Pool != nil {
		t.counted = map[int]map[string]struct{}{}
	}
	if prev != nil {
		for db, r := range prev.unchecked {
			c := *r
			t.unchecked[db] = &c
		}
		for k, n := range prev.uncheckedKinds {
			t.uncheckedKinds[k] = n
		}
	}
	return t
}

func dbResult(m map[int]*DBResult, db int) *DBResult {
	r, ok := m[db]
	if !ok {
		r = &DBResult{DB: db}
		m[db] = r
	}
	return r
}

// add counts a batch of keys of db and their verdicts. When onSource is
// given, the keys it marks are compared by the source's pass too, and
// count once.
func (t *tally) add(db int, keys []string, verdicts []verdict, onSource []bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := int64(len(keys))
	for _, on := range onSource {
		if on {
			n--
		}
	}
	t.checked += n
	r := dbResult(t.dbs, db)
	r.Keys += n
	for i, vd := range verdicts {
		if vd.kind == "" || t.seen(db, keys[i]) {
			continue
		}
		if len(t.diffs) < t.cfg.MaxDiffs {
			t.diffs = append(t.diffs, Diff{DB: db, Key: keys[i], Kind: vd.kind, Detail: vd.detail})
		}
		if t.kept < t.cfg.MaxRecheck {
			t.kept++
			t.recheck[db] = append(t.recheck[db], keys[i])
			countDiff(r, t.kinds, vd.kind)
		} else {
			countDiff(dbResult(t.unchecked, db), t.uncheckedKinds, vd.kind)
		}
	}
}

// seen reports a differing key already counted in this round, and
// remembers it (with t.mu held).
func (t *tally) seen(db int, key string) bool {
	if t.counted == nil {
		return false
	}
	keys := t.counted[db]
	if _, ok := keys[key]; ok {
		return true
	}
	if t.kept < t.cfg.MaxRecheck {
		if keys == nil {
			keys = map[string]struct{}{}
			t.counted[db] = keys
		}
		keys[key] = struct{}{}
	}
	return false
}

func countDiff(r *DBResult, kinds map[DiffKind]int64, k DiffKind) {
	r.Differing++
	kinds[k]++
	switch k {
	case Missing:
		r.Missing++
	case Extra:
		r.Extra++
	}
}

// differing is how many keys differ as of this round.
func (t *tally) differing() int64 {
	var n int64
	for _, r := range t.dbs {
		n += r.Differing
	}
	for _, r := range t.unchecked {
		n += r.Differing
	}
	return n
}

// recheckable reports differing keys that another round can check.
func (t *tally) recheckable() bool { return t.kept > 0 }

// fill writes the final counts into res: keys from the first round,
// differences from the last.
func (t *tally) fill(res *Result, fdiffs []Diff) {
	firstRound := t
	for firstRound.prev != nil {
		firstRound = firstRound.prev
	}
	res.Keys = firstRound.checked
	res.ByKind = map[DiffKind]int64{}
	for _, m := range []map[DiffKind]int64{t.kinds, t.uncheckedKinds} {
		for k, n := range m {
			res.ByKind[k] += n
		}
	}
	for db, first := range firstRound.dbs {
		r := DBResult{DB: db, Keys: first.Keys}
		for _, m := range []map[int]*DBResult{t.dbs, t.unchecked} {
			if x, ok := m[db]; ok {
				r.Differing, r.Missing, r.Extra = r.Differing+x.Differing, r.Missing+x.Missing, r.Extra+x.Extra
			}
		}
		res.DBs = append(res.DBs, r)
		res.Differing, res.Missing, res.Extra = res.Differing+r.Differing, res.Missing+r.Missing, res.Extra+r.Extra
	}
	sort.Slice(res.DBs, func(i, j int) bool { return res.DBs[i].DB < res.DBs[j].DB })
	keyDiffs := append([]Diff{}, t.diffs...)
	sort.Slice(keyDiffs, func(i, j int) bool {
		a, b := keyDiffs[i], keyDiffs[j]
		return a.DB < b.DB || a.DB == b.DB && a.Key < b.Key
	})
	if len(fdiffs) > 0 {
		res.Functions = true
		res.ByKind[Function] = int64(len(fdiffs))
	}
	// Function differences first: they are few and server-wide.
	res.Diffs = append(fdiffs[:min(len(fdiffs), t.cfg.MaxDiffs):min(len(fdiffs), t.cfg.MaxDiffs)], keyDiffs...)
	res.Diffs = res.Diffs[:min(len(res.Diffs), t.cfg.MaxDiffs)]
	res.Equal = res.Differing == 0 && !res.Functions
}
