package replicate

import "strings"

// eq reports whether b equals the upper-case ASCII word s, ignoring case.
func eq(b []byte, s string) bool {
	return len(b) == len(s) && strings.EqualFold(string(b), s)
}
