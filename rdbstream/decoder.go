package rdbstream

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"sync"
	"time"
)

// RDB opcodes (rdb.h).
const (
	opSlotImport    = 243 // Valkey 9: slot import state
	opSlotInfo      = 244 // 7.4 cluster mode: slot size hints
	opFunction2     = 245 // function library
	opFunctionPreGA = 246 // 7.0 release candidates
	opModuleAux     = 247
	opIdle          = 248
	opFreq          = 249
	opAux           = 250
	opResizeDB      = 251
	opExpireTimeMs  = 252
	opExpireTime    = 253
	opSelectDB      = 254
	opEOF           = 255
)

// Supported header versions.
const (
	minRedisVersion  = 1
	maxRedisVersion  = 12
	minValkeyVersion = 80
	maxValkeyVersion = 80
)

// Decoder reads an RDB stream and yields one Entry per key or function
// library. It reads its source through its own 256 KiB buffer and never
// asks it for bytes beyond those the RDB needs next. A Decoder is not safe
// for concurrent use.
type Decoder struct {
	src   io.Reader
	buf   []byte
	r, w  int   // buf[r:w] is buffered, unread
	base  int64 // stream offset of buf[0]
	rerr  error // sticky error from src
	empty int   // consecutive empty reads

	crc     uint64 // whole-file checksum of buf before crcFrom
	crcFrom int

	capturing bool // bytes consumed from capFrom on belong to payload
	capFrom   int
	payload   []byte

	opts Options
	now  func() time.Time

	header  bool
	version int
	valkey  bool
	err     error // sticky result of Next

	db      int
	key     []byte
	inKey   bool // key holds the key being decoded
	code    []byte
	lzf     []byte
	value   []byte // StringValue's buffer for int and LZF strings
	entry   Entry
	expired int64
	aux     map[string]string
	scripts []string
	big     big // the big value being read
}

// NewDecoder returns a Decoder reading the RDB from r. The reader should
// end where the RDB ends; the Decoder reads nothing after the checksum.
func NewDecoder(r io.Reader, opts Options) *Decoder {
	d := &Decoder{
		src:  r,
		buf:  *bufPool.Get().(*[]byte),
		opts: opts,
		now:  opts.Now,
		aux:  make(map[string]string),
	}
	if d.now == nil {
		d.now = time.Now
	}
	return d
}

// Offset returns the number of RDB bytes consumed so far.
func (d *Decoder) Offset() int64 { return d.base + int64(d.r) }

// Version returns the RDB version from the header, 0 before it is read.
// It is also the version written into payloads: 80 for "VALKEY080".
func (d *Decoder) Version() int { return d.version }

// Expired returns the number of keys skipped because their expiry had
// passed.
func (d *Decoder) Expired() int64 { return d.expired }

// Aux returns a copy of the aux fields seen so far (redis-ver, repl-id,
// repl-offset, ...). When a field repeats, the last value wins; see
// Scripts for the repeated "lua" field.
func (d *Decoder) Aux() map[string]string { return maps.Clone(d.aux) }

// Scripts returns the Lua scripts seen so far, one per "lua" aux field,
// in order. Redis before 7.0 saves its script cache this way in RDBs made
// for replication, so that EVALSHA keeps working on the replica.
func (d *Decoder) Scripts() []string { return append([]string(nil), d.scripts...) }

// Next returns the next entry. Keys whose expiry has passed are skipped and
// counted (see Expired). After the EOF opcode and a matching checksum, Next
// returns io.EOF. A malformed or truncated RDB yields a *CorruptError; an
// error from the reader is returned wrapped. Errors are sticky.
//
// Entries are returned as they are decoded, before the whole-file checksum
// at the end can be checked.
func (d *Decoder) Next() (*Entry, error) {
	if d.err != nil {
		return nil, d.err
	}
	err := d.finishBig()
	var e *Entry
	if err == nil {
		e, err = d.next()
	}
	if err == nil {
		return e, nil
	}
	if err == errEnd {
		d.err = io.EOF
	} else {
		d.err = d.wrap(err)
	}
	d.release()
	return nil, d.err
}

// bufPool recycles read buffers of finished Decoders.
var bufPool = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}

// release returns the read buffer once Next can no longer read. Entries
// never point into it.
func (d *Decoder) release() {
	if d.buf != nil {
		d.base += int64(d.r)
		d.r, d.w = 0, 0
		b := d.buf
		d.buf = nil
		bufPool.Put(&b)
	}
}

// errEnd signals a clean end of the RDB inside the decoder.
var errEnd = errors.New("end of RDB")

// wrap turns errors from the source into a *CorruptError (truncation) or
// a read error naming the offset.
func (d *Decoder) wrap(err error) error {
	var ce *CorruptError
	if errors.As(err, &ce) {
		return err
	}
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		// The offset is where the input ended.
		return d.corrupt(d.base+int64(d.w), io.ErrUnexpectedEOF)
	}
	return fmt.Errorf("rdbstream: read at offset %d: %w", d.Offset(), err)
}

// corrupt builds a *CorruptError at off, naming the current key if any.
func (d *Decoder) corrupt(off int64, err error) error {
	e := &CorruptError{Offset: off, Err: err}
	if d.inKey {
		e.Key = string(d.key)
	}
	return e
}

// readHeader reads and checks the magic and version.
func (d *Decoder) readHeader() error {
	p, err := d.readN(9)
	if err != nil {
		return err
	}
	var digits []byte
	switch {
	case bytes.HasPrefix(p, []byte("REDIS")):
		digits = p[5:]
	case bytes.HasPrefix(p, []byte("VALKEY")):
		digits = p[6:]
		d.valkey = true
	default:
		return d.corrupt(0, fmt.Errorf("bad magic %q", p))
	}
	v := 0
	for _, c := range digits {
		if c < '0' || c > '9' {
			return d.corrupt(0, fmt.Errorf("bad version %q", digits))
		}
		v = v*10 + int(c-'0')
	}
	lo, hi := minRedisVersion, maxRedisVersion
	if d.valkey {
		lo, hi = minValkeyVersion, maxValkeyVersion
	}
	if v < lo || v > hi {
		return d.corrupt(0, fmt.Errorf("%w: RDB version %d (header %q)", ErrUnsupported, v, p))
	}
	d.version = v
	d.header = true
	return nil
}

// keyMeta is what the opcodes before a key say about it.
type keyMeta struct {
	expireAt  int64
	hasExpire bool
	idle      int64
	freq      int
}

// next decodes opcodes until it can return an entry or the end.
func (d *Decoder) next() (*Entry, error) {
	if !d.header {
		if err := d.readHeader(); err != nil {
			return nil, err
		}
	}
	m := keyMeta{idle: -1, freq: -1}
	for {
		d.inKey = false
		off := d.Offset()
		t, err := d.readByte()
		if err != nil {
			return nil, err
		}
		switch t {
		case opEOF:
			return nil, d.readTrailer()
		case opSelectDB:
			n, err := d.plainLen()
			if err != nil {
				return nil, err
			}
			if n > math.MaxInt32 {
				return nil, d.corrupt(off, fmt.Errorf("bad db number %d", n))
			}
			d.db = int(n)
		case opExpireTime:
			p, err := d.readN(4)
			if err != nil {
				return nil, err
			}
			m.expireAt = int64(int32(binary.LittleEndian.Uint32(p))) * 1000
			m.hasExpire = true
		case opExpireTimeMs:
			p, err := d.readN(8)
			if err != nil {
				return nil, err
			}
			m.expireAt = int64(binary.LittleEndian.Uint64(p))
			m.hasExpire = true
		case opResizeDB:
			err = d.lens(2)
		case opAux:
			err = d.readAux()
		case opFreq:
			var b byte
			b, err = d.readByte()
			m.freq = int(b)
		case opIdle:
			var n uint64
			n, err = d.plainLen()
			m.idle = int64(min(n, math.MaxInt64))
		case opModuleAux:
			err = d.skipModuleAux(off)
		case opFunctionPreGA:
			return nil, d.corrupt(off, fmt.Errorf("%w: opcode 246 (FUNCTION, Redis 7.0 release-candidate format)", ErrUnsupported))
		case opFunction2:
			return d.readFunction()
		case opSlotInfo:
			err = d.lens(3)
		case opSlotImport:
			if !d.valkey {
				return nil, d.corrupt(off, fmt.Errorf("%w: opcode 243 in a Redis RDB", ErrUnsupported))
			}
			err = d.skipSlotImport()
		default:
			e, err := d.readKey(t, off, m)
			if err != nil || e != nil {
				return e, err
			}
			m = keyMeta{idle: -1, freq: -1}
		}
		if err != nil {
			return nil, err
		}
	}
}

// readTrailer checks the checksum after the EOF opcode.
func (d *Decoder) readTrailer() error {
	d.flushCRC()
	if d.version >= 5 {
		got := d.crc
		off := d.Offset()
		p, err := d.readN(8)
		if err != nil {
			return err
		}
		if want := binary.LittleEndian.Uint64(p); want != 0 && want != got {
			return d.corrupt(off, fmt.Errorf("%w: RDB says %016x, data gives %016x", ErrChecksum, want, got))
		}
	}
	return errEnd
}

// readAux reads an aux field.
func (d *Decoder) readAux() error {
	var err error
	if d.code, err = d.readString(d.code[:0], d.opts.MaxPayload); err != nil {
		return err
	}
	k := string(d.code)
	if d.code, err = d.readString(d.code[:0], d.opts.MaxPayload); err != nil {
		return err
	}
	v := string(d.code)
	d.aux[k] = v
	if k == "lua" {
		d.scripts = append(d.scripts, v)
	}
	return nil
}

// readFunction reads a FUNCTION2 library.
func (d *Decoder) readFunction() (*Entry, error) {
	var err error
	if d.code, err = d.readString(d.code[:0], d.opts.MaxPayload); err != nil {
		return nil, err
	}
	d.entry = Entry{Kind: KindFunction, DB: d.db, Idle: -1, Freq: -1, Code: d.code}
	return &d.entry, nil
}

// skipModuleAux skips module aux data: the module id, the "when" field
// (itself an UINT module opcode), then module opcodes up to EOF.
func (d *Decoder) skipModuleAux(off int64) error {
	if _, err := d.plainLen(); err != nil {
		return err
	}
	op, err := d.plainLen()
	if err != nil {
		return err
	}
	if op != moduleOpUint {
		return d.corrupt(off, fmt.Errorf("module aux: bad when opcode %d", op))
	}
	if _, err := d.plainLen(); err != nil {
		return err
	}
	return d.walkModuleOps()
}

// skipSlotImport skips Valkey's slot import state: a job name and slot
// ranges.
func (d *Decoder) skipSlotImport() error {
	if err := d.walkString(); err != nil {
		return err
	}
	n, err := d.plainLen()
	if err != nil {
		return err
	}
	for ; n > 0; n-- {
		if err := d.lens(2); err != nil {
			return err
		}
	}
	return nil
}

// readKey reads the key and value of type t found at off. It returns a
// nil entry when the key has expired.
func (d *Decoder) readKey(t byte, off int64, m keyMeta) (*Entry, error) {
	if !d.knownType(t) {
		return nil, d.corrupt(off, fmt.Errorf("unknown value type or opcode %d", t))
	}
	var err error
	if d.key, err = d.readString(d.key[:0], d.opts.MaxPayload); err != nil {
		return nil, err
	}
	d.inKey = true
	if m.hasExpire && (m.expireAt <= 0 || m.expireAt <= d.now().UnixMilli()) {
		if err := d.walk(t, off); err != nil {
			return nil, err
		}
		d.expired++
		return nil, nil
	}
	d.payload = append(d.payload[:0], t)
	d.capturing, d.capFrom = true, d.r
	isBig, err := d.startValue(t, off)
	if err == nil && !isBig {
		err = d.flushCapture()
	}
	d.capturing = false
	if err != nil {
		return nil, err
	}
	if isBig {
		d.entry = Entry{Kind: KindKey, DB: d.db, Key: d.key, Type: t, Idle: m.idle, Freq: m.freq, Big: true, dec: d}
		if m.hasExpire {
			d.entry.ExpireAt = m.expireAt
		}
		return &d.entry, nil
	}
	d.payload = binary.LittleEndian.AppendUint16(d.payload, uint16(d.version))
	d.payload = binary.LittleEndian.AppendUint64(d.payload, crcUpdate(0, d.payload))
	d.entry = Entry{
		Kind:    KindKey,
		DB:      d.db,
		Key:     d.key,
		Type:    t,
		Idle:    m.idle,
		Freq:    m.freq,
		Payload: d.payload,
		scratch: &d.value,
	}
	if m.hasExpire {
		d.entry.ExpireAt = m.expireAt
	}
	return &d.entry, nil
}
