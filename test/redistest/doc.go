// Package redistest runs real redis-server processes and judges replication
// by comparing whole datasets. Integration tests and the demo use it; it
// never imports testing, so every helper returns an error instead of failing
// a test.
//
// Start a source and a target, fill the source, run the tool or a real
// replica, then compare:
//
//	src, err := redistest.Start(ctx, redistest.Options{
//		Password: "pw", Args: []string{"--requirepass", "pw"},
//	})
//	if err != nil { ... } // e.g. ErrNoBinary when redis-server is not installed
//	defer src.Stop()
//	dst, err := redistest.Start(ctx, redistest.Options{})
//	defer dst.Stop()
//
//	n, err := redistest.Fill(ctx, src, redistest.FillOptions{Seed: 1})
//	// ... connect the replicator from src to dst ...
//	go redistest.LiveWrites(ctx, src, redistest.LiveOptions{Seed: 2, Ops: 5000})
//	diffs, err := redistest.WaitEqual(ctx, src, dst, redistest.CompareOptions{}, 200*time.Millisecond)
//	for _, d := range diffs {
//		log.Print(d) // db 0 key "x:full": value differs: group "g1" last-delivered-id: 1021-2 vs 1000-1
//	}
//
// Start picks a free loopback port, runs redis-server in a fresh temporary
// directory with no persistence (--save "" and --appendonly no), logging to
// Dir/redis.log, and with DEBUG enabled on 7.0+ (for Digest). Stop ends it
// (SIGTERM, then SIGKILL) and removes the directory; Kill only ends it, for
// fault tests. On Linux a server dies with the process that started it.
//
// Fill writes a deterministic dataset with every type and encoding (see
// Fill) over several databases, plus a function library. LiveWrites sends a
// deterministic mix of writes of every kind, transactions, scripts, expiries
// and stream group traffic. Compare reads both servers key by key — type,
// value, TTL within a tolerance, stream metadata, groups, consumers and
// pending entries, and function libraries — and reports each difference as
// a Diff; WaitEqual polls it while a live stream converges. Digest is DEBUG
// DIGEST, a quick whole-dataset check when both sides should be identical
// down to expiry times. ReplicaOf and WaitInSync set up a native replica,
// the reference that a replicator must match.
//
// Compare's leniencies, each from real replica behaviour: a key due to
// expire within TTLTolerance may be missing on one side and its value is
// not compared, and a stream group's entries-read is not compared (Redis
// 7.0's replication stream does not carry it).
package redistest
