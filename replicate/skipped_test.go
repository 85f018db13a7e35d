package replicate

import (
	"strconv"
	"testing"

	"github.com/rs/zerolog"
)

func argv(words ...string) [][]byte {
	out := make([][]byte, len(words))
	for i, w := range words {
		out[i] = []byte(w)
	}
	return out
}

// TestSkippedKeysHoldBack: writes to a skipped key are held back, in its
// db only, until a DEL or SET replaces it; reset forgets every key.
func TestSkippedKeysHoldBack(t *testing.T) {
	var k skippedKeys
	keysOf := func(args [][]byte) ([][]byte, bool) { return args[1:2], len(args) > 1 }
	log := zerolog.Nop()
	if k.holdBack(0, argv("HSET", "h", "f", "v"), keysOf, log) {
		t.Fatal("held back with no key skipped")
	}
	k.add(0, "h", log)
	for _, c := range []struct {
		db   int
		args [][]byte
		held bool
	}{
		{0, argv("HSET", "h", "f", "v"), true},
		{1, argv("HSET", "h", "f", "v"), false},
		{0, argv("HSET", "other", "f", "v"), false},
		{0, argv("HDEL", "h", "f"), true},
		{0, argv("del", "h"), false},
		{0, argv("HSET", "h", "f", "v"), false}, // replaced: no longer held
	} {
		if got := k.holdBack(c.db, c.args, keysOf, log); got != c.held {
			t.Fatalf("db %d %q: held %v, want %v", c.db, c.args, got, c.held)
		}
	}
	if k.held.Load() != 2 {
		t.Fatalf("%d held back, want 2", k.held.Load())
	}
	k.add(0, "x", log)
	k.reset()
	if k.holdBack(0, argv("SET", "x", "1"), keysOf, log) || k.n.Load() != 0 {
		t.Fatal("reset kept keys")
	}
}

// TestSkippedKeysBound: past maxSkippedKeys, keys are not noted.
func TestSkippedKeysBound(t *testing.T) {
	var k skippedKeys
	for i := range maxSkippedKeys + 10 {
		k.add(0, strconv.Itoa(i), zerolog.Nop())
	}
	if n := k.n.Load(); n != maxSkippedKeys {
		t.Fatalf("%d keys noted", n)
	}
}
