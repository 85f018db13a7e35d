package main

import (
	"strings"
	"testing"
)

// TestRedactedErrors: a URL that does not parse is reported without its
// password.
func TestRedactedErrors(t *testing.T) {
	for _, raw := range []string{
		"redis://:s3cret@",
		"redis://user:s3cret@",
		"redis://user:s3cr%zzet@host:1",
		"user:s3cr%zzet@host:1",
		"ftp://user:s3cret@host:1",
		"redis://user:s3cret@host:99999",
		"redis://user:s3cret@host:1,:x",
	} {
		_, err := parseEndpoint(raw)
		if err == nil {
			t.Fatalf("%q: no error", raw)
		}
		if strings.Contains(err.Error(), "s3cr") {
			t.Errorf("%q: error shows the password: %v", raw, err)
		}
	}
	for raw, want := range map[string]string{
		"redis://u:pw@h:1":      "redis://u:xxxxx@h:1",
		"redis://pw@h:1":        "redis://xxxxx@h:1",
		"redis://h:1":           "redis://h:1",
		"redis://u:p%zzw@h:1":   "redis://xxxxx@h:1",
		"rediss://u:p%zz@w@h:1": "rediss://xxxxx@h:1",
		"redis://h:1,h:2":       "redis://h:1,h:2",
		"redis://:pw@h:1,h:2":   "redis://:xxxxx@h:1,h:2",
	} {
		if got := redact(raw); got != want {
			t.Errorf("redact(%q) = %q, want %q", raw, got, want)
		}
	}
}
