package verify

import (
	"strings"
	"testing"
)

func TestFieldTTLVersions(t *testing.T) {
	for v, want := range map[string]bool{"7.4.0": true, "8.0.1": true, "7.2.4": false, "7.0.15": false, "": false, "10.0": true} {
		if got := fieldTTLs(v); got != want {
			t.Errorf("%q: %v", v, got)
		}
	}
}

// TestDiffFieldTTLs: a field TTL on one side only, or apart by more than
// the tolerance, is a difference; none on either side (nil) is equal.
func TestDiffFieldTTLs(t *testing.T) {
	fields := []string{"a", "b"}
	for _, c := range []struct {
		s, d []int64
		want string // "" or a part of the detail
	}{
		{nil, nil, ""},
		{[]int64{-1, -1}, nil, ""},
		{[]int64{-1, 5000}, []int64{-1, 6000}, ""},
		{[]int64{-1, 5000}, []int64{-1, 8000}, `field "b": expiry differs by -3000 ms`},
		{[]int64{-1, 99996}, nil, `field "b": expires at 99996 ms on source, never on target`},
		{nil, []int64{7, -1}, `field "a": expires never on source, at 7 ms on target`},
	} {
		got := diffFieldTTLs(fields, c.s, c.d, 2000)
		if c.want == "" && got != "" || c.want != "" && !strings.Contains(got, c.want) {
			t.Errorf("%v vs %v: %q, want %q", c.s, c.d, got, c.want)
		}
	}
}
