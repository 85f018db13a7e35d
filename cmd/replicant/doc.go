// Command replicant copies a live Redis dataset to another Redis deployment
// and keeps it in sync. It connects to the source master as a replica,
// restores the streamed RDB snapshot on the target with RESTORE, then
// forwards the live replication stream until it is stopped.
//
//	replicant sync --source redis://user:pass@10.0.0.1:6379 --target redis://10.0.0.2:6379
//
// Run "replicant --help" and "replicant sync --help" for every flag. This
// package is the command line only: flags, the config file and the
// environment, TLS files, logging, the progress bar on a terminal, the
// admin and metrics listeners, and the sync, verify and cutover
// subcommands. What a Go program needs too lives in the libraries: URLs
// are read by replicate.ParseURL (for verify as well), the progress line
// is replicate.ProgressMeter's, the filter flags' text forms are package
// filter's, and verify's summary line and sync-aware settings
// (Result.Summary, Config.UseFilter, Config.SkipSyncKeys) are package
// verify's. The sync itself is package replicate; the cutover subcommand
// is a client of a running sync's admin endpoint.
package main
