package redistest

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"sync"
)

var binaryVersions sync.Map // binary path -> version string

// binaryVersion runs "bin --version" once per binary and returns e.g. "7.0.15".
func binaryVersion(ctx context.Context, bin string) (string, error) {
	if v, ok := binaryVersions.Load(bin); ok {
		return v.(string), nil
	}
	out, err := exec.CommandContext(ctx, bin, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("redistest: %s --version: %w", bin, err)
	}
	v := parseVersionLine(string(out))
	if v == "" {
		return "", fmt.Errorf("redistest: %s --version: no version in %q", bin, out)
	}
	binaryVersions.Store(bin, v)
	return v, nil
}

// parseVersionLine finds "v=X.Y.Z" in redis-server --version output.
func parseVersionLine(out string) string {
	for _, f := range strings.Fields(out) {
		if v, ok := strings.CutPrefix(f, "v="); ok {
			return v
		}
	}
	return ""
}

// versionAtLeast reports whether version v ("7.0.15") is major.minor or newer.
// An unparsable version counts as new: the harness targets current servers.
func versionAtLeast(v string, major, minor int) bool {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return true
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return true
	}
	return ma > major || ma == major && mi >= minor
}
