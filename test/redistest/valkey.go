package redistest

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
)

// ErrNoValkey is returned by ValkeyBinary when no valkey-server is found.
var ErrNoValkey = errors.New("valkey-server not found: run make deps (scripts/install-deps.sh unpacks Valkey 8 from bookworm-backports)")

// ValkeyBinary finds the valkey-server the tests run: $VALKEY_SERVER, the
// one scripts/install-deps.sh unpacks (as root, or in ~/.cache), or one in
// PATH.
func ValkeyBinary() (string, error) {
	if b := os.Getenv("VALKEY_SERVER"); b != "" {
		return b, nil
	}
	candidates := []string{"/var/cache/replicant/valkey-8.0/usr/bin/valkey-server"}
	if home, err := os.UserHomeDir(); err == nil {
		candidates = append(candidates, filepath.Join(home, ".cache/replicant/valkey-8.0/usr/bin/valkey-server"))
	}
	for _, c := range candidates {
		if _, err := os.Stat(c); err == nil {
			return c, nil
		}
	}
	if p, err := exec.LookPath("valkey-server"); err == nil {
		return p, nil
	}
	return "", ErrNoValkey
}
