// Package rdbstream decodes an RDB snapshot, as a Redis (or Valkey) master
// streams it to a replica, into one entry per key, each carrying a
// DUMP/RESTORE payload built from the value's own bytes.
//
// # What it does
//
// A Decoder reads the RDB from an io.Reader, front to back, once. For each
// key it walks the value's structure only far enough to know where the
// value ends, and captures its bytes unchanged: nothing is decompressed,
// decoded or re-encoded. The payload is then
//
//	type byte | value bytes as in the RDB | RDB version (2 bytes LE) | CRC64-Jones (8 bytes LE)
//
// which is exactly what DUMP returns on the master, so a target accepts it
// with
//
//	RESTORE key ttl payload REPLACE ABSTTL
//
// where ttl is Entry.ExpireAt (0 for none). The target must know the RDB
// version and the value type: Redis refuses a payload from a newer version.
//
// For a string key (Type 0), Entry.StringValue decodes the value itself
// (integer encodings to their text, LZF decompressed), on demand, for a
// caller that writes it with SET or MSET instead.
//
// A value too large to hold (Options.BigCount, Options.BigString: a list,
// set, hash or sorted set stored element by element with many elements, a
// long uncompressed string) comes as an Entry with Big set and no payload:
// Entry.Elements reads its elements from the stream in bounded chunks, so
// memory does not grow with the value. ListpackItems and ZiplistItems
// decode the compact lists inside values.
//
// Function libraries (Redis 7 and later) arrive as entries of KindFunction,
// whose Code is loaded with FUNCTION LOAD REPLACE. Aux fields (redis-ver,
// repl-id, repl-offset, ...) are available from Decoder.Aux, and the Lua
// scripts that Redis before 7.0 sends to replicas from Decoder.Scripts.
//
// Keys whose expiry has passed (by Options.Now) are skipped and counted in
// Decoder.Expired: a master writes them until it gets round to deleting
// them.
//
// # Usage
//
//	d := rdbstream.NewDecoder(payload, rdbstream.Options{})
//	for {
//		e, err := d.Next()
//		if err == io.EOF {
//			break // the whole RDB was read and its checksum matched
//		}
//		if err != nil {
//			return err // *rdbstream.CorruptError for bad input
//		}
//		switch e.Kind {
//		case rdbstream.KindKey:
//			// RESTORE e.Key e.ExpireAt e.Payload REPLACE ABSTTL in db e.DB
//		case rdbstream.KindFunction:
//			// FUNCTION LOAD REPLACE e.Code
//		}
//	}
//
// An Entry and its slices are reused by the next call to Next: copy what
// you keep.
//
// # Input
//
// The reader should end where the RDB ends (for a disk-based transfer,
// the $<len> payload; for a diskless one, the bytes before the EOF mark).
// The Decoder reads through its own 256 KiB buffer but only asks its reader
// for more when it needs the next bytes of the RDB, so it never waits for
// data past the checksum. Offset reports how many RDB bytes were consumed.
//
// Supported: RDB versions 1 to 12 (magic "REDIS", Redis 2.x to 8.x) and 80
// (magic "VALKEY", Valkey 9); value types 0 to 5, 7, 9 to 21, the hash
// types with field TTLs (22 to 25 for Redis 7.4, 22 for Valkey 9); the
// opcodes AUX, SELECTDB, RESIZEDB, EXPIRETIME, EXPIRETIME_MS, IDLE, FREQ,
// MODULE_AUX (skipped), FUNCTION2, SLOT_INFO (skipped) and, in Valkey
// files, SLOT_IMPORT (skipped). Module values (type 7) are walked through
// their annotated opcodes, so they need no module to be captured. Release-
// candidate formats (module type 6, opcode 246 FUNCTION) fail with
// ErrUnsupported.
//
// # Errors
//
// Malformed or truncated input yields a *CorruptError naming the offset and,
// when known, the key; errors.Is tells ErrChecksum, ErrUnsupported,
// ErrTooLarge and io.ErrUnexpectedEOF (truncation) apart. An error from the
// reader is returned wrapped, not as corruption. Errors are sticky.
//
// The whole-file CRC64 is computed as bytes go by and checked at the EOF
// opcode (from version 5, unless the file says 0: checksums disabled). As
// entries are handed out before that, a corrupt file can yield entries
// before its error; each payload still carries a correct CRC of its own
// bytes, so a target RESTOREs what the file said.
//
// Lengths read from the input never size an allocation: memory grows only
// as bytes arrive (and Options.MaxPayload can cap one entry), so a corrupt
// length cannot exhaust memory, and the decoder never panics.
package rdbstream
