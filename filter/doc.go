// Package filter decides which keys and commands of a source reach the
// target, and which target database each source database goes to. It is
// pure: no network, no logging. cmd/replicant builds one Filter from the
// flags of "replicant sync" (--db, --skip-db, --key, --skip-key,
// --skip-command, --db-map) and asks it about every snapshot key
// (KeepKey, MapDB) and every command of the live stream (Command), so
// that both obey the same rules. DBList, Names, Patterns and DBMap are
// the text forms of Config's fields (each a repeatable flag.Value), and
// IsCommand checks the names of DenyCommands.
//
// # Rules
//
// A database is kept when AllowDBs is empty or holds it, and DenyDBs does
// not. A key is kept when its database is kept, AllowKeys is empty or one
// of its patterns matches, and no pattern of DenyKeys matches. A pattern
// is "prefix:TEXT", "glob:TEXT" (Redis's own KEYS/SCAN MATCH syntax: *, ?,
// [abc], [^a-z], \ escapes), "regex:TEXT" (Go's regexp syntax, matched
// anywhere in the key unless anchored), or a bare TEXT, which is a prefix.
//
// A command of the stream is, in this order:
//
//   - dropped when its name is in DenyCommands;
//   - dropped when the stream's current database is not kept, unless the
//     command is not scoped to a database (FUNCTION, SCRIPT, PUBLISH ...);
//   - kept when none of its keys is filtered out, dropped when all of them
//     are, and Mixed when some are and some are not. A Mixed command is
//     not applied: applying it whole would write keys the operator left
//     out, and applying a part would be a different command (MSET's
//     atomicity, RENAME's move). The caller must report it (replicant logs
//     a warning naming the command and both sets of keys, and counts it),
//     because the target no longer matches the source for those keys.
//
// Commands that name databases: SELECT is the caller's (it tracks the
// source db and sends MapDB of it); MOVE and COPY ... DB n are kept, with
// their db argument mapped, when both databases are kept, and Mixed when
// only one is (the key would enter or leave the copied set); SWAPDB the
// same; FLUSHDB runs in the mapped db; FLUSHALL is kept only when no db or
// key filter is set (it would empty data the target holds outside the
// copied set) and is Mixed otherwise.
//
// # Key positions
//
// The keys of a command come from a KeySpecs table, built by the caller
// from the source's COMMAND reply (the classic first key, last key and
// step of each command: FromCommandInfo), or Builtin when the source
// refuses COMMAND. The classic triple describes every command whose keys
// sit at fixed positions. For the few with movable keys that can appear in
// a replication stream, small specific code reads the key count: EVAL,
// EVALSHA, EVAL_RO, EVALSHA_RO, FCALL, FCALL_RO (numkeys at argument 2),
// ZUNIONSTORE, ZINTERSTORE, ZDIFFSTORE (destination, then numkeys),
// LMPOP, ZMPOP, BLMPOP, BZMPOP (numkeys; Redis propagates them as plain
// pops, but older sources or scripts may not), SORT ... STORE dest,
// GEORADIUS[BYMEMBER] ... STORE|STOREDIST dest, and the container XGROUP
// (key at argument 2). XREAD, XREADGROUP and MIGRATE are never propagated
// as such. Any other command with movable keys is judged by its classic
// key range only.
package filter
