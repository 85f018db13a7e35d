package verify_test

import (
	"os"
	"runtime/debug"
	"strconv"
	"testing"
	"time"
)

// TestSpeed measures keys/s on small keys: DEBUG POPULATE on a source, a
// real replica of it as the target, one full comparison. It runs only with
// REPLICANT_VERIFY_BENCH=1 (REPLICANT_VERIFY_KEYS sets the number of keys,
// default 1000000, and REPLICANT_VERIFY_PARALLEL the workers):
//
//	REPLICANT_VERIFY_BENCH=1 go test ./verify -run Speed -v
func TestSpeed(t *testing.T) {
	if os.Getenv("REPLICANT_VERIFY_BENCH") != "1" {
		t.Skip("set REPLICANT_VERIFY_BENCH=1 to measure the speed")
	}
	keys := envInt(t, "REPLICANT_VERIFY_KEYS", 1_000_000)
	src, dst := start(t, fastSync), start(t, fastSync)
	do(t, src, 0, "DEBUG", "POPULATE", keys)
	syncReplica(t, testCtx(t, 120*time.Second), src, dst)
	defer debug.SetGCPercent(debug.SetGCPercent(400)) // as replicant verify sets it
	cfg := config(src, dst)
	cfg.Parallel = envInt(t, "REPLICANT_VERIFY_PARALLEL", 0)
	res := run(t, cfg)
	mustEqual(t, res)
	if res.Keys != int64(keys) {
		t.Fatalf("compared %d keys, want %d", res.Keys, keys)
	}
	t.Logf("%d keys compared in %v: %.0f keys/s", res.Keys, res.FirstPass.Round(time.Millisecond), res.KeysPerSecond())
	if min := 100_000.0; res.KeysPerSecond() < min {
		t.Errorf("%.0f keys/s, want at least %.0f", res.KeysPerSecond(), min)
	}
}

func envInt(t *testing.T, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return n
}
