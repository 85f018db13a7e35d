package rdbstream

import (
	"math"
	"math/rand"
	"strconv"
	"testing"
)

// scoreRoundTrips fails t unless AppendScore spells f as text that parses
// back to f bit for bit.
func scoreRoundTrips(t testing.TB, f float64) {
	t.Helper()
	s := string(AppendScore(nil, f))
	g, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("AppendScore(%v) = %q: %v", f, s, err)
	}
	if math.Float64bits(g) != math.Float64bits(f) {
		t.Fatalf("AppendScore(%v) = %q, reads back as %v (bits %x, want %x)", f, s, g, math.Float64bits(g), math.Float64bits(f))
	}
}

func TestAppendScore(t *testing.T) {
	for _, c := range []struct {
		f    float64
		want string
	}{
		{0, "0"}, {math.Copysign(0, -1), "-0"}, {1, "1"}, {-1, "-1"}, {0.5, "0.5"}, {-2.5, "-2.5"},
		{4999999.5, "4999999.5"}, {1.0 / 256, "0.00390625"}, {-3.75, "-3.75"}, {1e7, "10000000"},
		{1700000000123, "1700000000123"}, {math.Inf(1), "+inf"}, {math.Inf(-1), "-inf"},
		{1.0 / 512, "0.001953125"}, {0.1, "0.1"}, {1e300, "1e+300"}, {math.MaxFloat64, "1.7976931348623157e+308"},
		{1 << 45, "3.5184372088832e+13"}, {1<<45 - 0.5, "35184372088831.5"}, {-(1<<45 - 1.0/256), "-35184372088831.99609375"},
		{5e-324, "5e-324"}, {math.NaN(), "NaN"},
	} {
		if got := string(AppendScore([]byte("x"), c.f)); got != "x"+c.want {
			t.Errorf("AppendScore(%v) = %q, want %q", c.f, got[1:], c.want)
		}
		if !math.IsNaN(c.f) {
			scoreRoundTrips(t, c.f)
		}
	}
}

func TestAppendScoreRandom(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 200000; i++ {
		var f float64
		switch i % 4 {
		case 0: // any bits but NaN
			if f = math.Float64frombits(rng.Uint64()); math.IsNaN(f) {
				continue
			}
		case 1: // short binary fractions around the fast path's bounds
			f = float64(rng.Int63n(1<<54)-1<<53) / float64(int64(1)<<rng.Intn(12))
		case 2:
			f = rng.NormFloat64() * math.Pow(10, float64(rng.Intn(30)-10))
		case 3:
			f = float64(rng.Int63()) * math.Pow(2, float64(rng.Intn(40)-20))
		}
		scoreRoundTrips(t, f)
	}
}

func FuzzAppendScore(f *testing.F) {
	for _, v := range []float64{0, math.Copysign(0, -1), 0.5, 1 << 45, 1e300, 5e-324, -7.25} {
		f.Add(math.Float64bits(v))
	}
	f.Fuzz(func(t *testing.T, bits uint64) {
		if v := math.Float64frombits(bits); !math.IsNaN(v) {
			scoreRoundTrips(t, v)
		}
	})
}

func BenchmarkAppendScore(b *testing.B) {
	b.Run("halves", func(b *testing.B) {
		buf := make([]byte, 0, 32)
		for i := 0; i < b.N; i++ {
			buf = AppendScore(buf[:0], float64(i)*0.5)
		}
	})
	b.Run("strconv", func(b *testing.B) {
		buf := make([]byte, 0, 32)
		for i := 0; i < b.N; i++ {
			buf = strconv.AppendFloat(buf[:0], float64(i)*0.5, 'g', -1, 64)
		}
	})
	b.Run("random", func(b *testing.B) {
		buf := make([]byte, 0, 32)
		for i := 0; i < b.N; i++ {
			buf = AppendScore(buf[:0], float64(i)*0.1)
		}
	})
}
