// Package rewrite turns one key of a snapshot into plain commands that
// rebuild it on a target that cannot RESTORE its DUMP payload: an older
// Redis that does not know the payload's RDB version or type, a target
// whose proto-max-bulk-len is smaller than the payload, or a proxy.
//
// Key decodes the payload (the value's own bytes, as DUMP wraps them) and
// emits DEL, then the value in commands bounded
// in elements and bytes (SET then APPEND, RPUSH, SADD, HSET, ZADD, XADD
// with the original ids then XSETID, XGROUP CREATE with each group's last
// delivered id, XGROUP CREATECONSUMER, the pending entries by XCLAIM …
// FORCE JUSTID), HPEXPIREAT for field TTLs, and PEXPIREAT for the key's
// expiry. What the target cannot represent is an *UnrepresentableError,
// returned before any command is emitted.
//
// Key decodes the value whole, so memory grows with the payload; Big
// rebuilds a value that rdbstream streams element by element instead
// (Entry.Big), chunk by chunk, in constant memory. Streams are decoded
// here from their listpacks, keeping each message's fields in order, and
// lists from their nodes of every encoding (hdt3213/rdb fails on a plain
// node followed by another, as 7.2 and newer write them); the other types
// with hdt3213/rdb, once the payload's checksum is checked.
//
// Expiry rewrites the expiries of the live stream (and of snapshot keys)
// as absolute times shifted later by a margin, so that a lagging target
// that expires keys by its own clock never expires one before the source's
// own DEL of it arrives.
package rewrite
