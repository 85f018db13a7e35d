package filter

import (
	"flag"
	"io"
	"reflect"
	"testing"
)

// TestTextForms: each text form reads repeated values, adding to what came
// before, and writes back what it read.
func TestTextForms(t *testing.T) {
	var (
		dbs   DBList
		names Names
		keys  Patterns
		m     DBMap
	)
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.Var(&dbs, "db", "")
	fs.Var(&names, "cmd", "")
	fs.Var(&keys, "key", "")
	fs.Var(&m, "map", "")
	err := fs.Parse([]string{"--db", "0, 2", "--db", "3", "--cmd", "flushdb,PUBLISH", "--cmd", "del",
		"--key", "regex:^a{1,2}$", "--key", "user:", "--map", "2=5,3=0:x:", "--map", "0=1", "--map", "2=5"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(dbs, DBList{0, 2, 3}) || dbs.String() != "0,2,3" {
		t.Errorf("DBList: %v", dbs)
	}
	if !reflect.DeepEqual(names, Names{"flushdb", "PUBLISH", "del"}) || names.String() != "flushdb,PUBLISH,del" {
		t.Errorf("Names: %v", names)
	}
	if len(keys) != 2 || keys[0].Kind != Regex || !keys[0].Match([]byte("aa")) || keys.String() != "regex:^a{1,2}$ prefix:user:" {
		t.Errorf("Patterns: %v", keys.String())
	}
	if !reflect.DeepEqual(m.To, map[int]int{0: 1, 2: 5, 3: 0}) || !reflect.DeepEqual(m.Prefix, map[int]string{3: "x:"}) || m.String() != "0=1,2=5,3=0:x:" {
		t.Errorf("DBMap: %+v", m)
	}
	var zero DBMap
	if zero.String() != "" || (*DBList)(nil).String() != "" {
		t.Error("zero values are not empty")
	}
}

func TestTextFormsRefused(t *testing.T) {
	for _, tc := range []struct {
		v    flag.Value
		args []string
	}{
		{new(DBList), []string{"x"}}, {new(DBList), []string{"-1"}}, {new(DBList), []string{"1,"}},
		{new(Names), []string{""}}, {new(Names), []string{"a,,b"}},
		{new(Patterns), []string{"regex:("}},
		{new(DBMap), []string{"1"}}, {new(DBMap), []string{"1=a"}}, {new(DBMap), []string{"-1=0"}},
		{new(DBMap), []string{"1=2,1=3"}}, {new(DBMap), []string{"1=2", "1=2:p:"}},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		fs.Var(tc.v, "f", "")
		var err error
		for _, a := range tc.args {
			if err = fs.Set("f", a); err != nil {
				break
			}
		}
		if err == nil {
			t.Errorf("%T %q accepted", tc.v, tc.args)
		}
	}
}

func TestIsCommand(t *testing.T) {
	for name, want := range map[string]bool{"flushall": true, "FLUSHDB": true, "Publish": true, "JSON.SET": true,
		"flushal": false, "": false, "hsetex": true} {
		if got := IsCommand(name); got != want {
			t.Errorf("IsCommand(%q) = %v", name, got)
		}
	}
}
