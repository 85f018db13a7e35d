// Package forwarder writes a snapshot and a live replication stream to a
// target Redis server, pipelined and in order, and reports how far the
// target has applied the stream.
//
// Standalone is the writer for one standalone server over one connection.
// Dial connects, authenticates and starts one goroutine that reads replies.
// The snapshot phase sends RESTORE (and FUNCTION LOAD) entries, or string
// values through SetString, which batches them into MSET; the live phase
// sends the master's commands with the stream offset just after each:
//
//	f, err := forwarder.Dial(ctx, forwarder.Config{Addr: "127.0.0.1:6380", Logger: log})
//	if err != nil {
//		return err // "forwarder: target 127.0.0.1:6380: connection refused"
//	}
//	defer f.Close()
//
//	// Snapshot: one call per key. Buffers may be reused after each call.
//	for e := range entries {
//		if err := f.Restore(e.DB, e.Key, e.ExpireAtMs, e.Payload); err != nil {
//			return err // the connection is gone; refused keys are only logged
//		}
//	}
//	if err := f.Drain(ctx); err != nil {
//		return err
//	}
//
//	// Live stream, starting at the +FULLRESYNC offset.
//	f.SetApplied(fullResyncOffset)
//	for {
//		args, end, err := stream.Next()
//		...
//		if err := f.Command(args, end); err != nil {
//			return err
//		}
//		if stream.Buffered() == 0 {
//			f.Flush() // nothing more to batch: send now
//		}
//	}
//
//	// Elsewhere, every second: REPLCONF ACK f.Applied() to the master.
//
// # Pipelining and the window
//
// Commands are encoded into 64 KiB buffers that are written when full, on
// Flush, and whenever a call has to wait. At most Config.Window commands
// and Config.WindowBytes bytes are encoded and unanswered at a time;
// Restore and Command block until replies free space. Each command stays
// encoded in memory until its reply comes, in a ring of in-flight entries
// matched to replies in order.
//
// # Applied offset
//
// Applied is the offset just after the newest live command that the target
// answered, with every command before it answered too. PING and REPLCONF
// are never sent to the target (they are the master's business) but their
// offsets count; so does a SELECT of the db the connection already uses. A
// MULTI and its commands count only when the reply to EXEC comes.
//
// # Errors
//
// A command the target refuses (a payload it cannot load, a wrong type)
// is logged at Warn with its name and key, counted in Stats, and the
// stream goes on. A refused SELECT stops everything, since the commands
// after it would land in the wrong db. A lost connection is sticky: Err
// and every later call return it ("forwarder: target 127.0.0.1:6380:
// connection lost: EOF").
//
// # Checkpointed batches
//
// Txn applies a live stream exactly once: each batch is one MULTI ... EXEC
// holding the commands and a write of a checkpoint key ("<replid> <offset>
// <db>", in db 0), so the key always names what the target holds. DialTxn
// reads the checkpoint; the caller applies its stream again from there
// after any failure. A batch the target refuses whole (EXECABORT) comes
// back as an *AbortError: Transient for causes that pass (LOADING, BUSY,
// OOM...), otherwise naming the refused commands by offset.
//
//	t, err := forwarder.DialTxn(ctx, cfg, "replicant:checkpoint")
//	cp, found, ok := t.Checkpoint()
//	t.Begin(cp.DB)
//	t.Add(args, endOffset) // for each command
//	err = t.Commit(forwarder.Checkpoint{ReplID: id, Offset: endOffset, DB: db}, "")
//
// Standalone itself retries nothing; Txn and its caller do.
//
// # Kinds of target
//
// The caller writes through two interfaces (target.go): SnapshotWriter
// (Restore, SetString, Rewrite, LoadFunction, LoadScript) and StreamWriter
// (Begin, Add, Commit: checkpointed batches). Standalone and Txn serve one
// server. ClusterSnapshot and ClusterStream serve a Redis Cluster: keys
// routed by hash slot to their master's connection, each batch cut into
// one MULTI per slot with a per-slot checkpoint key (exactly once per
// slot), MOVED and ASK answered by reading the slot map again and applying
// from the checkpoints, cross-slot commands split or emulated
// (cluster_emulate.go). ProxySnapshot and ProxyStream serve twemproxy:
// only what the proxy parses is sent, a few multi-key writes are emulated,
// the rest is reported; at least once, since the proxy has no MULTI.
//
// # Goroutines
//
// Restore, SetString, LoadFunction, Command, Flush, Drain and SetApplied
// belong to one goroutine. Applied, Stats, Err and Close are safe from any other.
package forwarder
