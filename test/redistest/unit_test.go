package redistest

import (
	"os"
	"path/filepath"
	"testing"
)

func TestVersionAtLeast(t *testing.T) {
	for _, c := range []struct {
		v            string
		major, minor int
		want         bool
	}{
		{"7.0.15", 7, 0, true}, {"7.0.15", 7, 2, false}, {"6.2.14", 7, 0, false},
		{"10.0.0", 7, 4, true}, {"2.8.24", 5, 0, false}, {"unstable", 7, 0, true},
	} {
		if got := versionAtLeast(c.v, c.major, c.minor); got != c.want {
			t.Errorf("versionAtLeast(%q, %d, %d) = %v", c.v, c.major, c.minor, got)
		}
	}
	if v := parseVersionLine("Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc"); v != "7.0.15" {
		t.Errorf("parseVersionLine: %q", v)
	}
}

func TestValueDiff(t *testing.T) {
	for _, c := range []struct {
		name string
		s, d value
		want string
	}{
		{"equal", listValue([]string{"a", "b"}), listValue([]string{"a", "b"}), ""},
		{"string", value{{val: "a"}}, value{{val: "b"}}, `"a" vs "b"`},
		{"shorter", listValue([]string{"a", "b"}), listValue([]string{"a"}), "index 1 missing on target"},
		{"longer", setValue([]string{"a"}), setValue([]string{"b", "a"}), `member "b" extra on target`},
		{"set order ignored", setValue([]string{"b", "a"}), setValue([]string{"a", "b"}), ""},
		{"hash", hashValue(map[string]string{"f": "1"}), hashValue(map[string]string{"f": "2"}), `field "f": "1" vs "2"`},
		{"unknown matches", value{{name: "n", val: "3", unknownOK: true}}, value{{name: "n", val: "nil", unknownOK: true}}, ""},
		{"known differs", value{{name: "n", val: "3", unknownOK: true}}, value{{name: "n", val: "4", unknownOK: true}}, `n: "3" vs "4"`},
	} {
		if got := valueDiff(c.s, c.d); got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}

func TestTailLines(t *testing.T) {
	p := filepath.Join(t.TempDir(), "log")
	if err := os.WriteFile(p, []byte("1\n2\n3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := tailLines(p, 2); got != "2\n3\n" {
		t.Errorf("got %q", got)
	}
	if got := tailLines(p+".missing", 2); got != "" {
		t.Errorf("missing file: %q", got)
	}
}

func TestDiffString(t *testing.T) {
	if got := (Diff{DB: 2, Key: "k\x00", What: "missing on target"}).String(); got != `db 2 key "k\x00": missing on target` {
		t.Errorf("got %q", got)
	}
	if got := (Diff{DB: -1, What: "functions differ: x"}).String(); got != "functions differ: x" {
		t.Errorf("got %q", got)
	}
}
