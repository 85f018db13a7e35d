package rdbstream

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// A big value is one too large to hold in memory as a payload: a list,
// set, hash or sorted set stored element by element (not in one compact
// blob) with more than Options.BigCount elements, or a plain string of
// more than Options.BigString bytes. Its Entry has Big set and no
// Payload; Elements reads it from the stream in chunks.

// Chunk bounds of Elements.
const (
	bigChunkItems = 1024
	bigChunkBytes = 1 << 20
)

// big is the state of the big value being read.
type big struct {
	t     byte
	left  uint64 // elements (nodes, for quicklists; bytes, for strings) not yet read
	arena []byte
	ends  []int
	items [][]byte
}

// bigCandidate reports the types stored element by element, whose count
// comes first.
func bigCandidate(t byte) bool {
	switch t {
	case typeList, typeSet, typeZset, typeHash, typeZset2, typeListQuicklist, typeListQuicklist2:
		return true
	}
	return false
}

// bigNodeItems is how many elements a quicklist node counts for against
// Options.BigCount.
const bigNodeItems = 128

// startValue begins capturing the value of type t, and reads its count or
// string header. It returns true when the value is big: capture stops and
// d.big holds what is left to read.
func (d *Decoder) startValue(t byte, off int64) (bool, error) {
	switch {
	case t == typeString && d.opts.BigString > 0:
		clen, _, kind, err := d.stringHead()
		if err != nil {
			return false, err
		}
		if kind == strPlain && int64(clen) > d.opts.BigString {
			d.big = big{t: t, left: clen}
			return true, nil
		}
		return false, d.skip(clen)
	case bigCandidate(t) && d.opts.BigCount > 0:
		n, err := d.plainLen()
		if err != nil {
			return false, err
		}
		count := n
		if t == typeListQuicklist || t == typeListQuicklist2 {
			count = n * bigNodeItems
		}
		if int64(count) > d.opts.BigCount {
			d.big = big{t: t, left: n}
			return true, nil
		}
		return false, d.walkElems(t, n)
	}
	return false, d.walk(t, off)
}

// walkElems consumes n elements of a value of type t whose count is read.
func (d *Decoder) walkElems(t byte, n uint64) error {
	for ; n > 0; n-- {
		var err error
		switch t {
		case typeList, typeSet, typeListQuicklist:
			err = d.walkString()
		case typeHash:
			err = d.walkStrings2()
		case typeZset:
			if err = d.walkString(); err == nil {
				err = d.walkTextDouble()
			}
		case typeZset2:
			if err = d.walkString(); err == nil {
				err = d.skip(binaryDoubleLen)
			}
		case typeListQuicklist2:
			err = d.walkQuicklist2Node()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// finishBig consumes what the caller of Elements left of a big value.
func (d *Decoder) finishBig() error {
	b := &d.big
	if b.left == 0 {
		return nil
	}
	n := b.left
	b.left = 0
	if b.t == typeString {
		return d.skip(n)
	}
	return d.walkElems(b.t, n)
}

// Elements reads a big value (Entry.Big) from the stream and calls fn
// with its elements in chunks of at most 1024 elements or about 1 MiB, in
// order: a list's elements, a set's members, a hash's fields and values,
// a sorted set's members and scores (as text), a string's bytes. The
// slices are valid during fn only. It may be called once, before the next
// Next; what it does not read, Next skips.
func (e *Entry) Elements(fn func(items [][]byte) error) error {
	d := e.dec
	if !e.Big || d == nil {
		return errors.New("rdbstream: Elements of an entry that is not big")
	}
	for d.big.left > 0 {
		if err := d.readChunk(); err != nil {
			return d.wrap(err)
		}
		if err := fn(d.big.items); err != nil { // fn may reorder the slice
			return err
		}
	}
	return nil
}

// readChunk reads the next chunk of the big value into d.big.items.
func (d *Decoder) readChunk() error {
	b := &d.big
	b.arena, b.ends = b.arena[:0], b.ends[:0]
	if b.t == typeString {
		n := min(b.left, bigChunkBytes)
		var err error
		if b.arena, err = d.appendN(b.arena, n); err != nil {
			return err
		}
		b.left -= n
		b.ends = append(b.ends, len(b.arena))
	}
	for b.left > 0 && b.t != typeString && len(b.ends) < bigChunkItems && len(b.arena) < bigChunkBytes {
		if err := d.readElement(b); err != nil {
			return err
		}
		b.left--
	}
	b.items = b.items[:0]
	start := 0
	for _, end := range b.ends {
		b.items = append(b.items, b.arena[start:end])
		start = end
	}
	return nil
}

// readElement appends one element (or pair, or node's elements) to the
// arena.
func (d *Decoder) readElement(b *big) error {
	str := func() error {
		var err error
		b.arena, err = d.readString(b.arena, d.opts.MaxPayload)
		b.ends = append(b.ends, len(b.arena))
		return err
	}
	switch b.t {
	case typeList, typeSet:
		return str()
	case typeHash:
		if err := str(); err != nil {
			return err
		}
		return str()
	case typeZset, typeZset2:
		if err := str(); err != nil {
			return err
		}
		return d.readScore(b)
	case typeListQuicklist:
		return d.readNode(b, false)
	case typeListQuicklist2:
		off := d.Offset()
		c, err := d.plainLen()
		if err != nil {
			return err
		}
		switch c {
		case quicklistNodePlain:
			return str()
		case quicklistNodePacked:
			return d.readNode(b, true)
		}
		return d.corrupt(off, fmt.Errorf("bad quicklist container %d", c))
	}
	return nil
}

// readScore appends a sorted set score as text: binary (type 5) or text
// (type 3).
func (d *Decoder) readScore(b *big) error {
	var f float64
	if b.t == typeZset2 {
		p, err := d.readN(binaryDoubleLen)
		if err != nil {
			return err
		}
		f = math.Float64frombits(binary.LittleEndian.Uint64(p))
	} else {
		n, err := d.readByte()
		if err != nil {
			return err
		}
		switch n {
		case 253:
			f = math.NaN()
		case 254:
			f = math.Inf(1)
		case 255:
			f = math.Inf(-1)
		default:
			p, err := d.readN(int(n))
			if err != nil {
				return err
			}
			if f, err = strconv.ParseFloat(string(p), 64); err != nil {
				return d.corrupt(d.Offset(), err)
			}
		}
	}
	b.arena = AppendScore(b.arena, f)
	b.ends = append(b.ends, len(b.arena))
	return nil
}

// readNode appends the elements of a quicklist node: a ziplist, or a
// listpack when packed.
func (d *Decoder) readNode(b *big, listpack bool) error {
	off := d.Offset()
	var err error
	d.value, err = d.readString(d.value[:0], d.opts.MaxPayload)
	if err != nil {
		return err
	}
	var items [][]byte
	if listpack {
		items, err = ListpackItems(d.value)
	} else {
		items, err = ZiplistItems(d.value)
	}
	if err != nil {
		return d.corrupt(off, err)
	}
	for _, it := range items {
		b.arena = append(b.arena, it...)
		b.ends = append(b.ends, len(b.arena))
	}
	return nil
}
