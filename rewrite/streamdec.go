package rewrite

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"

	"github.com/replicant/replicant/rdbstream"
)

// Streams are decoded here rather than with hdt3213/rdb, which keeps a
// message's fields in a map (losing their order and repeated names).

// RDB types of streams: listpacks (5.0), with first id, max deleted id and
// entries added (7.0), with consumers' active time (7.2).
const (
	typeStream  = 15
	typeStream2 = 19
	typeStream3 = 21
)

type streamID struct{ ms, seq uint64 }

func (s streamID) bytes() []byte {
	return []byte(strconv.FormatUint(s.ms, 10) + "-" + strconv.FormatUint(s.seq, 10))
}

type streamMsg struct {
	id     streamID
	fields [][]byte // name, value, name, value...
}

type streamNack struct {
	id           streamID
	deliveryTime uint64
	count        uint64
	owner        string
}

type streamGroup struct {
	name        string
	lastID      streamID
	entriesRead uint64
	hasRead     bool
	consumers   []string
	pending     []streamNack
}

type streamValue struct {
	typ          byte
	msgs         []streamMsg
	lastID       streamID
	maxDeleted   streamID
	entriesAdded uint64
	groups       []streamGroup
}

var errStream = errors.New("stream value does not decode")

// streamReader cuts the parts of a stream value.
type streamReader struct {
	b   []byte
	err error
}

func (r *streamReader) len() uint64 {
	if r.err != nil {
		return 0
	}
	n, rest, err := rdbstream.CutLen(r.b)
	r.b, r.err = rest, err
	return n
}

func (r *streamReader) str() []byte {
	if r.err != nil {
		return nil
	}
	s, rest, err := rdbstream.CutString(r.b)
	r.b, r.err = rest, err
	return s
}

func (r *streamReader) raw(n int) []byte {
	if r.err != nil || len(r.b) < n {
		r.err = errStream
		return make([]byte, n)
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *streamReader) rawID() streamID {
	b := r.raw(16)
	return streamID{binary.BigEndian.Uint64(b), binary.BigEndian.Uint64(b[8:])}
}

func (r *streamReader) id() streamID { return streamID{r.len(), r.len()} }

// decodeStream reads the value of a stream of RDB type typ.
func decodeStream(typ byte, value []byte) (*streamValue, error) {
	r := &streamReader{b: value}
	s := &streamValue{typ: typ}
	for n := r.len(); n > 0 && r.err == nil; n-- {
		master := r.str()
		lp := r.str()
		if r.err == nil && len(master) != 16 {
			r.err = errStream
		}
		if r.err == nil {
			m := streamID{binary.BigEndian.Uint64(master), binary.BigEndian.Uint64(master[8:])}
			r.err = s.readListpack(m, lp)
		}
	}
	r.len() // length: the live messages, counted again from the listpacks
	s.lastID = r.id()
	if typ >= typeStream2 {
		r.id() // first id: derived
		s.maxDeleted = r.id()
		s.entriesAdded = r.len()
	}
	for n := r.len(); n > 0 && r.err == nil; n-- {
		s.groups = append(s.groups, r.group(typ))
	}
	if r.err != nil {
		return nil, fmt.Errorf("%w: %v", errStream, r.err)
	}
	return s, nil
}

func (r *streamReader) group(typ byte) streamGroup {
	g := streamGroup{name: string(r.str()), lastID: r.id()}
	if typ >= typeStream2 {
		g.entriesRead, g.hasRead = r.len(), true
	}
	for n := r.len(); n > 0 && r.err == nil; n-- {
		id := r.rawID()
		at := binary.LittleEndian.Uint64(r.raw(8))
		g.pending = append(g.pending, streamNack{id: id, deliveryTime: at, count: r.len()})
	}
	owner := map[streamID]string{}
	for n := r.len(); n > 0 && r.err == nil; n-- {
		name := string(r.str())
		r.raw(8) // seen time
		if typ >= typeStream3 {
			r.raw(8) // active time
		}
		g.consumers = append(g.consumers, name)
		for p := r.len(); p > 0 && r.err == nil; p-- {
			owner[r.rawID()] = name
		}
	}
	for i := range g.pending {
		g.pending[i].owner = owner[g.pending[i].id]
	}
	return g
}

// Flags of a stream listpack entry.
const (
	flagDeleted    = 1
	flagSameFields = 2
)

// readListpack reads the messages of one listpack: the master entry
// (count, deleted, the master fields, 0), then each entry (flags, id
// deltas, fields and values, its element count).
func (s *streamValue) readListpack(master streamID, lp []byte) error {
	items, err := listpackItems(lp)
	if err != nil {
		return err
	}
	next := func() []byte {
		if len(items) == 0 {
			err = errStream
			return []byte("0")
		}
		it := items[0]
		items = items[1:]
		return it
	}
	num := func() int64 {
		n, perr := strconv.ParseInt(string(next()), 10, 64)
		if perr != nil {
			err = perr
		}
		return n
	}
	count, deleted, nfields := num(), num(), num()
	if nfields < 0 || nfields > int64(len(items)) {
		return errStream
	}
	masterFields := make([][]byte, nfields)
	for i := range masterFields {
		masterFields[i] = next()
	}
	next() // the master entry's terminator
	for e := int64(0); e < count+deleted && err == nil; e++ {
		flags := num()
		id := streamID{uint64(int64(master.ms) + num()), uint64(int64(master.seq) + num())}
		var fields [][]byte
		if flags&flagSameFields != 0 {
			for _, f := range masterFields {
				fields = append(fields, f, next())
			}
		} else {
			for n := num(); n > 0 && err == nil; n-- {
				fields = append(fields, next(), next())
			}
		}
		next() // element count
		if flags&flagDeleted == 0 {
			s.msgs = append(s.msgs, streamMsg{id: id, fields: fields})
		}
	}
	return err
}

// listpackItems returns every element of a listpack, integers as their
// decimal text.
func listpackItems(lp []byte) ([][]byte, error) {
	if len(lp) < 7 {
		return nil, errStream
	}
	b := lp[6:]
	var items [][]byte
	for len(b) > 0 && b[0] != 0xff {
		item, size, err := listpackEntry(b)
		if err != nil {
			return nil, err
		}
		if size+backlenSize(size) > len(b) {
			return nil, errStream
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
			return nil, 0, errStream
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
			return nil, 0, errStream
		}
		return b[2 : 2+n], 2 + n, nil
	case c == 0xf0 && need(5):
		n := int(binary.LittleEndian.Uint32(b[1:5]))
		if n < 0 || !need(5+n) {
			return nil, 0, errStream
		}
		return b[5 : 5+n], 5 + n, nil
	case c >= 0xf1 && c <= 0xf4:
		return listpackInt(b)
	}
	return nil, 0, errStream
}

// listpackInt decodes the 16, 24, 32 and 64 bit integers.
func listpackInt(b []byte) ([]byte, int, error) {
	width := map[byte]int{0xf1: 2, 0xf2: 3, 0xf3: 4, 0xf4: 8}[b[0]]
	if len(b) < 1+width {
		return nil, 0, errStream
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
