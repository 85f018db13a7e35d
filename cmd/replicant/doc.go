// Command replicant copies a live Redis dataset to another Redis deployment
// and keeps it in sync. It connects to the source master as a replica,
// restores the streamed RDB snapshot on the target with RESTORE, then
// forwards the live replication stream until it is stopped.
//
//	replicant sync --source redis://user:pass@10.0.0.1:6379 --target redis://10.0.0.2:6379
//
// Run "replicant --help" and "replicant sync --help" for every flag. This
// package is the command line only: flags, the config file and the
// environment, TLS files, logging, the progress bar on a terminal, and the
// sync, verify and cutover subcommands. The rest lives in the libraries:
// the sync in package replicate (with replicate.ParseURL and
// replicate.ProgressMeter), the comparison in package verify, the filters'
// text forms in package filter, and the admin, metrics and profiling
// listeners and the cutover client in package admin.
package main
