package replicate

import (
	"strings"
	"testing"
)

func TestLimitWarnings(t *testing.T) {
	defaults := map[string]string{
		"repl-backlog-size":          "1048576",
		"repl-timeout":               "60",
		"client-output-buffer-limit": "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
	}
	w := limitWarnings(defaults, 100<<20)
	if len(w) != 1 || !strings.Contains(w[0].set, "repl-backlog-size 67108864") {
		t.Fatalf("defaults on a 100 MiB dataset: %+v", w)
	}
	small := map[string]string{
		"repl-backlog-size":          "104857600",
		"repl-timeout":               "10",
		"client-output-buffer-limit": "normal 0 0 0 slave 1048576 1048576 0 pubsub 33554432 8388608 60",
	}
	w = limitWarnings(small, 1<<20)
	if len(w) != 2 || !strings.Contains(w[0].set, "repl-timeout 60") || !strings.Contains(w[1].set, "replica 268435456") {
		t.Fatalf("small limits: %+v", w)
	}
	if w := limitWarnings(map[string]string{"client-output-buffer-limit": "normal 0 0 0 slave 0 0 0"}, 0); len(w) != 0 {
		t.Fatalf("no limit: %+v", w)
	}
}
