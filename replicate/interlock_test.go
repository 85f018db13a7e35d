package replicate

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/replicant/replicant/filter"
)

func TestHeldErrorAgeByTargetClock(t *testing.T) {
	v, _ := json.Marshal(leaseValue{ID: "0123456789abcdef", Host: "h1", PID: 42, TTL: 15000,
		Heartbeat: time.Now().Add(-time.Hour).UnixMilli()}) // a skewed clock: not used
	e := heldError(string(v), int64(12000))
	if e.age != 3*time.Second || e.left != 12*time.Second {
		t.Fatalf("age %v, left %v; want 3s and 12s", e.age, e.left)
	}
	msg := e.Error()
	for _, want := range []string{"target is owned by another replicant", "id 0123456789abcdef", "host h1 pid 42",
		"heartbeat 3s ago", "stop it first, or wait for the lease to expire"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("%q is not one line", msg)
	}
}

func TestHeldErrorOfForeignValue(t *testing.T) {
	e := heldError("not json", int64(-1))
	if msg := e.Error(); !strings.Contains(msg, `value "not json"`) {
		t.Fatalf("%q does not show the value", msg)
	}
}

func TestOwnerIDKept(t *testing.T) {
	dir := t.TempDir()
	a, err := loadOwnerID(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := loadOwnerID(dir)
	if err != nil || a != b || len(a) != 16 {
		t.Fatalf("ids %q then %q (%v): want one 16-digit id", a, b, err)
	}
	fi, err := os.Stat(dir + "/" + ownerIDFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("owner id file: %v, %v", fi, err)
	}
	if c, _ := loadOwnerID(t.TempDir()); c == a {
		t.Fatal("two state dirs share an id")
	}
}

func TestSameAddr(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		a, b string
		want bool
	}{
		{"127.0.0.1:6379", "127.0.0.1:6379", true},
		{"127.0.0.1:6379", "localhost:6379", true},
		{"127.0.0.1:6379", "127.0.0.1:6380", false},
		{"127.0.0.1:6379", "127.0.0.2:6379", false},
	}
	for _, c := range cases {
		if got := sameAddr(ctx, c.a, c.b); got != c.want {
			t.Errorf("sameAddr(%s, %s) = %v", c.a, c.b, got)
		}
	}
	if sameServer(ctx, serverID{"127.0.0.1:1", "x"}, serverID{"127.0.0.1:1", "y"}) {
		t.Error("two run_ids at one address: the same server")
	}
	if !sameServer(ctx, serverID{"127.0.0.1:1", "x"}, serverID{"localhost:2", "x"}) {
		t.Error("one run_id at two addresses: not the same server")
	}
}

func TestWouldOverwrite(t *testing.T) {
	src, dst := Endpoint{Addrs: []string{"127.0.0.1:1"}}, Endpoint{Addrs: []string{"127.0.0.1:2"}}
	whole, err := newReplica(Config{Source: src, Target: dst,
		CheckpointKey: "replicant:checkpoint", HeartbeatKey: "replicant:heartbeat"}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	o := Config{Source: src, Target: dst, CheckpointKey: "replicant:checkpoint"}
	p, err := filter.ParsePattern("user:")
	if err != nil {
		t.Fatal(err)
	}
	o.Filter.AllowKeys = []filter.Pattern{p}
	filtered, err := newReplica(o, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		s       *replica
		db      int
		key     string
		want    bool
		comment string
	}{
		{whole, 0, "anything", true, "the whole target is the sync's"},
		{whole, 3, "anything", true, "every database"},
		{whole, 0, "replicant:checkpoint", false, "the checkpoint"},
		{whole, 0, "replicant:checkpoint:lease", false, "the lease"},
		{whole, 0, "replicant:checkpoint:cutover", false, "the mark"},
		{whole, 0, "replicant:heartbeat", false, "the heartbeat"},
		{filtered, 0, "user:1", true, "a key it copies"},
		{filtered, 0, "other:1", false, "a key it leaves alone"},
	}
	for _, c := range cases {
		if got := c.s.interlock.wouldOverwrite(c.db, c.key); got != c.want {
			t.Errorf("%s: wouldOverwrite(%d, %q) = %v", c.comment, c.db, c.key, got)
		}
	}
}
