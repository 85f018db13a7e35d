package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // the sync failed
	exitUsage = 2 // bad flags or URLs
)

var version = "dev"

const usage = `replicant moves a live Redis dataset to another Redis deployment with zero
downtime. It connects to the source master as a replica, restores the RDB
snapshot on the target, then forwards every write until it is stopped.

Usage:
  replicant sync --source URL --target URL [flags]   copy, then stay in sync
  replicant verify --source URL --target URL [flags] compare the two datasets
  replicant cutover --admin ADDR [flags]             stop writes on the source once the target holds them all
  replicant version                                  print the version
  replicant help [command]                           show help

URLs: redis://[user:password@]host:port, or rediss:// for TLS.
Run "replicant sync --help" for the flags of sync.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		if len(args) > 1 && args[1] == "sync" {
			return runSync([]string{"--help"}, stdout, stderr)
		}
		if len(args) > 1 && args[1] == "verify" {
			return runVerify([]string{"--help"}, stdout, stderr)
		}
		if len(args) > 1 && args[1] == "cutover" {
			return runCutover([]string{"--help"}, stdout, stderr)
		}
		fmt.Fprint(stdout, usage)
		return exitOK
	case "version", "--version":
		fmt.Fprintln(stdout, "replicant", version)
		return exitOK
	case "sync":
		return runSync(args[1:], stdout, stderr)
	case "verify":
		return runVerify(args[1:], stdout, stderr)
	case "cutover":
		return runCutover(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "replicant: unknown command %q\n\n%s", args[0], usage)
	return exitUsage
}

// parseFlags parses args into fs, then sets the flags args left unset from
// the environment and the --config file (config.go), printing help to
// stdout on --help. It returns an exit code when the command must stop now.
func parseFlags(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (int, bool) {
	fs.SetOutput(io.Discard)
	addConfigFlag(fs)
	err := fs.Parse(args)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		err = explainParseError(fs, err)
	}
	if err == nil && fs.NArg() == 0 {
		err = applyConfig(fs, os.Environ())
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(stdout)
		fs.Usage()
		fmt.Fprint(stdout, configHelp)
		return exitOK, true
	case err != nil:
		fmt.Fprintf(stderr, "replicant %s: %v (see replicant %s --help)\n", fs.Name(), err, fs.Name())
		return exitUsage, true
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "replicant %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return exitUsage, true
	}
	return 0, false
}

// signalContext is cancelled by the first SIGINT or SIGTERM; a second one
// stops the process at once.
func signalContext() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-ch
		cancel()
		<-ch
		os.Exit(130)
	}()
	return ctx, func() { signal.Stop(ch); cancel() }
}
