package rdbstream

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/hdt3213/rdb/lzf"
)

// stringEntry builds a string entry around the RDB string encoding enc.
func stringEntry(enc []byte) *Entry {
	p := append([]byte{typeString}, enc...)
	p = append(p, 10, 0)              // version
	p = append(p, make([]byte, 8)...) // CRC: StringValue does not check it
	return &Entry{Kind: KindKey, Key: []byte("k"), Type: typeString, Payload: p}
}

func TestStringValue(t *testing.T) {
	long := strings.Repeat("z", 70000)
	tests := []struct {
		name string
		enc  []byte
		want string
		bad  bool
	}{
		{name: "empty", enc: []byte{0x00}, want: ""},
		{name: "plain", enc: []byte{0x03, 'a', 'b', 'c'}, want: "abc"},
		{name: "binary", enc: []byte{0x05, 0, 0xff, '\r', '\n', 0}, want: "\x00\xff\r\n\x00"},
		{name: "14-bit length", enc: append([]byte{0x40, 0x41}, strings.Repeat("y", 65)...), want: strings.Repeat("y", 65)},
		{name: "32-bit length", enc: append([]byte{0x80, 0, 1, 0x11, 0x70}, long...), want: long},
		{name: "64-bit length", enc: []byte{0x81, 0, 0, 0, 0, 0, 0, 0, 1, 'x'}, want: "x"},
		{name: "int8", enc: []byte{0xc0, 0xf9}, want: "-7"},
		{name: "int8 zero", enc: []byte{0xc0, 0x00}, want: "0"},
		{name: "int8 max", enc: []byte{0xc0, 0x7f}, want: "127"},
		{name: "int8 min", enc: []byte{0xc0, 0x80}, want: "-128"},
		{name: "int16", enc: []byte{0xc1, 0xd2, 0x04}, want: "1234"},
		{name: "int16 min", enc: []byte{0xc1, 0x00, 0x80}, want: "-32768"},
		{name: "int32", enc: []byte{0xc2, 0x79, 0x29, 0xed, 0xff}, want: "-1234567"},
		{name: "int32 max", enc: []byte{0xc2, 0xff, 0xff, 0xff, 0x7f}, want: "2147483647"},
		{name: "int32 min", enc: []byte{0xc2, 0x00, 0x00, 0x00, 0x80}, want: "-2147483648"},
		{name: "lzf", enc: append([]byte{0xc3, 5, 30}, lzf30a...), want: strings.Repeat("a", 30)},
		{name: "lzf literal only", enc: []byte{0xc3, 4, 3, 0x02, 'x', 'y', 'z'}, want: "xyz"},
		{name: "lzf two literals", enc: []byte{0xc3, 5, 3, 0x00, 'x', 0x01, 'y', 'z'}, want: "xyz"},
		{name: "lzf short output", enc: append([]byte{0xc3, 5, 31}, lzf30a...), bad: true},
		{name: "lzf long output", enc: append([]byte{0xc3, 5, 29}, lzf30a...), bad: true},
		{name: "lzf bad ref", enc: []byte{0xc3, 3, 10, 0xe0, 0x14, 0x00}, bad: true},
		{name: "lzf clen mismatch", enc: append([]byte{0xc3, 6, 30}, lzf30a...), bad: true},
		{name: "lzf ulen 0", enc: []byte{0xc3, 1, 0, 0x00}, bad: true},
		{name: "lzf ratio", enc: []byte{0xc3, 1, 0x40 | 0x3f, 0xff, 0x00}, bad: true},
		{name: "lzf truncated lengths", enc: []byte{0xc3, 0x40}, bad: true},
		{name: "plain too long", enc: []byte{0x02, 'a', 'b', 'c'}, bad: true},
		{name: "plain too short", enc: []byte{0x04, 'a', 'b', 'c'}, bad: true},
		{name: "int8 extra byte", enc: []byte{0xc0, 0x01, 0x02}, bad: true},
		{name: "int16 short", enc: []byte{0xc1, 0x01}, bad: true},
		{name: "int32 short", enc: []byte{0xc2, 0x01, 0x02, 0x03}, bad: true},
		{name: "encoding 4", enc: []byte{0xc4}, bad: true},
		{name: "bad length byte", enc: []byte{0x82, 0x00}, bad: true},
		{name: "truncated 14-bit length", enc: []byte{0x40}, bad: true},
		{name: "truncated 32-bit length", enc: []byte{0x80, 0, 0}, bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := stringEntry(tt.enc).StringValue()
			if tt.bad {
				if err == nil || errors.Is(err, ErrNotString) {
					t.Fatalf("StringValue = %q, %v; want a decoding error", got, err)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Fatalf("StringValue = %.40q, %v; want %.40q", got, err, tt.want)
			}
			if n, err := stringEntry(tt.enc).StringLen(); err != nil || n != int64(len(tt.want)) {
				t.Fatalf("StringLen = %d, %v; want %d", n, err, len(tt.want))
			}
		})
	}
}

func TestStringValueNotString(t *testing.T) {
	for _, e := range []*Entry{
		{Kind: KindKey, Type: typeSetListpack, Payload: stringEntry([]byte{0x01, 'a'}).Payload},
		{Kind: KindFunction, Code: []byte("#!lua name=x")},
		{Kind: KindKey, Type: typeString, Payload: []byte{typeString, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
	} {
		if v, err := e.StringValue(); !errors.Is(err, ErrNotString) {
			t.Errorf("%v type %d: StringValue = %q, %v; want ErrNotString", e.Kind, e.Type, v, err)
		}
		if n, err := e.StringLen(); !errors.Is(err, ErrNotString) {
			t.Errorf("%v type %d: StringLen = %d, %v; want ErrNotString", e.Kind, e.Type, n, err)
		}
	}
}

// TestStringValueAliasing decodes entries of mixed encodings in a row
// through one Decoder, whose buffers are reused from one to the next.
func TestStringValueAliasing(t *testing.T) {
	vals := []struct {
		enc  []byte
		want string
	}{
		{[]byte{0x03, 'a', 'b', 'c'}, "abc"},
		{append([]byte{0xc3, 5, 30}, lzf30a...), strings.Repeat("a", 30)},
		{[]byte{0x05, 'h', 'e', 'l', 'l', 'o'}, "hello"},
		{[]byte{0xc2, 0x79, 0x29, 0xed, 0xff}, "-1234567"},
		{append([]byte{0xc3, 5, 30}, lzf30a...), strings.Repeat("a", 30)},
		{[]byte{0xc0, 0xf9}, "-7"},
		{[]byte{0x01, 'x'}, "x"},
	}
	b := []byte("REDIS0011")
	for i, v := range vals {
		b = append(b, typeString)
		b = appendRDBString(b, "key"+strconv.Itoa(i))
		b = append(b, v.enc...)
	}
	b = append(append(b, opEOF), make([]byte, 8)...)
	d := NewDecoder(bytes.NewReader(b), Options{Now: epoch})
	for i, v := range vals {
		e, err := d.Next()
		if err != nil {
			t.Fatalf("Next %d: %v", i, err)
		}
		payload := bytes.Clone(e.Payload)
		got, err := e.StringValue()
		if err != nil || string(got) != v.want {
			t.Fatalf("key%d: StringValue = %q, %v; want %q", i, got, err, v.want)
		}
		if !bytes.Equal(e.Payload, payload) {
			t.Fatalf("key%d: StringValue changed the payload", i)
		}
		checkPayload(t, copyEntry(e), 11)
	}
}

// TestStringValueRedis sets strings of every encoding on a real server,
// saves, and checks StringValue against GET for each key.
func TestStringValueRedis(t *testing.T) {
	s := startRedis(t)
	c := s.client(0)
	defer c.Close()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(3, 4))
	random := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		return string(b)
	}
	values := []string{
		"", "a", "hello", "a\x00b\r\n\xff", "value:1" + strings.Repeat("\x00", 25),
		"0", "1", "-1", "127", "-128", "128", "-129", "32767", "-32768", "32768", "-32769",
		"2147483647", "-2147483648", "2147483648", "-2147483649",
		"9223372036854775807", "-9223372036854775808", "9223372036854775808",
		"007", "-0", "+1", " 1", "1 ", "1.5", "1e3", "0x10", "12345678901", "99999999999999999999",
		strings.Repeat("a", 20), strings.Repeat("a", 21), strings.Repeat("ab", 100),
		strings.Repeat("x", 63), strings.Repeat("x", 64), strings.Repeat("x", 16383), strings.Repeat("x", 16384),
		random(100), random(20000), strings.Repeat(random(1000), 300),
		strings.Repeat("abcdefgh", 200), strings.Repeat("\x00", 1000),
	}
	for i, v := range values {
		mustDo(t, c, "SET", "s:"+strconv.Itoa(i), v)
	}
	// Values made by commands that keep other encodings in memory.
	mustDo(t, c, "SET", "incr", "41")
	mustDo(t, c, "INCR", "incr")
	mustDo(t, c, "INCRBY", "incr64", int64(1)<<40)
	mustDo(t, c, "INCRBY", "incrneg", -(int64(1) << 62))
	mustDo(t, c, "APPEND", "append", "12")
	mustDo(t, c, "APPEND", "append", "34")
	mustDo(t, c, "SETRANGE", "setrange", 10, "x")
	mustDo(t, c, "SET", "float", "0")
	mustDo(t, c, "INCRBYFLOAT", "float", "1.25")

	rdb := s.saveRDB(t)
	d := NewDecoder(bytes.NewReader(rdb), Options{})
	seen := map[string]bool{}
	n := 0
	for {
		e, err := d.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		got, err := e.StringValue()
		if err != nil {
			t.Fatalf("key %q: %v", e.Key, err)
		}
		want, err := c.Get(ctx, string(e.Key)).Result()
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("key %q: StringValue %.40q, GET %.40q", e.Key, got, want)
		}
		if n, err := e.StringLen(); err != nil || n != int64(len(want)) {
			t.Errorf("key %q: StringLen %d, %v; GET has %d bytes", e.Key, n, err, len(want))
		}
		seen[encodingName(e.Payload[1])] = true
		n++
	}
	if n != len(values)+6 {
		t.Errorf("decoded %d keys, set %d", n, len(values)+6)
	}
	for _, enc := range []string{"6-bit", "14-bit", "32-bit", "int8", "int16", "int32", "lzf"} {
		if !seen[enc] {
			t.Errorf("no string saved with encoding %s (saw %v)", enc, seen)
		}
	}
}

// encodingName names the RDB string encoding that starts with b.
func encodingName(b byte) string {
	switch {
	case b>>6 == 0:
		return "6-bit"
	case b>>6 == 1:
		return "14-bit"
	case b == 0x80:
		return "32-bit"
	case b == 0x81:
		return "64-bit"
	}
	return [...]string{"int8", "int16", "int32", "lzf"}[min(b&0x3f, 3)]
}

func BenchmarkStringValue(b *testing.B) {
	lzf := stringEntry(append([]byte{0xc3, 5, 30}, lzf30a...))
	plain := stringEntry(append([]byte{32}, strings.Repeat("v", 32)...))
	var buf []byte
	lzf.scratch, plain.scratch = &buf, &buf
	b.ReportAllocs()
	for b.Loop() {
		if _, err := lzf.StringValue(); err != nil {
			b.Fatal(err)
		}
		if _, err := plain.StringValue(); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzStringValue checks StringValue against the Decoder's own string
// reader: on bytes that hold exactly one string, both decode it the same
// way; on anything else StringValue fails without panicking.
func FuzzStringValue(f *testing.F) {
	f.Add([]byte{0x03, 'a', 'b', 'c'})
	f.Add([]byte{0xc0, 0xf9})
	f.Add([]byte{0xc1, 0xd2, 0x04})
	f.Add([]byte{0xc2, 0x79, 0x29, 0xed, 0xff})
	f.Add(append([]byte{0xc3, 5, 30}, lzf30a...))
	f.Add([]byte{0x40, 0x01, 'x'})
	f.Fuzz(func(t *testing.T, enc []byte) {
		got, err := stringEntry(enc).StringValue()
		d := newTestDecoder(enc)
		want, werr := d.readString(nil, 0)
		whole := werr == nil && d.Offset() == int64(len(enc))
		switch {
		case err == nil && !whole:
			t.Fatalf("StringValue = %q, but readString: %v after %d of %d bytes", got, werr, d.Offset(), len(enc))
		case err != nil && whole:
			t.Fatalf("StringValue: %v, but readString = %q", err, want)
		case err == nil && !bytes.Equal(got, want):
			t.Fatalf("StringValue = %q, readString = %q", got, want)
		}
		n, lerr := stringEntry(enc).StringLen()
		if err == nil && (lerr != nil || n != int64(len(got))) {
			t.Fatalf("StringLen = %d, %v; StringValue has %d bytes", n, lerr, len(got))
		}
	})
}

// TestLZFRoundTrip decompresses what hdt3213/rdb's LZF compressor makes of
// inputs full of overlapping back references (runs, short periods) and of
// literals.
func TestLZFRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	inputs := []string{
		strings.Repeat("v", 100<<10), strings.Repeat("ab", 5000), strings.Repeat("abc", 3001),
		"value:1" + strings.Repeat("\x00", 25), strings.Repeat("0123456789abcdef", 1000),
	}
	for i := 0; i < 200; i++ {
		var b strings.Builder
		for b.Len() < 50+rng.IntN(5000) {
			piece := strconv.Itoa(rng.IntN(1 << (1 + rng.IntN(30))))
			b.WriteString(strings.Repeat(piece, 1+rng.IntN(40)))
		}
		inputs = append(inputs, b.String())
	}
	for _, in := range inputs {
		c, err := lzf.Compress([]byte(in))
		if err != nil || len(c) == 0 {
			continue // not compressible
		}
		out := make([]byte, len(in))
		if err := lzfDecompress(c, out); err != nil || string(out) != in {
			t.Fatalf("%.40q (%d bytes): decompressed %.40q, %v", in, len(in), out, err)
		}
	}
}

func BenchmarkLZFRun(b *testing.B) {
	in := []byte(strings.Repeat("v", 100<<10))
	c, err := lzf.Compress(in)
	if err != nil {
		b.Fatal(err)
	}
	out := make([]byte, len(in))
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if err := lzfDecompress(c, out); err != nil {
			b.Fatal(err)
		}
	}
}
