package filter

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
)

// PatternKind is how a Pattern matches keys.
type PatternKind int

// Kinds of Pattern.
const (
	Prefix PatternKind = iota // the key starts with the text
	Glob                      // Redis glob syntax, over the whole key
	Regex                     // Go regexp, anywhere in the key unless anchored
)

// Pattern matches key names.
type Pattern struct {
	Kind PatternKind
	Text string
	re   *regexp.Regexp
}

// ParsePattern parses "prefix:TEXT", "glob:TEXT", "regex:TEXT" or a bare
// TEXT (a prefix).
func ParsePattern(s string) (Pattern, error) {
	kind, text, ok := strings.Cut(s, ":")
	if ok {
		switch kind {
		case "prefix":
			return Pattern{Kind: Prefix, Text: text}, nil
		case "glob":
			return Pattern{Kind: Glob, Text: text}, nil
		case "regex":
			re, err := regexp.Compile(text)
			if err != nil {
				return Pattern{}, fmt.Errorf("key pattern %q: %w", s, err)
			}
			return Pattern{Kind: Regex, Text: text, re: re}, nil
		}
	}
	return Pattern{Kind: Prefix, Text: s}, nil
}

// MustPattern is ParsePattern for patterns known to be valid.
func MustPattern(s string) Pattern {
	p, err := ParsePattern(s)
	if err != nil {
		panic(err)
	}
	return p
}

// String returns the pattern in the form ParsePattern reads.
func (p Pattern) String() string {
	switch p.Kind {
	case Glob:
		return "glob:" + p.Text
	case Regex:
		return "regex:" + p.Text
	}
	return "prefix:" + p.Text
}

// Match reports whether key matches.
func (p Pattern) Match(key []byte) bool {
	switch p.Kind {
	case Glob:
		return globMatch([]byte(p.Text), key)
	case Regex:
		re := p.re
		if re == nil { // a Pattern built by hand, not by ParsePattern: compiled each time
			var err error
			if re, err = regexp.Compile(p.Text); err != nil {
				return false // a bad expression matches nothing, never panics
			}
		}
		return re.Match(key)
	}
	return bytes.HasPrefix(key, []byte(p.Text))
}

// globMatch is Redis's stringmatchlen (case-sensitive): * any run, ? one
// byte, [set] with ranges and ^ negation, \ escaping the next byte.
func globMatch(pat, s []byte) bool {
	// Backtracking to the last star only is enough: a later star subsumes
	// every choice an earlier one could make.
	starP, starS := -1, 0
	p, i := 0, 0
	for i < len(s) {
		if p < len(pat) {
			switch pat[p] {
			case '*':
				for p < len(pat) && pat[p] == '*' {
					p++
				}
				if p == len(pat) {
					return true
				}
				starP, starS = p, i
				continue
			case '?':
				p++
				i++
				continue
			case '[':
				if n, ok := matchClass(pat[p:], s[i]); n > 0 && ok {
					p += n
					i++
					continue
				}
			case '\\':
				if p+1 < len(pat) && pat[p+1] == s[i] {
					p += 2
					i++
					continue
				}
				if p+1 == len(pat) && s[i] == '\\' {
					p++
					i++
					continue
				}
			default:
				if pat[p] == s[i] {
					p++
					i++
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		starS++
		p, i = starP, starS
	}
	for p < len(pat) && pat[p] == '*' {
		p++
	}
	return p == len(pat)
}

// matchClass matches c against the class at the start of pat ("[...]"),
// returning the class's length in pat. An unclosed class runs to the end
// of the pattern, as in Redis.
func matchClass(pat []byte, c byte) (int, bool) {
	i := 1
	not := i < len(pat) && pat[i] == '^'
	if not {
		i++
	}
	match := false
	for i < len(pat) && pat[i] != ']' {
		switch {
		case pat[i] == '\\' && i+1 < len(pat):
			i++
			match = match || pat[i] == c
		case i+2 < len(pat) && pat[i+1] == '-' && pat[i+2] != ']':
			lo, hi := pat[i], pat[i+2]
			if lo > hi {
				lo, hi = hi, lo
			}
			match = match || (c >= lo && c <= hi)
			i += 2
		default:
			match = match || pat[i] == c
		}
		i++
	}
	if i < len(pat) {
		i++ // the ']'
	}
	return i, match != not
}
