package verify

import (
	"reflect"
	"testing"

	"github.com/replicant/replicant/filter"
)

func TestExactGlob(t *testing.T) {
	for key, want := range map[string]string{
		"replicant:checkpoint": "[r]eplicant:checkpoint",
		"a*b":                  `a\*b`,
		"::":                   "::",
	} {
		if got := exactGlob(key); got != want {
			t.Errorf("%q: got %q, want %q", key, got, want)
		}
	}
}

// TestSkipSyncKeys: a sync's own keys, and those named after them, are
// left out; other keys are not.
func TestSkipSyncKeys(t *testing.T) {
	c := Config{SkipKeys: []string{"tmp:"}}
	c.SkipSyncKeys("replicant:checkpoint", "")
	if want := []string{"tmp:", "[r]eplicant:checkpoint*"}; !reflect.DeepEqual(c.SkipKeys, want) {
		t.Fatalf("SkipKeys %q, want %q", c.SkipKeys, want)
	}
	s := newSkipper(c.SkipKeys)
	for key, want := range map[string]bool{"replicant:checkpoint": true, "replicant:checkpoint:slot:7": true,
		"replicant:heartbeat": false, "tmp:1": true, "user:1": false} {
		if got := s.skip(key); got != want {
			t.Errorf("skip(%q) = %v", key, got)
		}
	}
}

func TestUseFilter(t *testing.T) {
	var c Config
	if err := c.UseFilter(filter.Config{DBMap: map[int]int{1: 0}}); err != nil || c.Keep != nil || c.DBMap[1] != 0 || len(c.DBMap) != 1 {
		t.Fatalf("a map only: %v, Keep set %v, DBMap %v", err, c.Keep != nil, c.DBMap)
	}
	c = Config{}
	err := c.UseFilter(filter.Config{AllowKeys: []filter.Pattern{filter.MustPattern("user:")}, DenyDBs: []int{2}})
	if err != nil || c.Keep == nil {
		t.Fatalf("keys: %v", err)
	}
	for _, tc := range []struct {
		db   int
		key  string
		want bool
	}{{0, "user:1", true}, {0, "order:1", false}, {2, "user:1", false}} {
		if got := c.Keep(tc.db, tc.key); got != tc.want {
			t.Errorf("Keep(%d, %q) = %v", tc.db, tc.key, got)
		}
	}
	if err := c.UseFilter(filter.Config{KeyPrefix: map[int]string{1: "db1:"}}); err == nil {
		t.Error("a key prefix accepted")
	}
}
