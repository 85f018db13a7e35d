package rdbstream

import (
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"slices"
	"testing"
)

// bigZsetRDB builds a one-key RDB 10 holding a sorted set "z" of type t
// (typeZset2: binary scores, typeZset: text scores) with members m0, m1...
func bigZsetRDB(t byte, scores []float64, texts []string) []byte {
	b := appendRDBLen(append([]byte("REDIS0010"), opSelectDB), 0)
	b = appendRDBString(append(b, t), "z")
	n := len(scores)
	if t == typeZset {
		n = len(texts)
	}
	b = appendRDBLen(b, uint64(n))
	for i := range n {
		b = appendRDBString(b, "m"+string(rune('a'+i)))
		if t == typeZset2 {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(scores[i]))
			continue
		}
		switch texts[i] {
		case "nan":
			b = append(b, 253)
		case "inf":
			b = append(b, 254)
		case "-inf":
			b = append(b, 255)
		default:
			b = append(append(b, byte(len(texts[i]))), texts[i]...)
		}
	}
	b = append(b, opEOF)
	return append(b, 0, 0, 0, 0, 0, 0, 0, 0)
}

// bigElements decodes rdb with a BigCount of 2 and returns the elements of
// its one key.
func bigElements(t *testing.T, rdb []byte) []string {
	t.Helper()
	d := NewDecoder(bytes.NewReader(rdb), Options{Now: epoch, BigCount: 2})
	e, err := d.Next()
	if err != nil {
		t.Fatal(err)
	}
	if !e.Big {
		t.Fatalf("entry %q is not big", e.Key)
	}
	var out []string
	err = e.Elements(func(items [][]byte) error {
		for _, it := range items {
			out = append(out, string(it))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Next(); err != io.EOF {
		t.Fatalf("after the key: %v, want EOF", err)
	}
	return out
}

func TestBigZsetScores(t *testing.T) {
	scores := []float64{4999999.5, 0.5, 0, math.Copysign(0, -1), math.Inf(1), math.Inf(-1), 0.1, -1e300, 1700000000123, -2.25}
	want := []string{"ma", "4999999.5", "mb", "0.5", "mc", "0", "md", "-0", "me", "+inf", "mf", "-inf",
		"mg", "0.1", "mh", "-1e+300", "mi", "1700000000123", "mj", "-2.25"}
	if got := bigElements(t, bigZsetRDB(typeZset2, scores, nil)); !slices.Equal(got, want) {
		t.Errorf("binary scores: got %q, want %q", got, want)
	}
	texts := []string{"4999999.5", "0.5", "0", "-0", "inf", "-inf", "0.10000000000000001", "-1.0000000000000001e+300", "1700000000123", "-2.25"}
	if got := bigElements(t, bigZsetRDB(typeZset, nil, texts)); !slices.Equal(got, want) {
		t.Errorf("text scores: got %q, want %q", got, want)
	}
}
