package forwarder

import "context"

// SnapshotWriter writes the keys of a snapshot to a target, whatever its
// kind: Standalone for one server, and the writers of a cluster or a proxy.
// Restore, SetString, LoadFunction, Flush and Drain belong to one
// goroutine; Stats, Err and Close are safe from any other.
type SnapshotWriter interface {
	// Restore sets key in db to the DUMP payload, expiring at expireAtMs
	// (Unix ms; 0: no expiry), replacing what was there.
	Restore(db int, key []byte, expireAtMs int64, payload []byte) error
	// SetString sets key in db to the plain value, without expiry.
	SetString(db int, key, value []byte) error
	// Rewrite sends one command that rebuilds a key in db (package
	// rewrite), first true for the first command of each key: its
	// success counts the key in Stats.Restored. args[1] is the key.
	Rewrite(db int, args [][]byte, first bool) error
	// LoadFunction loads a function library (FUNCTION LOAD REPLACE).
	LoadFunction(code []byte) error
	// LoadScript loads a Lua script into the script cache (SCRIPT LOAD),
	// as older sources keep them in their RDB. It counts as a function.
	LoadScript(body []byte) error
	// Flush sends what is buffered.
	Flush() error
	// Drain waits until the target answered everything sent.
	Drain(ctx context.Context) error
	// Stats counts the target's replies.
	Stats() Stats
	// Err is the sticky error that stopped the writer, nil while healthy.
	Err() error
	Close() error
}

// StreamWriter applies the live stream to a target exactly once, in
// batches that each end with a checkpoint: what Checkpoint reads back
// after any failure says where to apply again from. Begin, Add, Size,
// Commit and Drain belong to one goroutine; the others are safe from any.
type StreamWriter interface {
	// Checkpoint is what the target held when the writer connected: found
	// is false when no checkpoint key exists, ok is false when none names a
	// valid offset (absent, or a snapshot was in progress).
	Checkpoint() (cp Checkpoint, found, ok bool)
	// SetApplied sets the offset Applied reports before any batch.
	SetApplied(off int64)
	// Begin starts a batch whose first command runs in db.
	Begin(db int)
	// Add appends a command of the stream; endOffset is the stream offset
	// just after it. args are copied. FLUSHALL and FLUSHDB keep their
	// meaning on every kind of target. MULTI and EXEC of the source come
	// too, to mark its transactions (never split across batches); a writer
	// whose batches are atomic already may ignore them.
	Add(args [][]byte, endOffset int64)
	// Size returns the encoded bytes of the current batch.
	Size() int
	// Commit ends the batch with a checkpoint at cp, or with marker (a
	// value that is no checkpoint) when marker is not empty, and sends it.
	Commit(cp Checkpoint, marker string) error
	// Drain waits until every committed batch is answered.
	Drain(ctx context.Context) error
	// Applied returns the offset of the newest batch the target applied,
	// with every batch before it applied too.
	Applied() int64
	// Counts returns the commands applied and the commands the target
	// refused.
	Counts() (applied, refused int64)
	// Dead is closed once the writer failed; Err then says why.
	Dead() <-chan struct{}
	Err() error
	Close() error
}

var (
	_ SnapshotWriter = (*Standalone)(nil)
	_ StreamWriter   = (*Txn)(nil)
)
