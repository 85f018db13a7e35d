package redistest

import (
	"testing"
	"time"
)

// A real replica is the reference: after Fill and after live writes, Compare
// must find it equal to its master (whose clients need a password).
func TestReplicaCompareEqual(t *testing.T) {
	ctx := testCtx(t, 60*time.Second)
	src := start(t, Options{Password: "pw", Args: []string{"--requirepass", "pw", "--repl-diskless-sync-delay", "0"}})
	dst := start(t, Options{})

	keys, err := Fill(ctx, src, FillOptions{Seed: 1, KeysPerType: 10, BigValues: true})
	if err != nil {
		t.Fatalf("Fill: %v", err)
	}
	if got := dbsizeSum(t, src, 4); got != keys {
		t.Errorf("Fill reported %d keys, servers hold %d", keys, got)
	}
	if err := dst.ReplicaOf(ctx, src); err != nil {
		t.Fatal(err)
	}
	if err := WaitInSync(ctx, src, dst); err != nil {
		t.Fatal(err)
	}
	diffs, err := Compare(ctx, src, dst, CompareOptions{})
	noDiffs(t, diffs, err)
	sd, err1 := Digest(ctx, src)
	dd, err2 := Digest(ctx, dst)
	if err1 != nil || err2 != nil || sd != dd {
		t.Errorf("digests %q (%v) vs %q (%v)", sd, err1, dd, err2)
	}

	n, err := LiveWrites(ctx, src, LiveOptions{Seed: 2, Ops: 3000})
	if err != nil || n != 3000 {
		t.Fatalf("LiveWrites: %d ops, %v", n, err)
	}
	if err := WaitInSync(ctx, src, dst); err != nil {
		t.Fatal(err)
	}
	diffs, err = WaitEqual(testCtx(t, 10*time.Second), src, dst, CompareOptions{}, 200*time.Millisecond)
	noDiffs(t, diffs, err)
}

func dbsizeSum(t *testing.T, s *Server, dbs int) int {
	t.Helper()
	sum := 0
	for db := range dbs {
		n, err := s.ClientDB(db).DBSize(t.Context()).Result()
		if err != nil {
			t.Fatalf("DBSIZE: %v", err)
		}
		sum += int(n)
	}
	return sum
}
