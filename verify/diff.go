package verify

import (
	"fmt"
	"math"
	"sort"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// showMax is how many bytes of a value a difference shows.
const showMax = 40

// show quotes s for a message, cut to showMax bytes.
func show(s string) string {
	if len(s) <= showMax {
		return strconv.Quote(s)
	}
	return fmt.Sprintf("%s... (%d bytes)", strconv.Quote(s[:showMax]), len(s))
}

// commonPrefix is the length of the common prefix of a and b.
func commonPrefix(a, b string) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// diffString compares two strings, or two pieces of strings starting at
// byte off: "" when equal.
func diffString(s, d string, off int64) string {
	if s == d {
		return ""
	}
	if off == 0 && len(s) < showMax && len(d) < showMax {
		return show(s) + " vs " + show(d)
	}
	i := commonPrefix(s, d)
	return fmt.Sprintf("from byte %d: %s vs %s", off+int64(i), show(s[i:]), show(d[i:]))
}

// diffList compares two runs of list elements starting at index off.
func diffList(s, d []string, off int) string {
	for i := 0; i < min(len(s), len(d)); i++ {
		if s[i] != d[i] {
			return fmt.Sprintf("index %d: %s vs %s", off+i, show(s[i]), show(d[i]))
		}
	}
	return lengthDiff("index", off, len(s), len(d))
}

// lengthDiff describes runs of different lengths, or is "".
func lengthDiff(what string, off, ns, nd int) string {
	switch {
	case ns > nd:
		return fmt.Sprintf("%s %d on source only (longer on source)", what, off+nd)
	case nd > ns:
		return fmt.Sprintf("%s %d on target only (longer on target)", what, off+ns)
	}
	return ""
}

// diffZset compares two runs of sorted set members by rank from off.
// Scores are compared exactly: -0, infinities and every bit count.
func diffZset(s, d []redis.Z, off int) string {
	for i := 0; i < min(len(s), len(d)); i++ {
		sm, dm := fmt.Sprint(s[i].Member), fmt.Sprint(d[i].Member)
		switch {
		case sm != dm:
			return fmt.Sprintf("rank %d: member %s vs %s", off+i, show(sm), show(dm))
		case math.Float64bits(s[i].Score) != math.Float64bits(d[i].Score):
			return fmt.Sprintf("member %s: score %s vs %s", show(sm), fmtScore(s[i].Score), fmtScore(d[i].Score))
		}
	}
	return lengthDiff("rank", off, len(s), len(d))
}

func fmtScore(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// diffSet compares two whole sets of members (sorting them).
func diffSet(s, d []string) string {
	sort.Strings(s)
	sort.Strings(d)
	i, j := 0, 0
	for i < len(s) && j < len(d) && s[i] == d[j] {
		i, j = i+1, j+1
	}
	switch {
	case i == len(s) && j == len(d):
		return ""
	case j == len(d) || i < len(s) && s[i] < d[j]:
		return fmt.Sprintf("member %s missing on target", show(s[i]))
	}
	return fmt.Sprintf("member %s extra on target", show(d[j]))
}

// diffHash compares two whole hashes given as field/value pairs.
func diffHash(s, d []string) string {
	dm := make(map[string]string, len(d)/2)
	for i := 0; i+1 < len(d); i += 2 {
		dm[d[i]] = d[i+1]
	}
	fields := make([]string, 0, len(s)/2)
	sm := make(map[string]string, len(s)/2)
	for i := 0; i+1 < len(s); i += 2 {
		fields = append(fields, s[i])
		sm[s[i]] = s[i+1]
	}
	sort.Strings(fields)
	for _, f := range fields {
		if detail := diffField(f, sm[f], dm); detail != "" {
			return detail
		}
	}
	var extra []string
	for f := range dm {
		if _, ok := sm[f]; !ok {
			extra = append(extra, f)
		}
	}
	if len(extra) == 0 {
		return ""
	}
	sort.Strings(extra)
	return fmt.Sprintf("field %s extra on target", show(extra[0]))
}

// diffField compares one source field with the target's value, if any.
func diffField(f, sv string, dm map[string]string) string {
	dv, found := dm[f]
	switch {
	case !found:
		return fmt.Sprintf("field %s missing on target", show(f))
	case dv != sv:
		return fmt.Sprintf("field %s: %s vs %s", show(f), show(sv), show(dv))
	}
	return ""
}

// dumpTrailer is the RDB version (2 bytes) and CRC64 (8 bytes) that end a
// DUMP payload: the same value dumped by two versions differs only there.
const dumpTrailer = 10

// diffDump compares two DUMP payloads without their trailers.
func diffDump(s, d string) string {
	if len(s) >= dumpTrailer && len(d) >= dumpTrailer && s[:len(s)-dumpTrailer] == d[:len(d)-dumpTrailer] {
		return ""
	}
	return fmt.Sprintf("DUMP payloads differ (%d vs %d bytes)", len(s), len(d))
}
