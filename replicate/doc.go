// Package replicate is replicant's sync engine: it copies a live Redis
// dataset to another Redis deployment (a server, a Redis Cluster or
// twemproxy) and keeps it in sync, as a replica of the source that writes
// what it receives to the target. cmd/replicant is a command line around
// it; a Go program can embed a sync the same way:
//
//	s, err := replicate.New(ctx, replicate.Config{
//		Source:   replicate.Endpoint{Addrs: []string{"10.0.0.1:6379"}},
//		Target:   replicate.Endpoint{Addrs: []string{"10.0.0.2:6379"}},
//		StateDir: "/var/lib/replicant",
//		Logger:   log,
//	})
//	if err != nil { ... }
//	err = s.Run(ctx) // until ctx ends (nil) or a fault that retrying cannot mend
//
// While Run runs, Status reads the figures (phase, offsets, lag, counts),
// Pause and Resume hold and release the writes to the target, Cutover
// moves the clients over, and Shutdown stops Run cleanly. Provider serves
// a Syncer on the admin endpoint and metrics of package admin.
//
// ParseURL reads an Endpoint from a redis://, rediss:// or redis+cluster://
// URL, as the command line takes them. ProgressMeter and ProgressLines
// turn Config.OnSnapshot's readings into the progress line cmd/replicant
// shows on a terminal.
//
// # The life of a session
//
// Resume point. Run first opens the state dir (Config.StateDir: the spool
// and state.json) and takes the target's lease (a key naming this writer,
// so that two syncs never write to one target). Then it reads the
// target's checkpoint key (Config.CheckpointKey): the replication id and
// offset of the source's stream that the target holds. With no checkpoint
// it refuses a target holding data it did not write (Config.Overwrite) and
// starts with a full resync. With one, it asks the source to continue from
// it: PSYNC <replid> <offset+1>.
//
// Full or partial resync. The source answers +CONTINUE (a partial resync:
// the stream follows from that offset, nothing is copied again) or
// +FULLRESYNC (its backlog no longer holds the offset, or the id is not
// its own): then what an earlier copy left on the target goes (FLUSHALL,
// or a sweep of the keys this sync copies) and the snapshot follows.
//
// Snapshot. The RDB payload (disk-based or diskless) is decoded as it
// arrives (package rdbstream) and each key goes to the target as RESTORE,
// MSET of plain strings, or rewritten as plain commands when the target
// cannot take the payload (the snapshot plan, read from the target's
// version). Keys past their expiry are skipped; keys the target cannot
// represent are skipped and their later writes held back. The snapshot
// ends with a checkpoint at the snapshot's offset.
//
// Stream. One goroutine reads the source's command stream at network speed
// into the spool on disk (package spool), whatever the target does, so
// that a slow target never makes the source drop the link; past
// Config.SpoolMax Run fails, losing nothing.
//
// Applier. Another goroutine applies the spool in order to the target, in
// batches: each batch is one MULTI ... EXEC on the target holding stream
// commands and the write of the checkpoint key, so the target and its
// checkpoint move together (exactly once across crashes). A batch never
// ends inside the source's MULTI ... EXEC; SELECT moves the stream's
// database; filters, database maps and the expiry rewriter (rewrite.Expiry: relative TTLs
// made absolute, plus Config.ExpireMargin) apply here. The source is
// acknowledged (REPLCONF ACK) with the offset the target holds, so WAIT on
// the source means "on the target".
//
// Checkpoint and reconnects. A lost source link is dialled again (a
// promoted replica among Config.Source.Addrs after a failover) and resumed
// from the end of the spool; a lost target connection is dialled again and
// the applier replays the spool from the target's checkpoint. A target
// that lost its checkpoint, or a damaged spool, asks for a full resync.
//
// State on disk. Config.StateDir holds the spool of the stream and
// state.json: the source's replication ids the spool belongs to and
// whether their snapshot reached the target. Started again with the same
// dir, a sync resumes from the checkpoint without a full resync while the
// spool or the source's backlog covers it. Without a StateDir a temporary
// dir is used and removed when Run returns; resuming then relies on the
// target's checkpoint and the source's backlog.
//
// Fleet. A cluster source (Config.Source.Cluster) is synced by one replica
// link per master, found with CLUSTER SLOTS: each has its own spool (a
// subdirectory of StateDir), checkpoint key and heartbeat key, copies only
// its slots, and they all write to the one target. A FLUSHALL of one
// master removes only its slots' keys from the target (a sweep). Status
// has one Shard per master; Cutover pauses every master before fencing any.
//
// # Connections
//
// The data path uses the project's own connections: package psync for the
// replication link, package forwarder for the pipelined writers to the
// target. go-redis serves the control path, where a request and its reply
// are all there is: the target's version and limits, the checkpoint
// lease and cut-over mark, scans before a first sync and for a sweep, the
// source's heartbeat and offset once a second, role checks after a
// failover, CLUSTER SLOTS, and the CLIENT PAUSE and fence of a cutover.
//
// # Inside
//
// A run is a replica (replica.go, session.go: the source link and its
// sessions) with a resumeState (resume_state.go: the state dir, the saved
// state and the resume decision), a keyFilter (filters.go: which of the
// source's keys are copied, under which names and into which databases,
// and the source's key positions) and a snapshotCopier
// (snapshot_copier.go, with its apply plan in snapshot_plan.go: the
// snapshot of a full sync) writing to a target (target.go: the kind of
// target, its addresses and settings; target_cluster.go,
// target_twemproxy.go and target_pool.go dial its writers;
// target_clients.go reaches it with go-redis), whose stream is applied by
// an applier and its batcher (applier.go). A replica's interlock
// (interlock.go: the checks before its first write to the target, and the
// lease of lease.go) and its operator (operator.go, cutover.go) guard and
// steer it. A fleet (fleet.go) runs one replica per master of a cluster
// source.
package replicate
