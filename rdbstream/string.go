package rdbstream

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
)

// ErrNotString is returned by Entry.StringValue for an entry that is not a
// string key (Kind KindKey, Type 0).
var ErrNotString = errors.New("not a string key")

// payloadTrailer is the size of a payload's version and CRC64.
const payloadTrailer = 2 + 8

// maxKeptValue bounds the buffer StringValue keeps from one key to the
// next; a larger value is decoded into memory of its own.
const maxKeptValue = 1 << 20

// StringValue returns the value of a string key (Type 0) decoded from its
// payload, byte for byte what GET returns on the source:
//
//   - a plain string is returned as a slice of e.Payload, with no copy;
//   - an integer (8, 16 or 32 bits) is written as its decimal text, the
//     text Redis encoded it from;
//   - LZF data is decompressed.
//
// Like every slice of an Entry, the result is valid until the next call to
// Decoder.Next, which reuses its memory. Nothing is decoded until
// StringValue is called, and Payload stays ready for RESTORE either way.
func (e *Entry) StringValue() ([]byte, error) {
	if !e.isString() {
		return nil, fmt.Errorf("rdbstream: key %q: %w", e.Key, ErrNotString)
	}
	var dst []byte
	if e.scratch != nil {
		dst = (*e.scratch)[:0]
	}
	v, decoded, err := decodeString(e.Payload[1:len(e.Payload)-payloadTrailer], dst)
	if err != nil {
		return nil, fmt.Errorf("rdbstream: key %q: string value: %w", e.Key, err)
	}
	if decoded && e.scratch != nil && cap(v) <= maxKeptValue {
		*e.scratch = v[:0] // keep the buffer, grown or not, for the next key
	}
	return v, nil
}

// StringLen returns the length of the value StringValue returns, read from
// the string's header: an LZF string is not decompressed. It lets a caller
// choose how to write a large value before paying for its decoding; only
// StringValue checks the value's bytes.
func (e *Entry) StringLen() (int64, error) {
	if !e.isString() {
		return 0, fmt.Errorf("rdbstream: key %q: %w", e.Key, ErrNotString)
	}
	b := e.Payload[1 : len(e.Payload)-payloadTrailer]
	n, enc, rest, err := cutLen(b)
	switch {
	case err != nil:
	case !enc:
		return int64(min(n, maxStringLen)), nil
	case n == 3: // LZF: compressed length, then uncompressed length
		if _, _, rest, err = cutLen(rest); err == nil {
			if n, _, _, err = cutLen(rest); err == nil {
				return int64(min(n, maxStringLen)), nil
			}
		}
	default:
		var num [20]byte
		var v []byte
		if v, _, err = decodeString(b, num[:0]); err == nil {
			return int64(len(v)), nil
		}
	}
	return 0, fmt.Errorf("rdbstream: key %q: string length: %w", e.Key, err)
}

// isString reports whether e is a string key with a payload long enough
// to hold one.
func (e *Entry) isString() bool {
	return e.Kind == KindKey && e.Type == typeString && len(e.Payload) >= 1+1+payloadTrailer
}

// errStringBytes reports a string value whose bytes do not match its header.
var errStringBytes = errors.New("string encoding does not match its length")

// decodeString decodes b, which must hold exactly one RDB string. A plain
// string is returned as a slice of b (decoded false); other encodings are
// appended to dst (decoded true).
func decodeString(b, dst []byte) (v []byte, decoded bool, err error) {
	n, enc, b, err := cutLen(b)
	if err != nil {
		return nil, false, err
	}
	if !enc {
		if uint64(len(b)) != n {
			return nil, false, errStringBytes
		}
		return b, false, nil
	}
	switch n {
	case 0, 1, 2:
		if len(b) != 1<<n {
			return nil, false, errStringBytes
		}
		v, err = appendIntString(dst, b)
	case 3:
		v, err = appendLZF(dst, b)
	default:
		err = fmt.Errorf("unknown string encoding %d", n)
	}
	return v, err == nil, err
}

// appendIntString appends the decimal text of the little-endian integer b
// of 1, 2 or 4 bytes.
func appendIntString(dst, b []byte) ([]byte, error) {
	var v int64
	switch len(b) {
	case 1:
		v = int64(int8(b[0]))
	case 2:
		v = int64(int16(binary.LittleEndian.Uint16(b)))
	case 4:
		v = int64(int32(binary.LittleEndian.Uint32(b)))
	default:
		return nil, errStringBytes
	}
	return strconv.AppendInt(dst, v, 10), nil
}

// appendLZF decompresses b (compressed length, uncompressed length, data)
// and appends the result to dst.
func appendLZF(dst, b []byte) ([]byte, error) {
	clen, enc1, b, err := cutLen(b)
	if err != nil {
		return nil, err
	}
	ulen, enc2, b, err := cutLen(b)
	if err != nil {
		return nil, err
	}
	if enc1 || enc2 || clen != uint64(len(b)) || ulen == 0 || (ulen+lzfMaxRatio-1)/lzfMaxRatio > clen {
		return nil, fmt.Errorf("bad LZF lengths %d/%d for %d bytes", clen, ulen, len(b))
	}
	start := len(dst)
	dst = append(dst, make([]byte, ulen)...)
	if err := lzfDecompress(b, dst[start:]); err != nil {
		return nil, err
	}
	return dst, nil
}

// cutLen parses an RDB length at the start of b, as Decoder.readLen does,
// and returns it with the bytes that follow.
func cutLen(b []byte) (n uint64, enc bool, rest []byte, err error) {
	if len(b) == 0 {
		return 0, false, nil, errStringBytes
	}
	switch c := b[0]; {
	case c>>6 == 0:
		return uint64(c & 0x3f), false, b[1:], nil
	case c>>6 == 1 && len(b) >= 2:
		return uint64(c&0x3f)<<8 | uint64(b[1]), false, b[2:], nil
	case c>>6 == 3:
		return uint64(c & 0x3f), true, b[1:], nil
	case c == 0x80 && len(b) >= 5:
		return uint64(binary.BigEndian.Uint32(b[1:])), false, b[5:], nil
	case c == 0x81 && len(b) >= 9:
		return binary.BigEndian.Uint64(b[1:]), false, b[9:], nil
	}
	return 0, false, nil, errStringBytes
}

// CutString decodes the RDB string at the start of b (plain, integer or
// LZF encoded) and returns it with the bytes after it. A plain string is
// a slice of b.
func CutString(b []byte) (s, rest []byte, err error) {
	n, enc, r, err := cutLen(b)
	if err != nil {
		return nil, nil, err
	}
	if !enc {
		if uint64(len(r)) < n {
			return nil, nil, errStringBytes
		}
		return r[:n], r[n:], nil
	}
	size := 0
	switch n {
	case 0, 1, 2:
		size = 1 << n
	case 3:
		clen, _, r2, err := cutLen(r)
		if err != nil {
			return nil, nil, err
		}
		_, _, r3, err := cutLen(r2)
		if err != nil {
			return nil, nil, err
		}
		size = len(r) - len(r3) + int(min(clen, uint64(len(r3))+1))
	default:
		return nil, nil, fmt.Errorf("unknown string encoding %d", n)
	}
	if size > len(r) {
		return nil, nil, errStringBytes
	}
	v, _, err := decodeString(b[:len(b)-len(r)+size], nil)
	return v, r[size:], err
}

// CutLen decodes the RDB length at the start of b and returns it with the
// bytes after it; an encoded (special) length is an error.
func CutLen(b []byte) (n uint64, rest []byte, err error) {
	n, enc, rest, err := cutLen(b)
	if err == nil && enc {
		err = errStringBytes
	}
	return n, rest, err
}
