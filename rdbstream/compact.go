package rdbstream

import (
	"encoding/binary"
	"errors"
	"strconv"
)

// errCompact reports a ziplist or listpack whose bytes do not parse.
var errCompact = errors.New("compact list (ziplist or listpack) does not parse")

// ListpackItems returns every element of a listpack, integers as their
// decimal text. Strings are slices of lp.
func ListpackItems(lp []byte) ([][]byte, error) {
	if len(lp) < 7 {
		return nil, errCompact
	}
	b := lp[6:]
	var items [][]byte
	for len(b) > 0 && b[0] != 0xff {
		item, size, err := listpackEntry(b)
		if err != nil {
			return nil, err
		}
		if size+backlenSize(size) > len(b) {
			return nil, errCompact
		}
		items = append(items, item)
		b = b[size+backlenSize(size):]
	}
	return items, nil
}

// listpackEntry decodes the entry at the start of b and returns it with
// the size of its encoding and data (its back length not counted).
func listpackEntry(b []byte) ([]byte, int, error) {
	c := b[0]
	need := func(n int) bool { return len(b) >= n }
	switch {
	case c&0x80 == 0:
		return strconv.AppendInt(nil, int64(c&0x7f), 10), 1, nil
	case c&0xc0 == 0x80:
		n := int(c & 0x3f)
		if !need(1 + n) {
			return nil, 0, errCompact
		}
		return b[1 : 1+n], 1 + n, nil
	case c&0xe0 == 0xc0 && need(2):
		v := int64(c&0x1f)<<8 | int64(b[1])
		if v >= 1<<12 {
			v -= 1 << 13
		}
		return strconv.AppendInt(nil, v, 10), 2, nil
	case c&0xf0 == 0xe0 && need(2):
		n := int(c&0x0f)<<8 | int(b[1])
		if !need(2 + n) {
			return nil, 0, errCompact
		}
		return b[2 : 2+n], 2 + n, nil
	case c == 0xf0 && need(5):
		n := int(binary.LittleEndian.Uint32(b[1:5]))
		if n < 0 || !need(5+n) {
			return nil, 0, errCompact
		}
		return b[5 : 5+n], 5 + n, nil
	case c >= 0xf1 && c <= 0xf4:
		return listpackInt(b)
	}
	return nil, 0, errCompact
}

// listpackInt decodes the 16, 24, 32 and 64 bit integers.
func listpackInt(b []byte) ([]byte, int, error) {
	width := map[byte]int{0xf1: 2, 0xf2: 3, 0xf3: 4, 0xf4: 8}[b[0]]
	if len(b) < 1+width {
		return nil, 0, errCompact
	}
	var u uint64
	for i := width; i >= 1; i-- {
		u = u<<8 | uint64(b[i])
	}
	shift := 64 - 8*uint(width)
	v := int64(u<<shift) >> shift // sign-extend
	return strconv.AppendInt(nil, v, 10), 1 + width, nil
}

// backlenSize is the size of the back length that follows an entry of
// size bytes.
func backlenSize(size int) int {
	switch {
	case size < 128:
		return 1
	case size < 16384:
		return 2
	case size < 2097152:
		return 3
	case size < 268435456:
		return 4
	}
	return 5
}

// ZiplistItems returns every element of a ziplist, integers as their
// decimal text. Strings are slices of zl.
func ZiplistItems(zl []byte) ([][]byte, error) {
	if len(zl) < 11 {
		return nil, errCompact
	}
	b := zl[10:]
	var items [][]byte
	for len(b) > 0 && b[0] != 0xff {
		prev := 1
		if b[0] == 0xfe {
			prev = 5
		}
		if len(b) <= prev {
			return nil, errCompact
		}
		item, size, err := ziplistEntry(b[prev:])
		if err != nil {
			return nil, err
		}
		items = append(items, item)
		b = b[prev+size:]
	}
	return items, nil
}

// ziplistEntry decodes the entry (after its previous-length field) at the
// start of b and returns it with the size of its encoding and data.
func ziplistEntry(b []byte) ([]byte, int, error) {
	c := b[0]
	str := func(head, n int) ([]byte, int, error) {
		if n < 0 || len(b) < head+n {
			return nil, 0, errCompact
		}
		return b[head : head+n], head + n, nil
	}
	num := func(width int, v int64) ([]byte, int, error) {
		if len(b) < 1+width {
			return nil, 0, errCompact
		}
		return strconv.AppendInt(nil, v, 10), 1 + width, nil
	}
	switch {
	case c>>6 == 0:
		return str(1, int(c&0x3f))
	case c>>6 == 1:
		if len(b) < 2 {
			return nil, 0, errCompact
		}
		return str(2, int(c&0x3f)<<8|int(b[1]))
	case c == 0x80:
		if len(b) < 5 {
			return nil, 0, errCompact
		}
		return str(5, int(binary.BigEndian.Uint32(b[1:5])))
	case c == 0xc0 && len(b) >= 3:
		return num(2, int64(int16(binary.LittleEndian.Uint16(b[1:]))))
	case c == 0xd0 && len(b) >= 5:
		return num(4, int64(int32(binary.LittleEndian.Uint32(b[1:]))))
	case c == 0xe0 && len(b) >= 9:
		return num(8, int64(binary.LittleEndian.Uint64(b[1:])))
	case c == 0xf0 && len(b) >= 4:
		v := int64(int32(uint32(b[1])<<8|uint32(b[2])<<16|uint32(b[3])<<24)) >> 8
		return num(3, v)
	case c == 0xfe && len(b) >= 2:
		return num(1, int64(int8(b[1])))
	case c >= 0xf1 && c <= 0xfd:
		return strconv.AppendInt(nil, int64(c&0x0f)-1, 10), 1, nil
	}
	return nil, 0, errCompact
}
