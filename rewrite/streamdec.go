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
	items, err := rdbstream.ListpackItems(lp)
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
