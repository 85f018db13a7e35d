package rdbstream

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc64"
	"io"
	"strings"
	"testing"

	"github.com/hdt3213/rdb/crc64jones"
)

// newTestDecoder returns a Decoder positioned at the start of b, with no
// header, for testing the primitives.
func newTestDecoder(b []byte) *Decoder {
	return NewDecoder(bytes.NewReader(b), Options{Now: epoch})
}

func isCorrupt(err error) bool {
	var ce *CorruptError
	return errors.As(err, &ce)
}

func TestCRC64Jones(t *testing.T) {
	h := crc64jones.New()
	h.Write([]byte("123456789"))
	if got := h.Sum64(); got != 0xe9c6d914c4b8d9ca {
		t.Fatalf("crc64(123456789) = %x, Redis says e9c6d914c4b8d9ca", got)
	}
}

func TestReadLen(t *testing.T) {
	tests := []struct {
		in      []byte
		n       uint64
		enc     bool
		corrupt bool
		eof     bool
	}{
		{in: []byte{0x00}, n: 0},
		{in: []byte{0x3f}, n: 63},
		{in: []byte{0x40, 0x40}, n: 64},
		{in: []byte{0x7f, 0xff}, n: 16383},
		{in: []byte{0x80, 0x00, 0x00, 0x40, 0x00}, n: 16384},
		{in: []byte{0x80, 0xff, 0xff, 0xff, 0xff}, n: 1<<32 - 1},
		{in: []byte{0x81, 0, 0, 1, 0, 0, 0, 0, 0}, n: 1 << 40},
		{in: []byte{0xc0}, n: 0, enc: true},
		{in: []byte{0xc3}, n: 3, enc: true},
		{in: []byte{0xff}, n: 63, enc: true},
		{in: []byte{0x82}, corrupt: true},
		{in: []byte{0xbf}, corrupt: true},
		{in: []byte{}, eof: true},
		{in: []byte{0x40}, eof: true},
		{in: []byte{0x80, 0, 0}, eof: true},
		{in: []byte{0x81, 0, 0, 0, 0, 0, 0, 0}, eof: true},
	}
	for _, tt := range tests {
		d := newTestDecoder(tt.in)
		n, enc, err := d.readLen()
		switch {
		case tt.corrupt:
			if !isCorrupt(err) {
				t.Errorf("%x: err %v, want corrupt", tt.in, err)
			}
		case tt.eof:
			if err != io.EOF {
				t.Errorf("%x: err %v, want EOF", tt.in, err)
			}
		case err != nil || n != tt.n || enc != tt.enc:
			t.Errorf("%x: got %d %v %v, want %d %v", tt.in, n, enc, err, tt.n, tt.enc)
		case d.Offset() != int64(len(tt.in)):
			t.Errorf("%x: consumed %d bytes", tt.in, d.Offset())
		}
	}
}

// lzf30a is "a" x 30 compressed: one literal, one back reference of 29.
var lzf30a = []byte{0x00, 'a', 0xe0, 0x14, 0x00}

func TestStrings(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		want    string
		corrupt bool
	}{
		{name: "empty", in: []byte{0x00}, want: ""},
		{name: "plain", in: []byte{0x03, 'a', 'b', 'c'}, want: "abc"},
		{name: "14-bit", in: append([]byte{0x40, 0x41}, strings.Repeat("z", 65)...), want: strings.Repeat("z", 65)},
		{name: "int8", in: []byte{0xc0, 0xf9}, want: "-7"},
		{name: "int8 max", in: []byte{0xc0, 0x7f}, want: "127"},
		{name: "int16", in: []byte{0xc1, 0xd2, 0x04}, want: "1234"},
		{name: "int16 neg", in: []byte{0xc1, 0x00, 0x80}, want: "-32768"},
		{name: "int32", in: []byte{0xc2, 0x79, 0x29, 0xed, 0xff}, want: "-1234567"},
		{name: "lzf", in: append([]byte{0xc3, 5, 30}, lzf30a...), want: strings.Repeat("a", 30)},
		{name: "lzf literal only", in: []byte{0xc3, 4, 3, 0x02, 'x', 'y', 'z'}, want: "xyz"},
		{name: "lzf short output", in: append([]byte{0xc3, 5, 31}, lzf30a...), corrupt: true},
		{name: "lzf long output", in: append([]byte{0xc3, 5, 29}, lzf30a...), corrupt: true},
		{name: "lzf bad ref", in: []byte{0xc3, 3, 10, 0xe0, 0x14, 0x00}, corrupt: true},
		{name: "lzf clen 0", in: []byte{0xc3, 0, 10}, corrupt: true},
		{name: "lzf ratio", in: []byte{0xc3, 1, 0x40 | 0x3f, 0xff, 0x00}, corrupt: true},
		{name: "encoding 4", in: []byte{0xc4}, corrupt: true},
		{name: "huge", in: []byte{0x81, 0xff, 0, 0, 0, 0, 0, 0, 0}, corrupt: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newTestDecoder(tt.in)
			got, err := d.readString(nil, 0)
			if tt.corrupt {
				if !isCorrupt(err) {
					t.Fatalf("readString: err %v, want corrupt", err)
				}
			} else if err != nil || string(got) != tt.want || d.Offset() != int64(len(tt.in)) {
				t.Fatalf("readString = %q, %v after %d bytes; want %q after %d", got, err, d.Offset(), tt.want, len(tt.in))
			}
			// walkString agrees on where the string ends (it does not look
			// inside LZF data, so only header errors are seen).
			d = newTestDecoder(tt.in)
			err = d.walkString()
			if err == nil && d.Offset() != int64(len(tt.in)) {
				t.Fatalf("walkString consumed %d of %d bytes", d.Offset(), len(tt.in))
			}
			if err != nil && !tt.corrupt {
				t.Fatalf("walkString: %v", err)
			}
			// Every truncation is an error.
			for i := 0; i < len(tt.in); i++ {
				d := newTestDecoder(tt.in[:i])
				if _, err := d.readString(nil, 0); err == nil {
					t.Fatalf("readString of %d of %d bytes: no error", i, len(tt.in))
				}
			}
		})
	}
}

func TestReadStringLimit(t *testing.T) {
	d := newTestDecoder([]byte{0x05, 'h', 'e', 'l', 'l', 'o'})
	if _, err := d.readString(nil, 4); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err %v, want ErrTooLarge", err)
	}
}

func TestTextDouble(t *testing.T) {
	tests := []struct {
		in  []byte
		err bool
	}{
		{in: []byte{253}}, {in: []byte{254}}, {in: []byte{255}},
		{in: []byte{3, '1', '.', '5'}},
		{in: []byte{0}},
		{in: []byte{5, '1'}, err: true},
		{in: []byte{}, err: true},
	}
	for _, tt := range tests {
		d := newTestDecoder(tt.in)
		err := d.walkTextDouble()
		if (err != nil) != tt.err || (err == nil && d.Offset() != int64(len(tt.in))) {
			t.Errorf("%x: err %v after %d bytes", tt.in, err, d.Offset())
		}
	}
}

func TestLZFDecompress(t *testing.T) {
	tests := []struct {
		in   []byte
		n    int
		want string
		ok   bool
	}{
		{in: lzf30a, n: 30, want: strings.Repeat("a", 30), ok: true},
		// "abcabcabc": literal "abc", back reference of 6 at distance 3.
		{in: []byte{0x02, 'a', 'b', 'c', 0x80, 0x02}, n: 9, want: "abcabcabc", ok: true},
		{in: []byte{0x02, 'a', 'b'}, n: 3},        // literal overruns input
		{in: []byte{0x00, 'a', 0x20}, n: 4},       // reference missing its offset byte
		{in: []byte{0x00, 'a', 0xe0}, n: 40},      // long reference missing its length byte
		{in: []byte{0x00, 'a', 0x20, 0x01}, n: 4}, // reference before the start
		{in: []byte{0x00, 'a', 0x20, 0x00}, n: 3}, // reference overruns output
		{in: []byte{0x01, 'a', 'b'}, n: 1},        // literal overruns output
		{in: []byte{0x1f, 'a'}, n: 32},            // literal overruns input
		{in: []byte{}, n: 1},                      // no input
		{in: []byte{0x00, 'a', 0x00, 'b'}, n: 2, want: "ab", ok: true},
	}
	for _, tt := range tests {
		out := make([]byte, tt.n)
		err := lzfDecompress(tt.in, out)
		if tt.ok != (err == nil) || (tt.ok && string(out) != tt.want) {
			t.Errorf("%x: %q %v", tt.in, out, err)
		}
	}
}

// rdbFile builds an RDB: magic, body, EOF opcode and (from version 5) the
// checksum.
func rdbFile(magic string, body []byte) []byte {
	b := append([]byte(magic), body...)
	b = append(b, opEOF)
	if v := magic[len(magic)-4:]; v >= "0005" || strings.HasPrefix(magic, "VALKEY") {
		h := crc64jones.New()
		h.Write(b)
		b = binary.LittleEndian.AppendUint64(b, h.Sum64())
	}
	return b
}

func TestHeader(t *testing.T) {
	tests := []struct {
		in      string
		version int
		err     error
	}{
		{in: "REDIS0001", version: 1},
		{in: "REDIS0009", version: 9},
		{in: "REDIS0012", version: 12},
		{in: "VALKEY080", version: 80},
		{in: "REDIS0000", err: ErrUnsupported},
		{in: "REDIS0013", err: ErrUnsupported},
		{in: "VALKEY011", err: ErrUnsupported},
		{in: "VALKEY081", err: ErrUnsupported},
		{in: "REDIS00a9"},
		{in: "REDIS+012"},
		{in: "RUBBISH00"},
		{in: "redis0009"},
		{in: "REDIS00", err: io.ErrUnexpectedEOF},
		{in: "", err: io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		in := []byte(tt.in)
		if tt.version > 0 {
			in = rdbFile(tt.in, nil)
		}
		d := NewDecoder(bytes.NewReader(in), Options{})
		_, err := d.Next()
		if tt.version > 0 {
			if err != io.EOF || d.Version() != tt.version {
				t.Errorf("%q: version %d, err %v", tt.in, d.Version(), err)
			}
			continue
		}
		if !isCorrupt(err) || (tt.err != nil && !errors.Is(err, tt.err)) {
			t.Errorf("%q: err %v, want corrupt %v", tt.in, err, tt.err)
		}
		if d.Version() != 0 {
			t.Errorf("%q: Version() = %d after a bad header", tt.in, d.Version())
		}
	}
}

func TestCRCUpdate(t *testing.T) {
	if got := crcUpdate(0, []byte("123456789")); got != 0xe9c6d914c4b8d9ca {
		t.Fatalf("crc64(123456789) = %x, Redis says e9c6d914c4b8d9ca", got)
	}
	b := make([]byte, 300)
	for i := range b {
		b[i] = byte(i*7 + i>>3)
	}
	for n := 0; n <= len(b); n++ {
		for split := 0; split <= n; split += 1 + n/5 {
			want := crc64jones.Checksum(b[:n], crc64.MakeTable(crcJonesReflected))
			if got := crcUpdate(crcUpdate(0, b[:split]), b[split:n]); got != want {
				t.Fatalf("%d bytes split at %d: %x, crc64jones says %x", n, split, got, want)
			}
		}
	}
}
