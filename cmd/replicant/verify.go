package main

import (
	"fmt"
	"io"
)

// runVerify is "replicant verify". (Being written: see issue 6.)
func runVerify(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "replicant verify: not built yet")
	return exitUsage
}
