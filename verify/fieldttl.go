package verify

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// fieldTTLs reports a known version 7.4 or newer: hash fields may expire.
func fieldTTLs(version string) bool {
	major, rest, _ := strings.Cut(version, ".")
	minor, _, _ := strings.Cut(rest, ".")
	ma, err1 := strconv.Atoi(major)
	mi, err2 := strconv.Atoi(minor)
	return err1 == nil && err2 == nil && (ma > 7 || ma == 7 && mi >= 4)
}

// hashFieldExpiries reads the expiry (Unix ms, -1 for none) of each of
// fields on one side with HPEXPIRETIME; nil when the side's Redis has no
// field TTLs (every field without one).
func hashFieldExpiries(ctx context.Context, c dbConn, s *side, key string, fields []string) ([]int64, error) {
	if !fieldTTLs(s.version) || len(fields) == 0 {
		return nil, nil
	}
	args := []any{"HPEXPIRETIME", key, "FIELDS", len(fields)}
	for _, f := range fields {
		args = append(args, f)
	}
	at, err := c.c.Do(ctx, args...).Int64Slice()
	if err != nil {
		return nil, c.wrap(fmt.Sprintf("HPEXPIRETIME %q", key), err)
	}
	return at, nil
}

// diffFieldTTLs compares the field expiries of a hash on both sides (nil:
// none has one), each within tolerance ms. It names the first field that
// differs, or returns "".
func diffFieldTTLs(fields []string, s, d []int64, tolerance int64) string {
	at := func(l []int64, i int) int64 {
		if i < len(l) {
			return l[i]
		}
		return -1
	}
	for i, f := range fields {
		sa, da := at(s, i), at(d, i)
		switch {
		case sa < 0 && da < 0:
		case sa < 0 || da < 0:
			return fmt.Sprintf("field %q: expires %s on source, %s on target", f, fmtFieldAt(sa), fmtFieldAt(da))
		case sa-da > tolerance || da-sa > tolerance:
			return fmt.Sprintf("field %q: expiry differs by %d ms", f, sa-da)
		}
	}
	return ""
}

func fmtFieldAt(ms int64) string {
	if ms < 0 {
		return "never"
	}
	return "at " + strconv.FormatInt(ms, 10) + " ms"
}

// compareFieldTTLs compares the field TTLs of a hash equal in its fields
// and values, read whole (elems: field, value, field, value...), when a
// side can hold field TTLs.
func (v *verifier) compareFieldTTLs(ctx context.Context, p *pair, key string, elems []string) (string, error) {
	if !fieldTTLs(v.src.version) && !fieldTTLs(v.dst.version) {
		return "", nil
	}
	fields := make([]string, 0, len(elems)/2)
	for i := 0; i+1 < len(elems); i += 2 {
		fields = append(fields, elems[i])
	}
	var s, d []int64
	err := onBoth(
		func() (err error) { s, err = hashFieldExpiries(ctx, p.src, v.src, key, fields); return },
		func() (err error) { d, err = hashFieldExpiries(ctx, p.dst, v.dst, key, fields); return })
	if err != nil {
		return "", err
	}
	return diffFieldTTLs(fields, s, d, v.cfg.TTLTolerance.Milliseconds()), nil
}
