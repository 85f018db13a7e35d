package test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/replicant/replicant/test/redistest"
)

// filterDBs are the source databases the filter tests write to.
const filterDBs = 3

// dataset maps db → key → a printable value.
type dataset map[int]map[string]string

func (d dataset) set(db int, key, value string) {
	if d[db] == nil {
		d[db] = map[string]string{}
	}
	d[db][key] = value
}

func (d dataset) String() string {
	var b strings.Builder
	for db := range 16 {
		if len(d[db]) == 0 {
			continue
		}
		keys := make([]string, 0, len(d[db]))
		for k := range d[db] {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		fmt.Fprintf(&b, "  db%d:", db)
		for _, k := range keys {
			fmt.Fprintf(&b, " %s=%s", k, d[db][k])
		}
		b.WriteString("\n")
	}
	return b.String()
}

// readDataset reads every string and hash key of dbs 0-15 but
// replicant's own.
func readDataset(ctx context.Context, s *redistest.Server) (dataset, error) {
	d := dataset{}
	for db := range 16 {
		c := s.ClientDB(db)
		keys, err := c.Keys(ctx, "*").Result()
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			if isCheckpoint(k) {
				continue
			}
			typ, err := c.Type(ctx, k).Result()
			if err != nil {
				return nil, err
			}
			switch typ {
			case "string":
				v, err := c.Get(ctx, k).Result()
				if err != nil {
					return nil, err
				}
				d.set(db, k, v)
			case "hash":
				m, err := c.HGetAll(ctx, k).Result()
				if err != nil {
					return nil, err
				}
				var fv []string
				for f, v := range m {
					fv = append(fv, f+":"+v)
				}
				slices.Sort(fv)
				d.set(db, k, "{"+strings.Join(fv, ",")+"}")
			case "none": // gone meanwhile
			default:
				d.set(db, k, "<"+typ+">")
			}
		}
	}
	return d, nil
}

// filterCase is one filter: its flags, which source keys it copies and
// where, and the keys where the target is expected to differ from the
// filtered source ("" for absent).
type filterCase struct {
	name      string
	args      []string
	keep      func(db int, key string) bool
	mapDB     map[int]int
	prefix    map[int]string // key prefix of each source db on the target
	overrides map[int]map[string]string
	mixed     int // commands logged as touching both sides
}

// expected is what the target should hold: the kept keys of the source,
// in their mapped dbs, with the overrides.
func (fc filterCase) expected(src dataset) dataset {
	want := dataset{}
	for db, keys := range src {
		to := db
		if m, ok := fc.mapDB[db]; ok {
			to = m
		}
		for k, v := range keys {
			if fc.keep(db, k) {
				want.set(to, fc.prefix[db]+k, v)
			}
		}
	}
	for db, keys := range fc.overrides {
		for k, v := range keys {
			if v == "" {
				delete(want[db], k)
			} else {
				want.set(db, k, v)
			}
		}
	}
	return want
}

// writeSnapshotData writes the keys every filter test starts from, in
// dbs 0-2, the same names in each db with values naming the db.
func writeSnapshotData(t *testing.T, ctx context.Context, s *redistest.Server) {
	t.Helper()
	for db := range filterDBs {
		c := s.ClientDB(db)
		p := c.Pipeline()
		for _, k := range []string{"user:1", "user:2", "user:x", "order:1", "tmp:1", "cache:tmp:1"} {
			p.Set(ctx, k, fmt.Sprintf("%s@%d", k, db), 0)
		}
		p.Set(ctx, "counter", 10, 0)
		p.HSet(ctx, "user:h", "f1", fmt.Sprintf("v1@%d", db))
		if _, err := p.Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// writeLiveData writes to dbs 0-2 once replicant streams: new keys on
// both sides of every filter, a delete, a hash field, a multi-key MSET
// whose keys are all on one side, INCR; and in db 0 the mixed DEL
// user:x order:1.
func writeLiveData(t *testing.T, ctx context.Context, s *redistest.Server) {
	t.Helper()
	for db := range filterDBs {
		c := s.ClientDB(db)
		for _, err := range []error{
			c.Set(ctx, "user:3", fmt.Sprintf("v3@%d", db), 0).Err(),
			c.Set(ctx, "order:2", fmt.Sprintf("o2@%d", db), 0).Err(),
			c.Set(ctx, "tmp:2", fmt.Sprintf("t2@%d", db), 0).Err(),
			c.Del(ctx, "user:2").Err(),
			c.HSet(ctx, "user:h", "f2", fmt.Sprintf("v2@%d", db)).Err(),
			c.MSet(ctx, "user:4", "a", "user:5", "b").Err(),
			c.MSet(ctx, "order:4", "a", "tmp:5", "b").Err(),
			c.Incr(ctx, "counter").Err(),
		} {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.ClientDB(0).Del(ctx, "user:x", "order:1").Err(); err != nil {
		t.Fatal(err)
	}
}

func filterCases() []filterCase {
	userNum := regexp.MustCompile(`^user:[0-9]+$`)
	return []filterCase{
		{name: "db", args: []string{"--db", "0,2"},
			keep: func(db int, _ string) bool { return db == 0 || db == 2 }},
		{name: "skip-db", args: []string{"--skip-db", "1"},
			keep: func(db int, _ string) bool { return db != 1 }},
		{name: "key-prefix", args: []string{"--key", "user:"},
			keep: func(_ int, k string) bool { return strings.HasPrefix(k, "user:") },
			// DEL user:x order:1 spans both sides: left out, so user:x stays.
			overrides: map[int]map[string]string{0: {"user:x": "user:x@0"}},
			mixed:     1},
		{name: "skip-key-glob", args: []string{"--skip-key", "glob:*tmp:*"},
			keep: func(_ int, k string) bool {
				return !strings.HasPrefix(k, "tmp:") && !strings.HasPrefix(k, "cache:tmp:")
			},
			// MSET order:4 a tmp:5 b spans both sides: left out.
			overrides: map[int]map[string]string{0: {"order:4": ""}, 1: {"order:4": ""}, 2: {"order:4": ""}},
			mixed:     3},
		{name: "key-regex", args: []string{"--key", "regex:^user:[0-9]+$", "--db", "1"},
			keep: func(db int, k string) bool { return db == 1 && userNum.MatchString(k) }},
		{name: "skip-command", args: []string{"--skip-command", "incr,hset"},
			keep: func(int, string) bool { return true },
			overrides: map[int]map[string]string{
				0: {"counter": "10", "user:h": "{f1:v1@0}"},
				1: {"counter": "10", "user:h": "{f1:v1@1}"},
				2: {"counter": "10", "user:h": "{f1:v1@2}"}}},
		{name: "db-map", args: []string{"--db-map", "1=0", "--skip-db", "0"},
			keep:  func(db int, _ string) bool { return db != 0 },
			mapDB: map[int]int{1: 0}},
		{name: "db-map-prefix", args: []string{"--db-map", "1=0:one:,2=0:two:"},
			keep:   func(int, string) bool { return true },
			mapDB:  map[int]int{1: 0, 2: 0},
			prefix: map[int]string{1: "one:", 2: "two:"}},
	}
}

// TestFilter syncs with each filter, then checks that the target holds
// exactly what the filter lets through, after the snapshot and after live
// writes, and that commands spanning both sides are reported.
func TestFilter(t *testing.T) {
	for _, fc := range filterCases() {
		t.Run(fc.name, func(t *testing.T) {
			src := startServer(t, redistest.Options{})
			dst := startServer(t, redistest.Options{})
			ctx := context.Background()
			writeSnapshotData(t, ctx, src)
			args := append([]string{"sync", "--source", url(src), "--target", url(dst), "--status-interval", "0"}, fc.args...)
			r := startReplicant(t, args...)
			r.waitOutput(t, `"streaming"`, 30*time.Second)
			waitDataset(t, "snapshot", src, dst, fc, 10*time.Second)

			writeLiveData(t, ctx, src)
			waitDataset(t, "stream", src, dst, fc, 20*time.Second)
			verifyFiltered(t, src, dst, fc)
			if code := r.stop(t); code != 0 {
				t.Fatalf("exit status %d", code)
			}
			out := r.out.String()
			if got := strings.Count(out, "touches both copied and filtered-out data"); got != fc.mixed {
				t.Fatalf("%d commands reported as mixed, want %d", got, fc.mixed)
			}
			final := lastLine(out)
			if !strings.Contains(final, fmt.Sprintf(`"commands_mixed":%d`, fc.mixed)) ||
				!strings.Contains(final, `"command_errors":0`) || !strings.Contains(final, `"restore_errors":0`) {
				t.Fatalf("final status line: %s", final)
			}
		})
	}
}

// TestFilterMixedLogNamesKeys checks the report of a command with keys on
// both sides names it and both sets of keys.
func TestFilterMixedLogNamesKeys(t *testing.T) {
	src := startServer(t, redistest.Options{})
	dst := startServer(t, redistest.Options{})
	ctx := context.Background()
	r := startReplicant(t, "sync", "--source", url(src), "--target", url(dst), "--key", "allowed:")
	r.waitOutput(t, `"streaming"`, 30*time.Second)
	if err := src.Client.Set(ctx, "allowed:1", "a", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := src.Client.Set(ctx, "denied:1", "d", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := src.Client.Del(ctx, "allowed:1", "denied:1").Err(); err != nil {
		t.Fatal(err)
	}
	r.waitOutput(t, `"command":"DEL"`, 10*time.Second)
	line := ""
	for _, l := range strings.Split(r.out.String(), "\n") {
		if strings.Contains(l, `"command":"DEL"`) {
			line = l
		}
	}
	for _, want := range []string{`"kept":["allowed:1"]`, `"filtered":["denied:1"]`, `"level":"warn"`} {
		if !strings.Contains(line, want) {
			t.Fatalf("mixed command report %s lacks %s", line, want)
		}
	}
	// Left out: allowed:1 stays on the target, denied:1 never came.
	waitCondition(t, 10*time.Second, func() (bool, string) {
		v, err := dst.Client.Get(ctx, "allowed:1").Result()
		n, _ := dst.Client.Exists(ctx, "denied:1").Result()
		return err == nil && v == "a" && n == 0, fmt.Sprintf("allowed:1=%q (%v), denied:1 exists %d", v, err, n)
	})
}

func waitCondition(t *testing.T, d time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, state)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitDataset waits until the target holds exactly what fc expects of the
// source.
func waitDataset(t *testing.T, stage string, src, dst *redistest.Server, fc filterCase, within time.Duration) {
	t.Helper()
	ctx := context.Background()
	waitCondition(t, within, func() (bool, string) {
		s, err := readDataset(ctx, src)
		if err != nil {
			return false, err.Error()
		}
		want := fc.expected(s)
		got, err := readDataset(ctx, dst)
		if err != nil {
			return false, err.Error()
		}
		if got.String() == want.String() {
			return true, ""
		}
		return false, fmt.Sprintf("%s: target holds\n%swant\n%s", stage, got, want)
	})
}

// TestFullResyncWithFilterSweeps checks that a full resync over an earlier
// filtered copy removes the copied keys the source deleted meanwhile, and
// nothing the sync does not own: keys of others on the target stay.
func TestFullResyncWithFilterSweeps(t *testing.T) {
	src := startServer(t, redistest.Options{Args: []string{"--repl-backlog-size", "16384"}})
	dst := startServer(t, redistest.Options{})
	ctx := context.Background()
	for i := range 50 {
		must(t, src.Client.Set(ctx, fmt.Sprintf("user:%d", i), i, 0).Err())
		must(t, src.Client.Set(ctx, fmt.Sprintf("other:%d", i), i, 0).Err())
	}
	must(t, dst.Client.Set(ctx, "mine:keep", "not replicant's", 0).Err())
	state := t.TempDir()
	args := []string{"sync", "--source", url(src), "--target", url(dst), "--key", "user:", "--state-dir", state, "--log-format", "json"}
	r := startReplicant(t, args...)
	r.waitOutput(t, `"streaming"`, 30*time.Second)
	waitKeys(t, dst, 51)
	if code := r.stop(t); code != 0 {
		t.Fatalf("exit status %d", code)
	}

	// While replicant is down: deletes of copied keys, and more writes than
	// the source's backlog holds, so that only a full resync can go on.
	for i := range 10 {
		must(t, src.Client.Del(ctx, fmt.Sprintf("user:%d", i)).Err())
	}
	must(t, src.Client.Set(ctx, "user:new", "x", 0).Err())
	for i := range 40 {
		must(t, src.Client.Set(ctx, fmt.Sprintf("other:big:%d", i), strings.Repeat("x", 1024), 0).Err())
	}
	r2 := startReplicant(t, args...)
	r2.waitOutput(t, "removed the keys this sync copies", 30*time.Second)
	r2.waitOutput(t, `"streaming"`, 30*time.Second)
	waitCondition(t, 10*time.Second, func() (bool, string) {
		keys, err := dst.Client.Keys(ctx, "*").Result()
		if err != nil {
			return false, err.Error()
		}
		slices.Sort(keys)
		want := []string{"mine:keep", "replicant:checkpoint", "replicant:checkpoint:lease", "user:new"}
		for i := 10; i < 50; i++ {
			want = append(want, fmt.Sprintf("user:%d", i))
		}
		slices.Sort(want)
		return slices.Equal(keys, want), fmt.Sprintf("target holds %v\nwant %v", keys, want)
	})
	if code := r2.stop(t); code != 0 {
		t.Fatalf("exit status %d", code)
	}
}

func waitKeys(t *testing.T, s *redistest.Server, n int64) {
	t.Helper()
	waitCondition(t, 10*time.Second, func() (bool, string) {
		got, err := s.Client.DBSize(context.Background()).Result()
		return err == nil && got >= n, fmt.Sprintf("%d keys (%v), want %d", got, err, n)
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// verifyFiltered runs "replicant verify" with the sync's filters: equal
// unless the case left a difference (a mixed command not applied).
func verifyFiltered(t *testing.T, src, dst *redistest.Server, fc filterCase) {
	t.Helper()
	if fc.prefix != nil || slices.Contains(fc.args, "--skip-command") {
		return // verify compares no prefixes; a skipped command leaves differences
	}
	args := append([]string{"verify", "--source", url(src), "--target", url(dst), "--rounds", "1"}, fc.args...)
	v := startReplicant(t, args...)
	code := v.wait(t, 30*time.Second)
	want := 0
	if fc.overrides != nil {
		want = 1
	}
	if code != want {
		t.Fatalf("replicant verify %v: exit status %d, want %d:\n%s", fc.args, code, want, v.out.String())
	}
	if fc.keep(0, "tmp:1") && fc.keep(1, "tmp:1") && fc.mapDB == nil {
		return
	}
	// Without the filters the datasets differ.
	v = startReplicant(t, "verify", "--source", url(src), "--target", url(dst), "--rounds", "1")
	if code := v.wait(t, 30*time.Second); code != 1 {
		t.Fatalf("replicant verify without the filters: exit status %d, want 1:\n%s", code, v.out.String())
	}
}
