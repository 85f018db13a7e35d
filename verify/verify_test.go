package verify_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/replicant/replicant/test/redistest"
	"github.com/replicant/replicant/verify"
)

// TestReplicaIsEqual compares a source filled with every type and encoding
// on dbs 0-3 with a real replica in sync.
func TestReplicaIsEqual(t *testing.T) {
	src, dst := replicated(t, redistest.FillOptions{Seed: 1}, false)
	res := run(t, config(src, dst))
	mustEqual(t, res)
	n, err := src.Client.DBSize(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(res.DBs) != 4 || res.DBs[0].Keys != n || res.Keys != 4*n {
		t.Fatalf("counted %d keys over %v, want %d in each of 4 dbs", res.Keys, res.DBs, n)
	}
	if len(res.Notes) != 0 {
		t.Fatalf("notes: %q", res.Notes)
	}
}

// TestPlantedDifferences changes a detached replica and expects each
// change reported with its kind.
func TestPlantedDifferences(t *testing.T) {
	src, dst := replicated(t, redistest.FillOptions{Seed: 2, DBs: 2, KeysPerType: 5}, true)
	both := func(db int, s, d []any) {
		do(t, src, db, s...)
		do(t, dst, db, d...)
	}
	both(0, []any{"SET", "p:value", "a"}, []any{"SET", "p:value", "b"})
	do(t, src, 0, "SET", "p:missing", "1")
	do(t, dst, 1, "SET", "p:extra", "1")
	both(0, []any{"SET", "p:ttl", "1"}, []any{"SET", "p:ttl", "1", "EX", 1000})
	both(0, []any{"SET", "p:type", "1"}, []any{"RPUSH", "p:type", "1"})
	both(0, []any{"HSET", "p:hash", "f", "1", "g", "2"}, []any{"HSET", "p:hash", "f", "1", "g", "3"})
	both(0, []any{"ZADD", "p:zset", "1", "m", "2", "n"}, []any{"ZADD", "p:zset", "1", "m", "2.0000000000000004", "n"})
	both(0, []any{"SADD", "p:set", "a", "b"}, []any{"SADD", "p:set", "a", "c"})
	both(0, []any{"RPUSH", "p:list", "a", "b", "c"}, []any{"RPUSH", "p:list", "a", "x", "c"})
	both(0, []any{"SET", "p:both", "a"}, []any{"SET", "p:both", "b", "EX", 1000})
	do(t, dst, 0, "XGROUP", "SETID", "x:full", "g2", "0")
	do(t, dst, 0, "FUNCTION", "LOAD", "REPLACE", strings.Replace(redistest.LibraryCode, "'SET'", "'set'", 1))
	do(t, src, 0, "SET", "p:soon", "1", "PX", 1500) // expires within the tolerance: may be missing
	both(0, []any{"SET", "skip:me", "a"}, []any{"SET", "skip:me", "b"})

	cfg := config(src, dst)
	cfg.SkipKeys = []string{"skip:", "no[pq]e*"}
	res := run(t, cfg)
	for _, want := range []struct {
		db     int
		key    string
		kind   verify.DiffKind
		detail string
	}{
		{0, "p:value", verify.Value, `"a" vs "b"`},
		{0, "p:missing", verify.Missing, "string on source (ttl none), not on target"},
		{1, "p:extra", verify.Extra, "string on target (ttl none), not on source"},
		{0, "p:ttl", verify.TTL, "none vs 99"},
		{0, "p:type", verify.Type, "string vs list"},
		{0, "p:hash", verify.Value, `field "g": "2" vs "3"`},
		{0, "p:zset", verify.Value, `member "n": score 2 vs 2.0000000000000004`},
		{0, "p:set", verify.Value, `member "b" missing on target`},
		{0, "p:list", verify.Value, `index 1: "b" vs "x"`},
		{0, "p:both", verify.Value, `"a" vs "b"; ttl none vs 99`},
		{0, "x:full", verify.Value, `group "g2" last-delivered-id: `},
	} {
		d := findDiff(t, res, want.db, want.key)
		if d.Kind != want.kind || !strings.Contains(d.Detail, want.detail) {
			t.Errorf("%s: want kind %s with %q", d, want.kind, want.detail)
		}
	}
	if len(res.Diffs) != 12 || res.Differing != 11 || res.Missing != 1 || res.Extra != 1 || !res.Functions || res.Equal {
		t.Errorf("counts: differing %d missing %d extra %d functions %v, %d diffs:\n%s",
			res.Differing, res.Missing, res.Extra, res.Functions, len(res.Diffs), diffList(res))
	}
	fn := res.Diffs[0]
	if fn.Kind != verify.Function || fn.DB != -1 || !strings.Contains(fn.Detail, `library "replicantlib" code differs`) {
		t.Errorf("function difference: %s", fn)
	}
	if res.DBs[1].Extra != 1 || res.DBs[0].Missing != 1 || res.DBs[0].Differing != 10 {
		t.Errorf("per db: %+v", res.DBs)
	}
}

// TestRecheckSettles fixes a difference between the rounds: the second
// round rechecks only that key and finds it equal.
func TestRecheckSettles(t *testing.T) {
	src, dst := replicated(t, redistest.FillOptions{Seed: 3, DBs: 1, KeysPerType: 5}, true)
	do(t, src, 0, "SET", "k", "new")
	do(t, dst, 0, "SET", "k", "old")
	cfg := config(src, dst)
	cfg.Rounds, cfg.RoundDelay = 3, 10*time.Millisecond
	var rounds []verify.Round
	cfg.OnRound = func(r verify.Round) {
		rounds = append(rounds, r)
		if r.N == 1 {
			do(t, dst, 0, "SET", "k", "new")
		}
	}
	res := run(t, cfg)
	mustEqual(t, res)
	if res.Rounds != 2 || len(rounds) != 2 || rounds[0].Differing != 1 || rounds[1].Keys != 1 {
		t.Fatalf("rounds: %d, %+v", res.Rounds, rounds)
	}
	if res.Keys != rounds[0].Keys {
		t.Fatalf("keys %d, want the first round's %d", res.Keys, rounds[0].Keys)
	}
}

// TestLiveWritesSettle compares while live writes reach a real replica;
// they stop after the first round, and the rechecks find the two equal.
func TestLiveWritesSettle(t *testing.T) {
	src, dst := replicated(t, redistest.FillOptions{Seed: 4, DBs: 2, KeysPerType: 10}, false)
	liveCtx, stopLive := context.WithCancel(context.Background())
	defer stopLive()
	liveDone := make(chan error, 1)
	go func() {
		_, err := redistest.LiveWrites(liveCtx, src, redistest.LiveOptions{Seed: 5, DBs: 2})
		liveDone <- err
	}()
	time.Sleep(300 * time.Millisecond)
	cfg := config(src, dst)
	cfg.Rounds, cfg.RoundDelay = 3, 100*time.Millisecond
	cfg.OnRound = func(r verify.Round) {
		if r.N == 1 {
			stopLive()
			if err := <-liveDone; err != nil {
				t.Errorf("live writes: %v", err)
			}
			if err := redistest.WaitInSync(testCtx(t, 10*time.Second), src, dst); err != nil {
				t.Error(err)
			}
		}
	}
	mustEqual(t, run(t, cfg))
}

// TestSample finds a planted difference when the sample covers a small
// database, and reports equal data equal, sampled or whole.
func TestSample(t *testing.T) {
	src, dst := replicated(t, redistest.FillOptions{Seed: 6, DBs: 2, KeysPerType: 5}, true)
	cfg := config(src, dst)
	cfg.Mode, cfg.Sample = verify.Sample, 1000
	mustEqual(t, run(t, cfg))

	do(t, dst, 1, "SET", "s:extra", "1")
	do(t, src, 0, "SET", "s:value", "1")
	do(t, dst, 0, "SET", "s:value", "2")
	res := run(t, cfg)
	if d := findDiff(t, res, 0, "s:value"); d.Kind != verify.Value {
		t.Errorf("%s: want a value difference", d)
	}
	if d := findDiff(t, res, 1, "s:extra"); d.Kind != verify.Extra {
		t.Errorf("%s: want an extra key", d)
	}
	if res.Equal || res.Differing != 2 {
		t.Errorf("differing %d, want 2", res.Differing)
	}
}

// TestSampleRandomKeys samples a database larger than the sample.
func TestSampleRandomKeys(t *testing.T) {
	src, dst := start(t, fastSync), start(t, redistest.Options{})
	do(t, src, 0, "DEBUG", "POPULATE", 20000)
	syncReplica(t, testCtx(t, 20*time.Second), src, dst)
	cfg := config(src, dst)
	cfg.Mode, cfg.Sample = verify.Sample, 500
	res := run(t, cfg)
	mustEqual(t, res)
	if res.Keys != 500 {
		t.Fatalf("compared %d keys, want the sample of 500", res.Keys)
	}
}

// TestBigValues compares values larger than the read chunks, equal and
// then changed far from their start.
func TestBigValues(t *testing.T) {
	src, dst := start(t, fastSync), start(t, redistest.Options{})
	ctx := testCtx(t, 20*time.Second)
	p := src.Client.Pipeline()
	p.Set(ctx, "big:string", strings.Repeat("abcdefgh", 40000), 0)
	for i := range 3000 {
		p.RPush(ctx, "big:list", i)
		p.SAdd(ctx, "big:set", i*7)
		p.HSet(ctx, "big:hash", i, i*3)
		p.ZAdd(ctx, "big:zset", redisZ(float64(i)/3, i))
		p.XAdd(ctx, xadd("big:stream", i))
	}
	p.Do(ctx, "XGROUP", "CREATE", "big:stream", "g", "0")
	p.Do(ctx, "XREADGROUP", "GROUP", "g", "c", "COUNT", 2500, "STREAMS", "big:stream", ">")
	if _, err := p.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	syncReplica(t, ctx, src, dst)
	mustEqual(t, run(t, config(src, dst)))

	do(t, dst, 0, "REPLICAOF", "NO", "ONE")
	do(t, dst, 0, "SETRANGE", "big:string", 200001, "X")
	do(t, dst, 0, "LSET", "big:list", 2500, "x")
	do(t, dst, 0, "SREM", "big:set", 2999*7)
	do(t, dst, 0, "SADD", "big:set", 1)
	do(t, dst, 0, "HSET", "big:hash", 2000, "x")
	do(t, dst, 0, "ZADD", "big:zset", 5000, 2500)
	res := run(t, config(src, dst))
	for key, want := range map[string]string{
		"big:string": `from byte 200001: "bcdefgh`,
		"big:list":   `index 2500: "2500" vs "x"`,
		"big:set":    `member "20993" missing on target`,
		"big:hash":   `field "2000": "6000" vs "x"`,
		"big:zset":   `rank 2500: member "2500" vs "2501"`,
	} {
		if d := findDiff(t, res, 0, key); d.Kind != verify.Value || !strings.Contains(d.Detail, want) {
			t.Errorf("%s: want a value difference with %q", d, want)
		}
	}
	if res.Differing != 5 {
		t.Errorf("differing %d, want 5:\n%s", res.Differing, diffList(res))
	}
}

// TestConnectErrors: an unreachable side and a wrong password are errors,
// each on one line, naming the side.
func TestConnectErrors(t *testing.T) {
	src := start(t, redistest.Options{Args: []string{"--requirepass", "right"}, Password: "right"})
	cfg := config(src, src)
	cfg.Target.Options.Password = "wrong"
	_, err := verify.Run(testCtx(t, 10*time.Second), cfg)
	if err == nil || !strings.Contains(err.Error(), "target "+src.Addr) || !strings.Contains(err.Error(), "WRONGPASS") {
		t.Fatalf("wrong password: %v", err)
	}
	cfg = config(src, src)
	cfg.Source.Options.Addr = "127.0.0.1:1"
	_, err = verify.Run(testCtx(t, 10*time.Second), cfg)
	if err == nil || !strings.Contains(err.Error(), "source 127.0.0.1:1") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("unreachable source: %v", err)
	}
}
