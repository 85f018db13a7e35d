package rewrite

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strconv"

	"github.com/hdt3213/rdb/core"
	"github.com/hdt3213/rdb/model"

	"github.com/replicant/replicant/rdbstream"
)

// Target says what the target can represent.
type Target struct {
	Streams     bool // streams (Redis 5.0+)
	Streams7    bool // XSETID ENTRIESADDED/MAXDELETEDID, XGROUP CREATE ENTRIESREAD (7.0+)
	Consumers   bool // XGROUP CREATECONSUMER (6.2+)
	FieldExpiry bool // HPEXPIREAT (7.4+)
}

// TargetOf says what a Redis of the given version ("7.0.15") represents.
func TargetOf(version string) Target {
	major, minor := parseVersion(version)
	at := func(ma, mi int) bool { return major > ma || major == ma && minor >= mi }
	return Target{Streams: at(5, 0), Streams7: at(7, 0), Consumers: at(6, 2), FieldExpiry: at(7, 4)}
}

// RDBVersion is the RDB version a Redis of the given version writes, and
// the newest whose DUMP payloads it takes.
func RDBVersion(version string) int {
	major, minor := parseVersion(version)
	switch v := major*100 + minor; {
	case v >= 704:
		return 12
	case v >= 702:
		return 11
	case v >= 700:
		return 10
	case v >= 500:
		return 9
	case v >= 400:
		return 8
	case v >= 302:
		return 7
	default:
		return 6
	}
}

func parseVersion(v string) (major, minor int) {
	var rest string
	if i := bytes.IndexByte([]byte(v), '.'); i >= 0 {
		major, _ = strconv.Atoi(v[:i])
		rest = v[i+1:]
	}
	if i := bytes.IndexByte([]byte(rest), '.'); i >= 0 {
		rest = rest[:i]
	}
	minor, _ = strconv.Atoi(rest)
	return major, minor
}

// Options bound each command.
type Options struct {
	Target   Target
	MaxArgs  int // elements (members, fields, pairs) per command; default 512
	MaxBytes int // bytes of arguments per command; default 1 MiB
	// DropFieldTTL copies a hash with field TTLs to a target without them
	// (before 7.4) as its fields alone, instead of refusing it; each field
	// whose TTL is left out is counted by FieldTTLsDropped.
	DropFieldTTL     bool
	FieldTTLsDropped func(n int)
}

func (o Options) withDefaults() Options {
	if o.MaxArgs <= 0 {
		o.MaxArgs = 512
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 1 << 20
	}
	return o
}

// UnrepresentableError says why a key cannot be rebuilt on the target.
type UnrepresentableError struct {
	Key    string
	Reason string
}

func (e *UnrepresentableError) Error() string {
	return fmt.Sprintf("key %q cannot be rebuilt on the target: %s", e.Key, e.Reason)
}

// ErrPayload is wrapped by the error of a payload that does not decode.
var ErrPayload = errors.New("DUMP payload does not decode")

// Key emits the commands that make key hold the value of payload (a DUMP
// payload: type, value, RDB version, CRC64), expiring at expireAtMs (Unix
// ms; 0: never). The first command is DEL key.
func Key(key, payload []byte, expireAtMs int64, o Options, emit func(args [][]byte) error) error {
	if !rdbstream.ValidPayload(payload) { // the decoders trust the lengths inside
		return fmt.Errorf("%w: bad checksum", ErrPayload)
	}
	o = o.withDefaults()
	e := &emitter{key: key, o: o, emit: emit}
	var write func() error
	if len(payload) > 10 && isStream(payload[0]) {
		if !o.Target.Streams {
			return &UnrepresentableError{Key: string(key), Reason: "streams need Redis 5.0"}
		}
		s, err := decodeStream(payload[0], payload[1:len(payload)-10])
		if err != nil {
			return fmt.Errorf("%w: %v", ErrPayload, err)
		}
		write = func() error { return e.stream(s) }
	} else if len(payload) > 10 && isList(payload[0]) {
		items, err := decodeList(payload[0], payload[1:len(payload)-10])
		if err != nil {
			return fmt.Errorf("%w: %v", ErrPayload, err)
		}
		write = func() error { return e.chunks("RPUSH", items, 1) }
	} else {
		obj, err := decode(key, payload)
		if err != nil {
			return err
		}
		if err := representable(obj, o); err != nil {
			return err
		}
		write = func() error { return e.value(obj) }
	}
	if err := e.cmd("DEL"); err != nil {
		return err
	}
	if err := write(); err != nil {
		return err
	}
	if expireAtMs > 0 {
		return e.cmd("PEXPIREAT", []byte(strconv.FormatInt(expireAtMs, 10)))
	}
	return nil
}

// decode reads the payload's value with hdt3213/rdb, framed as an RDB file
// of one key.
func decode(key, payload []byte) (model.RedisObject, error) {
	if len(payload) < 11 {
		return nil, fmt.Errorf("%w: %d bytes", ErrPayload, len(payload))
	}
	n := len(payload)
	version := int(binary.LittleEndian.Uint16(payload[n-10 : n-8]))
	var buf bytes.Buffer
	if version >= 80 {
		fmt.Fprintf(&buf, "VALKEY%03d", version)
	} else {
		fmt.Fprintf(&buf, "REDIS%04d", version)
	}
	buf.WriteByte(payload[0])
	writeString(&buf, key)
	buf.Write(payload[1 : n-10])
	buf.WriteByte(0xff)
	buf.Write(make([]byte, 8))
	var obj model.RedisObject
	err := core.NewDecoder(&buf).Parse(func(o model.RedisObject) bool {
		obj = o
		return false
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPayload, err)
	}
	if obj == nil {
		return nil, fmt.Errorf("%w: no value", ErrPayload)
	}
	return obj, nil
}

// writeString writes an RDB length-prefixed string.
func writeString(buf *bytes.Buffer, s []byte) {
	switch n := len(s); {
	case n < 1<<6:
		buf.WriteByte(byte(n))
	case n < 1<<14:
		buf.WriteByte(0x40 | byte(n>>8))
		buf.WriteByte(byte(n))
	default:
		buf.WriteByte(0x80)
		binary.Write(buf, binary.BigEndian, uint32(n))
	}
	buf.Write(s)
}

func representable(obj model.RedisObject, o Options) error {
	reason := ""
	switch v := obj.(type) {
	case *model.HashObject:
		if fieldTTLs(v) > 0 && !o.Target.FieldExpiry && !o.DropFieldTTL {
			reason = "hash field expiries need Redis 7.4 (--drop-field-ttl copies the fields without them)"
		}
	case *model.StringObject, *model.ListObject, *model.SetObject, *model.ZSetObject:
	default:
		reason = "a " + obj.GetType() + " value (" + obj.GetEncoding() + ") has no plain commands"
	}
	if reason != "" {
		return &UnrepresentableError{Key: obj.GetKey(), Reason: reason}
	}
	return nil
}

// emitter sends commands on one key, in bounded chunks.
type emitter struct {
	key  []byte
	o    Options
	emit func(args [][]byte) error
}

func (e *emitter) cmd(name string, args ...[]byte) error {
	return e.emit(append([][]byte{[]byte(name), e.key}, args...))
}

// chunks sends name key items..., items grouped width at a time (a pair
// is two items), in commands under the bounds.
func (e *emitter) chunks(name string, items [][]byte, width int) error {
	var batch [][]byte
	size := 0
	for i := 0; i < len(items); i += width {
		group := items[i : i+width]
		for _, it := range group {
			size += len(it)
		}
		batch = append(batch, group...)
		if len(batch)/width >= e.o.MaxArgs || size >= e.o.MaxBytes {
			if err := e.cmd(name, batch...); err != nil {
				return err
			}
			batch, size = batch[:0], 0
		}
	}
	if len(batch) > 0 {
		return e.cmd(name, batch...)
	}
	return nil
}

func (e *emitter) value(obj model.RedisObject) error {
	switch v := obj.(type) {
	case *model.StringObject:
		return e.str(v.Value)
	case *model.ListObject:
		return e.chunks("RPUSH", v.Values, 1)
	case *model.SetObject:
		return e.chunks("SADD", v.Members, 1)
	case *model.HashObject:
		return e.hash(v)
	case *model.ZSetObject:
		return e.zset(v)
	}
	return nil
}

// str sends SET, then APPEND for the rest of a value over MaxBytes.
func (e *emitter) str(v []byte) error {
	first := min(len(v), e.o.MaxBytes)
	if err := e.cmd("SET", v[:first]); err != nil {
		return err
	}
	for off := first; off < len(v); off += e.o.MaxBytes {
		if err := e.cmd("APPEND", v[off:min(len(v), off+e.o.MaxBytes)]); err != nil {
			return err
		}
	}
	return nil
}

func (e *emitter) hash(h *model.HashObject) error {
	fields := make([]string, 0, len(h.Hash))
	for f := range h.Hash {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	pairs := make([][]byte, 0, 2*len(fields))
	for _, f := range fields {
		pairs = append(pairs, []byte(f), h.Hash[f])
	}
	if err := e.chunks("HSET", pairs, 2); err != nil {
		return err
	}
	if !e.o.Target.FieldExpiry {
		if n := fieldTTLs(h); n > 0 && e.o.FieldTTLsDropped != nil {
			e.o.FieldTTLsDropped(n)
		}
		return nil
	}
	for _, f := range fields {
		ms, ok := h.FieldExpirations[f]
		if !ok || ms <= 0 {
			continue
		}
		err := e.cmd("HPEXPIREAT", []byte(strconv.FormatInt(ms, 10)), []byte("FIELDS"), []byte("1"), []byte(f))
		if err != nil {
			return err
		}
	}
	return nil
}

// fieldTTLs counts the fields of h that have a TTL: a hash whose TTLs
// were all removed (HPERSIST) keeps the encoding that can hold them.
func fieldTTLs(h *model.HashObject) int {
	n := 0
	for _, ms := range h.FieldExpirations {
		if ms > 0 {
			n++
		}
	}
	return n
}

func (e *emitter) zset(z *model.ZSetObject) error {
	items := make([][]byte, 0, 2*len(z.Entries))
	for _, en := range z.Entries {
		items = append(items, formatScore(en.Score), []byte(en.Member))
	}
	return e.chunks("ZADD", items, 2)
}

// formatScore spells a score so that ZADD reads back the same float64.
func formatScore(f float64) []byte {
	return rdbstream.AppendScore(nil, f)
}

// RDB value types of the big values Big rebuilds.
const (
	rdbString     = 0
	rdbList       = 1
	rdbSet        = 2
	rdbZset       = 3
	rdbHash       = 4
	rdbZset2      = 5
	rdbQuicklist  = 14
	rdbQuicklist2 = 18
)

// Big emits the commands that rebuild a value too large to hold, of RDB
// type typ, whose elements elements reads in chunks (rdbstream's
// Entry.Elements): DEL, then one RPUSH, SADD, HSET or ZADD per chunk (SET
// then APPEND for a string), then PEXPIREAT when expireAtMs is not 0.
func Big(key []byte, typ byte, expireAtMs int64, elements func(fn func(items [][]byte) error) error, emit func(args [][]byte) error) error {
	e := &emitter{key: key, emit: emit}
	name, first := "", true
	switch typ {
	case rdbList, rdbQuicklist, rdbQuicklist2:
		name = "RPUSH"
	case rdbSet:
		name = "SADD"
	case rdbHash:
		name = "HSET"
	case rdbZset, rdbZset2:
		name = "ZADD"
	case rdbString:
		name = "SET"
	default:
		return &UnrepresentableError{Key: string(key), Reason: fmt.Sprintf("no commands for a big value of RDB type %d", typ)}
	}
	if err := e.cmd("DEL"); err != nil {
		return err
	}
	err := elements(func(items [][]byte) error {
		if len(items) == 0 {
			return nil
		}
		if name == "ZADD" { // member, score → score, member
			for i := 0; i+1 < len(items); i += 2 {
				items[i], items[i+1] = items[i+1], items[i]
			}
		}
		cmd := name
		if name == "SET" && !first {
			cmd = "APPEND"
		}
		first = false
		return e.cmd(cmd, items...)
	})
	if err != nil {
		return err
	}
	if expireAtMs > 0 {
		return e.cmd("PEXPIREAT", []byte(strconv.FormatInt(expireAtMs, 10)))
	}
	return nil
}
