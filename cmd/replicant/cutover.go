package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/replicant/replicant/admin"
)

// cutoverOptions are the flags of "replicant cutover".
type cutoverOptions struct {
	Admin         string
	AdminPassword string
	Timeout       time.Duration
	KeepSyncing   bool
}

func cutoverFlags(o *cutoverOptions) *flag.FlagSet {
	fs := flag.NewFlagSet("cutover", flag.ContinueOnError)
	fs.StringVar(&o.Admin, "admin", "", "`address` of the running sync's admin endpoint (its --admin) (required)")
	fs.StringVar(&o.AdminPassword, "admin-password", "", "the sync's --admin-password")
	fs.DurationVar(&o.Timeout, "timeout", 30*time.Second, "longest pause of the source's writes while the target catches up")
	fs.BoolVar(&o.KeepSyncing, "keep-syncing", false, "after the cutover, unpause the source and keep syncing instead of stopping")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: replicant cutover --admin ADDR [flags]

Asks a running "replicant sync --admin ADDR" to cut over: it pauses writes
on the source (CLIENT PAUSE <timeout> WRITE) and waits until the target
holds every write. Then it makes the source refuse every write
(CONFIG SET min-replicas-to-write 2147483647: -NOREPLICAS), marks the
target as cut over (a later "replicant sync" into it refuses, unless
--after-cutover-ok), cuts off the source's clients (CLIENT KILL TYPE
normal and pubsub: the writes waiting in the pause fail, never run),
unpauses the source, reports how long writes were paused and the command
that lets the source take writes again (rollback), and stops. With
--keep-syncing (a rehearsal) the source is only unpaused and the sync goes
on. If the target does not catch up in time, the source is unpaused and
the sync goes on; the exit status is then 1.

Flags:
`)
		fs.PrintDefaults()
	}
	return fs
}

// runCutover is "replicant cutover": a client of a running sync's admin
// endpoint.
func runCutover(args []string, stdout, stderr io.Writer) int {
	var o cutoverOptions
	fs := cutoverFlags(&o)
	if code, stop := parseFlags(fs, args, stdout, stderr); stop {
		return code
	}
	switch {
	case o.Admin == "":
		fmt.Fprintln(stderr, "replicant cutover: --admin is required: the address of the running sync's admin endpoint")
		return exitUsage
	case o.Timeout <= 0:
		fmt.Fprintf(stderr, "replicant cutover: --timeout %s: must be above 0 (the longest the source's writes stay paused)\n", o.Timeout)
		return exitUsage
	}
	out, err := admin.RequestCutover(context.Background(), o.Admin, o.AdminPassword, o.Timeout, o.KeepSyncing)
	if err != nil {
		fmt.Fprintf(stderr, "replicant cutover: %v\n", err)
		return exitError
	}
	fmt.Fprint(stdout, out)
	return exitOK
}
