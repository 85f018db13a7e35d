package filter

import (
	"strings"
	"testing"
)

func pats(ss ...string) []Pattern {
	var ps []Pattern
	for _, s := range ss {
		ps = append(ps, MustPattern(s))
	}
	return ps
}

func cmd(s string) [][]byte {
	var args [][]byte
	for _, f := range strings.Fields(s) {
		args = append(args, []byte(f))
	}
	return args
}

func keys(bs [][]byte) string {
	var ss []string
	for _, b := range bs {
		ss = append(ss, string(b))
	}
	return strings.Join(ss, " ")
}

func mustNew(t *testing.T, cfg Config) *Filter {
	t.Helper()
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestParsePattern(t *testing.T) {
	for _, tc := range []struct {
		in   string
		kind PatternKind
		text string
	}{
		{"user:", Prefix, "user:"},
		{"prefix:user:", Prefix, "user:"},
		{"glob:user:*", Glob, "user:*"},
		{"regex:^user:[0-9]+$", Regex, "^user:[0-9]+$"},
		{"other:x", Prefix, "other:x"},
		{"", Prefix, ""},
	} {
		p, err := ParsePattern(tc.in)
		if err != nil || p.Kind != tc.kind || p.Text != tc.text {
			t.Errorf("ParsePattern(%q) = %v %q %v", tc.in, p.Kind, p.Text, err)
		}
	}
	if _, err := ParsePattern("regex:("); err == nil {
		t.Error("a bad regex parsed")
	}
}

func TestPatternMatch(t *testing.T) {
	for _, tc := range []struct {
		pat, key string
		want     bool
	}{
		{"prefix:user:", "user:1", true},
		{"prefix:user:", "users", false},
		{"user:", "user:", true},
		{"prefix:", "anything", true},
		{"glob:user:*", "user:1", true},
		{"glob:user:*", "user:", true},
		{"glob:user:*", "xuser:1", false},
		{"glob:*:cache", "a:b:cache", true},
		{"glob:*:cache", "a:b:cachex", false},
		{"glob:h?llo", "hello", true},
		{"glob:h?llo", "hllo", false},
		{"glob:h[ae]llo", "hallo", true},
		{"glob:h[ae]llo", "hillo", false},
		{"glob:h[^e]llo", "hallo", true},
		{"glob:h[^e]llo", "hello", false},
		{"glob:h[a-c]llo", "hbllo", true},
		{"glob:h[a-c]llo", "hdllo", false},
		{`glob:h\*llo`, "h*llo", true},
		{`glob:h\*llo`, "hello", false},
		{"glob:*a*b*c", "xxaxxbxxc", true},
		{"glob:*a*b*c", "xxaxxbxx", false},
		{"glob:a**", "abc", true},
		{"glob:", "", true},
		{"glob:", "a", false},
		{"regex:^user:[0-9]+$", "user:42", true},
		{"regex:^user:[0-9]+$", "user:4x", false},
		{"regex:cache", "a:cache:b", true},
	} {
		if got := MustPattern(tc.pat).Match([]byte(tc.key)); got != tc.want {
			t.Errorf("%s matching %q = %v, want %v", tc.pat, tc.key, got, tc.want)
		}
	}
}

func TestKeepKeyAndDB(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		db   int
		key  string
		want bool
	}{
		{"none", Config{}, 3, "k", true},
		{"allow db in", Config{AllowDBs: []int{0, 2}}, 2, "k", true},
		{"allow db out", Config{AllowDBs: []int{0, 2}}, 1, "k", false},
		{"deny db", Config{DenyDBs: []int{1}}, 1, "k", false},
		{"deny db other", Config{DenyDBs: []int{1}}, 0, "k", true},
		{"allow and deny db", Config{AllowDBs: []int{1, 2}, DenyDBs: []int{2}}, 2, "k", false},
		{"allow prefix", Config{AllowKeys: pats("user:")}, 0, "user:1", true},
		{"allow prefix out", Config{AllowKeys: pats("user:")}, 0, "order:1", false},
		{"deny glob", Config{DenyKeys: pats("glob:*:tmp")}, 0, "a:tmp", false},
		{"deny glob other", Config{DenyKeys: pats("glob:*:tmp")}, 0, "a:tmpx", true},
		{"allow regex", Config{AllowKeys: pats("regex:^u[0-9]$")}, 0, "u7", true},
		{"allow, deny wins", Config{AllowKeys: pats("user:"), DenyKeys: pats("user:secret")}, 0, "user:secret:1", false},
		{"two allows", Config{AllowKeys: pats("a:", "b:")}, 0, "b:1", true},
		{"key in denied db", Config{AllowKeys: pats("user:"), DenyDBs: []int{0}}, 0, "user:1", false},
	} {
		f := mustNew(t, tc.cfg)
		if got := f.KeepKey(tc.db, []byte(tc.key)); got != tc.want {
			t.Errorf("%s: KeepKey(%d, %q) = %v, want %v", tc.name, tc.db, tc.key, got, tc.want)
		}
	}
}

func TestNewRefuses(t *testing.T) {
	for _, cfg := range []Config{
		{AllowDBs: []int{-1}},
		{DenyDBs: []int{-2}},
		{DBMap: map[int]int{1: -1}},
		{DenyCommands: []string{"select"}},
		{DenyCommands: []string{"EXEC"}},
		{DenyCommands: []string{" "}},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}

func TestMapDB(t *testing.T) {
	f := mustNew(t, Config{DBMap: map[int]int{1: 0, 2: 5}})
	for from, to := range map[int]int{0: 0, 1: 0, 2: 5, 3: 3} {
		if got := f.MapDB(from); got != to {
			t.Errorf("MapDB(%d) = %d, want %d", from, got, to)
		}
	}
	if !f.Active() {
		t.Error("a db map is not Active")
	}
	if mustNew(t, Config{}).Active() {
		t.Error("the zero Config is Active")
	}
}

func TestCommand(t *testing.T) {
	userOnly := Config{AllowKeys: pats("user:")}
	for _, tc := range []struct {
		name    string
		cfg     Config
		db      int
		cmd     string
		action  Action
		reason  string
		args    string // for Keep; "" means unchanged
		kept    string
		dropped string
	}{
		{"no filter", Config{}, 0, "SET a 1", Keep, "", "", "", ""},
		{"denied command", Config{DenyCommands: []string{"flushdb"}}, 0, "FLUSHDB", Drop, ReasonCommand, "", "", ""},
		{"denied command any case", Config{DenyCommands: []string{"FlushDB"}}, 0, "flushdb", Drop, ReasonCommand, "", "", ""},
		{"other command", Config{DenyCommands: []string{"flushdb"}}, 0, "SET a 1", Keep, "", "", "", ""},
		{"db filtered", Config{AllowDBs: []int{0}}, 1, "SET a 1", Drop, ReasonDB, "", "", ""},
		{"db denied", Config{DenyDBs: []int{1}}, 1, "DEL a", Drop, ReasonDB, "", "", ""},
		{"db kept", Config{DenyDBs: []int{1}}, 2, "DEL a", Keep, "", "", "", ""},
		{"global command in a filtered db", Config{AllowDBs: []int{0}}, 1, "FUNCTION FLUSH", Keep, "", "", "", ""},
		{"key kept", userOnly, 0, "SET user:1 v", Keep, "", "", "", ""},
		{"key dropped", userOnly, 0, "SET order:1 v", Drop, ReasonKey, "", "", "order:1"},
		{"del both kept", userOnly, 0, "DEL user:1 user:2", Keep, "", "", "", ""},
		{"del all dropped", userOnly, 0, "DEL a b", Drop, ReasonKey, "", "", "a b"},
		{"del mixed", userOnly, 0, "DEL user:1 denied:1", Mixed, ReasonKey, "", "user:1", "denied:1"},
		{"unlink mixed", userOnly, 0, "UNLINK x user:1", Mixed, ReasonKey, "", "user:1", "x"},
		{"mset kept", userOnly, 0, "MSET user:1 a user:2 b", Keep, "", "", "", ""},
		{"mset values are no keys", userOnly, 0, "MSET user:1 x user:2 y", Keep, "", "", "", ""},
		{"mset mixed", userOnly, 0, "MSET user:1 user:x other user:y", Mixed, ReasonKey, "", "user:1", "other"},
		{"rename kept", userOnly, 0, "RENAME user:1 user:2", Keep, "", "", "", ""},
		{"rename out", userOnly, 0, "RENAME user:1 gone", Mixed, ReasonKey, "", "user:1", "gone"},
		{"rename in", userOnly, 0, "RENAME other user:1", Mixed, ReasonKey, "", "user:1", "other"},
		{"eval numkeys", userOnly, 0, "EVAL script 2 user:1 user:2 argx", Keep, "", "", "", ""},
		{"eval args are no keys", userOnly, 0, "EVAL script 1 user:1 notakey", Keep, "", "", "", ""},
		{"eval mixed", userOnly, 0, "EVALSHA abc 2 user:1 other arg", Mixed, ReasonKey, "", "user:1", "other"},
		{"eval no keys", userOnly, 0, "EVAL script 0 x", Keep, "", "", "", ""},
		{"fcall dropped", userOnly, 0, "FCALL f 1 other", Drop, ReasonKey, "", "", "other"},
		{"zunionstore kept", userOnly, 0, "ZUNIONSTORE user:d 2 user:a user:b WEIGHTS 1 2", Keep, "", "", "", ""},
		{"zunionstore mixed", userOnly, 0, "ZUNIONSTORE user:d 2 user:a other WEIGHTS 1 2", Mixed, ReasonKey, "", "user:d user:a", "other"},
		{"zinterstore dest out", userOnly, 0, "ZINTERSTORE other 1 user:a", Mixed, ReasonKey, "", "user:a", "other"},
		{"sort store", userOnly, 0, "SORT user:l BY nosort STORE other", Mixed, ReasonKey, "", "user:l", "other"},
		{"lmpop", userOnly, 0, "LMPOP 2 other user:1 LEFT", Mixed, ReasonKey, "", "user:1", "other"},
		{"xgroup", userOnly, 0, "XGROUP CREATE other g $", Drop, ReasonKey, "", "", "other"},
		{"bitop", userOnly, 0, "BITOP AND user:d user:a other", Mixed, ReasonKey, "", "user:d user:a", "other"},
		{"unknown command kept", userOnly, 0, "MODULE.CMD x y", Keep, "", "", "", ""},
		{"flushall with no filter", Config{DBMap: map[int]int{1: 0}}, 0, "FLUSHALL", Keep, "", "", "", ""},
		{"flushall with a db filter", Config{AllowDBs: []int{0}}, 0, "FLUSHALL", Mixed, ReasonDB, "", "", ""},
		{"flushall with a key filter", userOnly, 0, "FLUSHALL ASYNC", Mixed, ReasonDB, "", "", ""},
		{"flushdb in a kept db", userOnly, 0, "FLUSHDB", Keep, "", "", "", ""},
		{"flushdb in a filtered db", Config{DenyDBs: []int{3}}, 3, "FLUSHDB", Drop, ReasonDB, "", "", ""},
		{"swapdb mapped", Config{DBMap: map[int]int{1: 0, 0: 1}}, 0, "SWAPDB 0 1", Keep, "", "SWAPDB 1 0", "", ""},
		{"swapdb mixed", Config{AllowDBs: []int{0}}, 0, "SWAPDB 0 1", Mixed, ReasonDB, "", "0", "1"},
		{"swapdb dropped", Config{AllowDBs: []int{0}}, 0, "SWAPDB 2 1", Drop, ReasonDB, "", "", "2 1"},
		{"move mapped", Config{DBMap: map[int]int{2: 5}}, 0, "MOVE k 2", Keep, "", "MOVE k 5", "", ""},
		{"move out of the kept dbs", Config{AllowDBs: []int{0}}, 0, "MOVE k 2", Mixed, ReasonDB, "", "k", "k"},
		{"move into the kept dbs", Config{AllowDBs: []int{0}}, 2, "MOVE k 0", Mixed, ReasonDB, "", "k", "k"},
		{"move between filtered dbs", Config{AllowDBs: []int{0}}, 2, "MOVE k 3", Drop, ReasonDB, "", "", "k k"},
		{"move filtered key", userOnly, 0, "MOVE other 1", Drop, ReasonKey, "", "", "other other"},
		{"copy db mapped", Config{DBMap: map[int]int{3: 4}}, 0, "COPY a b DB 3 REPLACE", Keep, "", "COPY a b DB 4 REPLACE", "", ""},
		{"copy same db", userOnly, 0, "COPY user:1 other", Mixed, ReasonKey, "", "user:1", "other"},
		{"copy out of the kept dbs", Config{DenyDBs: []int{3}}, 0, "COPY a b DB 3", Mixed, ReasonDB, "", "a", "b"},
		{"select", Config{AllowDBs: []int{0}}, 1, "SELECT 1", Keep, "", "", "", ""},
	} {
		f := mustNew(t, tc.cfg)
		args := cmd(tc.cmd)
		d := f.Command(tc.db, args)
		if d.Action != tc.action || d.Reason != tc.reason {
			t.Errorf("%s: %s in db %d: %v %q, want %v %q", tc.name, tc.cmd, tc.db, d.Action, d.Reason, tc.action, tc.reason)
			continue
		}
		if d.Action == Keep {
			want := tc.args
			if want == "" {
				want = tc.cmd
			}
			if got := keys(d.Args); got != want {
				t.Errorf("%s: sends %q, want %q", tc.name, got, want)
			}
		}
		if got := keys(d.Kept); got != tc.kept {
			t.Errorf("%s: kept %q, want %q", tc.name, got, tc.kept)
		}
		if got := keys(d.Dropped); got != tc.dropped {
			t.Errorf("%s: dropped %q, want %q", tc.name, got, tc.dropped)
		}
	}
}

func TestMapArgsDoesNotTouchInput(t *testing.T) {
	f := mustNew(t, Config{DBMap: map[int]int{2: 5}})
	args := cmd("MOVE k 2")
	d := f.Command(0, args)
	if string(args[2]) != "2" || string(d.Args[2]) != "5" {
		t.Fatalf("args %q, sent %q", keys(args), keys(d.Args))
	}
}

func TestKeySpecsFromCommandInfo(t *testing.T) {
	ks := FromCommandInfo([]CommandInfo{
		{Name: "mset", FirstKeyPos: 1, LastKeyPos: -1, StepCount: 2},
		{Name: "DEL", FirstKeyPos: 1, LastKeyPos: -1, StepCount: 1},
		{Name: "rename", FirstKeyPos: 1, LastKeyPos: 2, StepCount: 1},
		{Name: "eval", Flags: []string{"noscript", "movablekeys"}},
		{Name: "zunionstore", FirstKeyPos: 1, LastKeyPos: 1, StepCount: 1, Flags: []string{"movablekeys"}},
		{Name: "ping"},
	})
	if !ks["eval"].Movable || ks["del"].Movable {
		t.Errorf("movable flags: %+v", ks)
	}
	for _, tc := range []struct {
		cmd, keys string
		known     bool
	}{
		{"MSET a 1 b 2", "a b", true},
		{"DEL a b c", "a b c", true},
		{"RENAME a b", "a b", true},
		{"EVAL s 2 a b c", "a b", true},
		{"EVAL s 5 a", "a", true},
		{"EVAL s x a", "", true},
		{"ZUNIONSTORE d 2 a b AGGREGATE MIN", "d a b", true},
		{"PING", "", true},
		{"UNKNOWN a", "", false},
		{"DEL", "", true},
	} {
		got, known := ks.Keys(cmd(tc.cmd))
		if keys(got) != tc.keys || known != tc.known {
			t.Errorf("Keys(%s) = %q %v, want %q %v", tc.cmd, keys(got), known, tc.keys, tc.known)
		}
	}
}

func TestBuiltinKeySpecs(t *testing.T) {
	ks := Builtin()
	for _, tc := range []struct{ cmd, keys string }{
		{"SET a 1 PX 10", "a"},
		{"DEL a b", "a b"},
		{"MSET a 1 b 2", "a b"},
		{"RENAME a b", "a b"},
		{"LMOVE a b LEFT RIGHT", "a b"},
		{"BITOP OR d a b", "d a b"},
		{"PEXPIREAT a 123", "a"},
		{"SORT a LIMIT 0 1 store d", "a d"},
		{"GEORADIUS g 1 2 3 km STOREDIST d", "g d"},
	} {
		if got, known := ks.Keys(cmd(tc.cmd)); !known || keys(got) != tc.keys {
			t.Errorf("Builtin Keys(%s) = %q %v, want %q", tc.cmd, keys(got), known, tc.keys)
		}
	}
}

func TestSetKeySpecs(t *testing.T) {
	f := mustNew(t, Config{AllowKeys: pats("user:")})
	args := cmd("MYDEL other")
	if d := f.Command(0, args); d.Action != Keep {
		t.Fatalf("an unknown command: %v", d.Action)
	}
	f.SetKeySpecs(KeySpecs{"mydel": {First: 1, Last: -1, Step: 1}})
	if d := f.Command(0, args); d.Action != Drop {
		t.Fatalf("a command of the new specs: %v", d.Action)
	}
}

func TestKeyPrefix(t *testing.T) {
	f := mustNew(t, Config{DBMap: map[int]int{1: 0, 2: 0}, KeyPrefix: map[int]string{1: "one:", 2: "two:"}})
	if got := string(f.TargetKey(1, []byte("k"))); got != "one:k" {
		t.Errorf("TargetKey(1, k) = %q", got)
	}
	if got := string(f.TargetKey(0, []byte("k"))); got != "k" {
		t.Errorf("TargetKey(0, k) = %q", got)
	}
	cases := []struct {
		db     int
		cmd    string
		action Action
		want   string
	}{
		{1, "SET k v", Keep, "SET one:k v"},
		{2, "MSET a 1 b 2", Keep, "MSET two:a 1 two:b 2"},
		{1, "EVAL script 2 a b x", Keep, "EVAL script 2 one:a one:b x"},
		{1, "ZUNIONSTORE d 2 a b WEIGHTS 1 2", Keep, "ZUNIONSTORE one:d 2 one:a one:b WEIGHTS 1 2"},
		{0, "SET k v", Keep, "SET k v"},
		{1, "COPY a b REPLACE", Keep, "COPY one:a one:b REPLACE"},
		{1, "COPY a b DB 2", Mixed, ""},
		{1, "MOVE k 2", Mixed, ""},
		{0, "SWAPDB 0 1", Mixed, ""},
		{1, "FLUSHDB", Mixed, ""},
		{0, "FLUSHDB", Keep, "FLUSHDB"},
		{1, "PUBLISH ch m", Keep, "PUBLISH ch m"},
	}
	for _, c := range cases {
		d := f.Command(c.db, cmd(c.cmd))
		if d.Action != c.action {
			t.Errorf("db %d %q: %v, want %v", c.db, c.cmd, d.Action, c.action)
			continue
		}
		if c.action == Keep && keys(d.Args) != c.want {
			t.Errorf("db %d %q: sent %q, want %q", c.db, c.cmd, keys(d.Args), c.want)
		}
	}
}

// TestHandBuiltBadRegexMatchesNothing: a Pattern built by hand with an
// expression that does not compile matches nothing instead of panicking
// (ParsePattern returns the error for one from the command line).
func TestHandBuiltBadRegexMatchesNothing(t *testing.T) {
	p := Pattern{Kind: Regex, Text: "user:("}
	if p.Match([]byte("user:1")) {
		t.Fatal("a bad expression matched")
	}
	if _, err := ParsePattern("regex:user:("); err == nil {
		t.Fatal("ParsePattern took a bad expression")
	}
	if !(Pattern{Kind: Regex, Text: "^user:[0-9]+$"}).Match([]byte("user:12")) {
		t.Fatal("a good hand-built expression did not match")
	}
}
