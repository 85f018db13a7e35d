package redistest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Newer servers than Debian bookworm's redis-server, which
// scripts/install-deps.sh unpacks into a cache dir: as root under
// /var/cache/replicant, else under ~/.cache/replicant.

// ValkeyBinary finds Valkey 8's valkey-server: $VALKEY_SERVER, the
// unpacked one, or one in PATH.
func ValkeyBinary() (string, error) {
	return cachedServer("VALKEY_SERVER", "valkey-8.0/usr/bin/valkey-server", "valkey-server")
}

// Redis8Binary finds Redis 8's redis-server: $REDIS8_SERVER or the
// unpacked one (a wrapper that starts it with its own loader).
func Redis8Binary() (string, error) {
	return cachedServer("REDIS8_SERVER", "redis-8.0/redis-server", "")
}

func cachedServer(env, rel, inPath string) (string, error) {
	if b := os.Getenv(env); b != "" {
		return b, nil
	}
	dirs := []string{"/var/cache/replicant"}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, ".cache/replicant"))
	}
	for _, d := range dirs {
		if p := filepath.Join(d, rel); fileExists(p) {
			return p, nil
		}
	}
	if inPath != "" {
		if p, err := exec.LookPath(inPath); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found under %v: run make deps (scripts/install-deps.sh unpacks it), or set $%s", rel, dirs, env)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
