package main

import (
	"io"
	"testing"

	"github.com/replicant/replicant/filter"
)

func TestFilterFlags(t *testing.T) {
	var o syncOptions
	fs := syncFlags(&o)
	fs.SetOutput(io.Discard)
	err := fs.Parse([]string{"--db", "0,2", "--db", "3", "--skip-db", "2",
		"--key", "user:", "--key", "regex:^a{1,2}$", "--skip-key", "glob:user:tmp*",
		"--skip-command", "flushdb,FLUSHALL", "--skip-command", "publish", "--db-map", "2=5,3=0", "--db-map", "0=1"})
	if err != nil {
		t.Fatal(err)
	}
	f, err := filter.New(o.Filter.config())
	if err != nil || f == nil {
		t.Fatalf("filter: %v %v", f, err)
	}
	for _, tc := range []struct {
		db   int
		key  string
		want bool
	}{
		{0, "user:1", true}, {1, "user:1", false}, {2, "user:1", false}, {3, "user:1", true},
		{0, "aa", true}, {0, "a,a", false}, {0, "user:tmp1", false}, {0, "order:1", false},
	} {
		if got := f.KeepKey(tc.db, []byte(tc.key)); got != tc.want {
			t.Errorf("KeepKey(%d, %q) = %v", tc.db, tc.key, got)
		}
	}
	for from, to := range map[int]int{0: 1, 2: 5, 3: 0, 4: 4} {
		if got := f.MapDB(from); got != to {
			t.Errorf("MapDB(%d) = %d, want %d", from, got, to)
		}
	}
	for _, c := range []string{"FLUSHDB", "flushall", "PUBLISH"} {
		if d := f.Command(0, [][]byte{[]byte(c)}); d.Action != filter.Drop || d.Reason != filter.ReasonCommand {
			t.Errorf("%s: %v %s", c, d.Action, d.Reason)
		}
	}
}

func TestFilterFlagsRefused(t *testing.T) {
	for _, args := range [][]string{
		{"--db", "x"}, {"--db", "-1"}, {"--skip-db", "1,"}, {"--key", "regex:("},
		{"--db-map", "1"}, {"--db-map", "1=a"}, {"--db-map", "1=2,1=3"}, {"--skip-command", ""},
	} {
		var o syncOptions
		fs := syncFlags(&o)
		fs.SetOutput(io.Discard)
		if err := fs.Parse(args); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
	var o syncOptions
	fs := syncFlags(&o)
	fs.SetOutput(io.Discard)
	if err := fs.Parse([]string{"--skip-command", "select"}); err != nil {
		t.Fatal(err)
	}
	if _, err := filter.New(o.Filter.config()); err == nil {
		t.Error("--skip-command select accepted")
	}
}

func TestNoFilterFlags(t *testing.T) {
	var o syncOptions
	if f, err := filter.New(o.Filter.config()); err != nil || f.Active() {
		t.Fatalf("no flags: %v %v", f, err)
	}
}
