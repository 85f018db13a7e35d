package verify

import "strings"

// skipper decides which keys Config.SkipKeys leaves out.
type skipper struct {
	prefixes []string
	globs    []string
}

func newSkipper(entries []string) skipper {
	var s skipper
	for _, e := range entries {
		if strings.ContainsAny(e, "*?[") {
			s.globs = append(s.globs, e)
		} else {
			s.prefixes = append(s.prefixes, e)
		}
	}
	return s
}

// skip reports a key to leave out.
func (s skipper) skip(key string) bool {
	for _, p := range s.prefixes {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	for _, g := range s.globs {
		if globMatch(g, key) {
			return true
		}
	}
	return false
}

// filter returns the keys to keep, reusing keys' array.
func (s skipper) filter(keys []string) []string {
	if len(s.prefixes) == 0 && len(s.globs) == 0 {
		return keys
	}
	out := keys[:0]
	for _, k := range keys {
		if !s.skip(k) {
			out = append(out, k)
		}
	}
	return out
}

// globMatch matches s against a Redis-style glob (as KEYS and SCAN MATCH
// do): * any run of bytes, ? one byte, [abc] [a-z] [^a] a class, \x a
// literal x.
func globMatch(pattern, s string) bool {
	for len(pattern) > 0 {
		switch pattern[0] {
		case '*':
			for len(pattern) > 0 && pattern[0] == '*' {
				pattern = pattern[1:]
			}
			if pattern == "" {
				return true
			}
			for i := 0; i <= len(s); i++ {
				if globMatch(pattern, s[i:]) {
					return true
				}
			}
			return false
		case '?':
			if s == "" {
				return false
			}
			pattern, s = pattern[1:], s[1:]
		case '[':
			if s == "" {
				return false
			}
			ok, rest := matchClass(pattern[1:], s[0])
			if !ok {
				return false
			}
			pattern, s = rest, s[1:]
		default:
			if pattern[0] == '\\' && len(pattern) > 1 {
				pattern = pattern[1:]
			}
			if s == "" || pattern[0] != s[0] {
				return false
			}
			pattern, s = pattern[1:], s[1:]
		}
	}
	return s == ""
}

// matchClass matches c against the class that starts after '[' and
// returns the pattern after the closing ']'.
func matchClass(p string, c byte) (bool, string) {
	not := len(p) > 0 && p[0] == '^'
	if not {
		p = p[1:]
	}
	match := false
	for len(p) > 0 && p[0] != ']' {
		lo := p[0]
		if lo == '\\' && len(p) > 1 {
			p = p[1:]
			lo = p[0]
		}
		hi := lo
		if len(p) > 2 && p[1] == '-' && p[2] != ']' {
			hi = p[2]
			p = p[2:]
		}
		if lo > hi {
			lo, hi = hi, lo
		}
		if lo <= c && c <= hi {
			match = true
		}
		p = p[1:]
	}
	if len(p) > 0 {
		p = p[1:] // the ']'
	}
	return match != not, p
}
