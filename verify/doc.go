// Package verify compares a target Redis dataset with its source, key by
// key, and reports every difference. It is the engine of "replicant
// verify"; it returns errors and never exits.
//
//	res, err := verify.Run(ctx, verify.Config{
//		Source: verify.Endpoint{Options: redis.Options{Addr: "10.0.0.1:6379", Password: "pw"}},
//		Target: verify.Endpoint{Options: redis.Options{Addr: "10.0.0.2:6379"}},
//	})
//	if err != nil { ... } // could not compare: unreachable, wrong password, ...
//	for _, d := range res.Diffs {
//		fmt.Println(d) // db 0 key "user:1": value: field "name": "ann" vs "bob"
//	}
//	fmt.Println(res.Equal, res.Keys, res.Differing, res.KeysPerSecond())
//
// # What is compared
//
// For each database (default: every database non-empty on either side),
// each key's presence, type, expiry and value. Expiries (PTTL) may differ
// by Config.TTLTolerance; a key due to expire within the tolerance may be
// missing on one side, and its value is not compared. Values: strings by
// their bytes, lists element by element, sets and hashes as sets, sorted
// sets member by member in rank order with exact scores (-0 and
// infinities included), streams by their entries (XRANGE), XINFO STREAM
// length, last-generated-id, max-deleted-entry-id and entries-added, and
// for each consumer group (XINFO GROUPS) its last-delivered-id, pending
// count (not entries-read, which Redis 7.0 does not replicate), its consumers' names
// and pending counts (XINFO CONSUMERS) and its pending entries' ids,
// consumers and delivery counts (XPENDING; idle times are left out). Any
// other type (modules) is compared by its DUMP payload without the RDB
// version and CRC trailer. Then the function libraries (FUNCTION LIST
// WITHCODE: names, engines, code) when both sides run 7.0 or newer.
//
// Both sides are scanned: keys on the source are compared first, then the
// target's keys that the source lacks ("extra on target"). A key has one
// difference, the first of missing, extra, type, value and ttl that
// applies.
//
// # Rounds
//
// Under live writes a key can differ only for the moment a write takes to
// reach the target. So the first round compares everything, and each of
// up to Config.Rounds-1 further rounds, after Config.RoundDelay, rechecks
// only the keys that differed in the round before (at most
// Config.MaxRecheck of them). The Result reports the keys that still
// differ after the last round.
//
// # Sampling
//
// In Sample mode the first round compares Config.Sample keys per database
// picked with RANDOMKEY (pipelined, duplicates dropped) on the source, and
// as many on the target checked for absence on the source. A database with
// no more keys than the sample size is compared whole. RANDOMKEY favours
// no key in particular, but is not exactly uniform.
//
// # Speed and memory
//
// SCAN pages of Config.Batch keys are compared by Config.Parallel workers;
// each batch costs at most four pipelined round trips per side, both sides
// read at once: PTTL and GETRANGE (which tells strings from other types),
// TYPE of the non-strings, their first chunks (LRANGE, ZRANGE, SSCAN, HSCAN,
// XRANGE, XINFO), then the groups of the streams. A target key is looked
// up on the source with one EXISTS per page. Values larger than a chunk
// (4 KiB of a string, 128 elements of a collection) are read on by
// themselves in bounded chunks: strings by GETRANGE, lists and sorted sets
// by index ranges, sets and hashes by SSCAN/HSCAN pages of the source
// looked up on the target (SISMEMBER, HMGET) after comparing sizes,
// streams and pending entries by id ranges.
//
// # Targets
//
// Endpoint.Kind says what a side is: a Standalone server, a Cluster (keys
// scanned on every master, reads routed by key, functions compared on each
// master) or a twemproxy-like Proxy (database 0, no SCAN, INFO, FUNCTION or
// stream commands: keys only on the target are not looked for, streams are
// compared by DUMP, and functions are not compared). A Cluster or Proxy
// side holds database 0 only; Result.Notes say what could not be compared.
//
// # Twemproxy pools
//
// A target of Kind Pool is the servers of a twemproxy pool read straight
// from nutcracker's config (Endpoint.Pool, from package twemproxy), the
// proxy aside: each key is read from the server nutcracker's routing
// (hash, hash_tag, ketama or modula with weights and names) names for it,
// in the pool's redis_db, with every type compared as on a standalone
// server and functions on each server. A Proxy target given its pool reads
// through the proxy as before. Either way every server is scanned: a key on
// its own server that the source lacks is extra, and a key on a server that
// is not its own is Misplaced (Diff.Detail names both servers and says what
// the right one holds). Keys missing on their own server, and the keys
// each recheck round compares, are looked for on the other servers too. A
// key counts once, even when both the source's pass and a server's scan
// report it (up to Config.MaxRecheck such keys per round). A pool with
// distribution random, or a server on a Unix socket, is refused
// (CheckPool).
package verify
