// Package spool is a bounded, append-only store of replication stream bytes
// on disk, addressed by stream offset.
//
// replicant reads the source's stream at network speed into a Spool and
// applies it to the target from there, so a slow or absent target never
// makes the source throttle or drop the replica link, and a target that
// comes back is fed again from its last checkpoint.
//
// Bytes live in segment files named by the stream offset of their first
// byte. Append adds at the end; a Reader reads from any retained offset and
// waits for more at the end; Trim drops whole segments below an offset that
// is no longer needed. When the retained bytes would pass the size limit,
// Append fails with ErrFull and stores nothing: the caller stops, it never
// drops data silently.
//
// On disk each Append is one or more records, each with its stream offset
// and a CRC32C (format.go); a segment never splits an Append. Open reads
// the last segment whole, drops an Append a crash cut short, and fails
// with an error wrapping ErrCorrupt (a *CorruptError naming the file and
// the byte) on damage or on a segment of an older format. A Reader checks
// every record it reads from a file before it returns its bytes and fails
// the same way. The newest bytes (Options.MemoryTail, 1 MiB) are also kept
// in memory as appended: a Reader at the end, as the applier is while the
// target keeps up, takes them from there and reads no file. The dir is
// 0700 and the files 0600: they hold the data.
//
//	sp, err := spool.Open(dir, spool.Options{MaxBytes: 4 << 30})
//	sp.Reset(startOffset)         // after a full resync
//	sp.Append(commandBytes)
//	r := sp.NewReader(ctx, checkpoint) // r.Read blocks until bytes arrive, ctx ends or Close;
//	                                   // errors.Is(err, spool.ErrCorrupt): resync from scratch
//	sp.Trim(checkpoint)
package spool
