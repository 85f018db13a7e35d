// Command replicant copies a live Redis dataset to another Redis deployment
// and keeps it in sync. It connects to the source master as a replica,
// restores the streamed RDB snapshot on the target with RESTORE, then
// forwards the live replication stream until it is stopped.
//
//	replicant sync --source redis://user:pass@10.0.0.1:6379 --target redis://10.0.0.2:6379
//
// Run "replicant --help" and "replicant sync --help" for every flag. This
// package holds the flags, the wiring of psync, rdbstream and forwarder, the
// status line and the shutdown policy; the protocol work lives in those
// packages.
package main
