package rdbstream

import (
	"math"
	"strconv"
)

// scoreFracBits is how many binary fraction digits a score may have for
// AppendScore's plain decimal form: halves down to 1/256ths.
const scoreFracBits = 8

// scoreMaxScaled bounds |f| * 2^scoreFracBits in that form, so that the
// scaled score is an exact integer in an int64.
const scoreMaxScaled = 1 << 53

// AppendScore appends a sorted set score to dst spelled so that ZADD (and
// Redis's strtod) reads back the same float64, bit for bit: "+inf" and
// "-inf"; an integer or a short binary fraction (a multiple of 1/256
// under 2^45 in magnitude: most scores) in plain decimal, which is exact
// and several times cheaper to spell than the shortest form; else that
// shortest form (strconv's 'g', -1), which is "-0" for negative zero and
// "NaN" for NaN (which ZADD refuses).
func AppendScore(dst []byte, f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return append(dst, "+inf"...)
	case math.IsInf(f, -1):
		return append(dst, "-inf"...)
	}
	s := f * (1 << scoreFracBits) // exact: a power of two, no overflow below 2^1015
	if s != math.Trunc(s) || s <= -scoreMaxScaled || s >= scoreMaxScaled || (f == 0 && math.Signbit(f)) {
		return strconv.AppendFloat(dst, f, 'g', -1, 64)
	}
	n := int64(s)
	if n < 0 {
		dst = append(dst, '-')
		n = -n
	}
	dst = strconv.AppendUint(dst, uint64(n>>scoreFracBits), 10)
	frac := n & (1<<scoreFracBits - 1)
	if frac == 0 {
		return dst
	}
	// frac/2^8 = frac*5^8/10^8: eight decimal digits, exact.
	digits := uint64(frac) * 390625
	var buf [scoreFracBits]byte
	end := 0
	for i := scoreFracBits - 1; i >= 0; i-- {
		buf[i] = byte('0' + digits%10)
		digits /= 10
		if end == 0 && buf[i] != '0' {
			end = i + 1
		}
	}
	dst = append(dst, '.')
	return append(dst, buf[:end]...)
}
