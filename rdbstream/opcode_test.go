package rdbstream

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// kv builds a key of type t whose value bytes are value.
func kv(t byte, key string, value []byte) []byte {
	return append(appendRDBString([]byte{t}, key), value...)
}

func le64(v int64) []byte  { return binary.LittleEndian.AppendUint64(nil, uint64(v)) }
func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestOpcodes(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	future := now.UnixMilli() + 5000
	strVal := appendRDBString(nil, "value")
	module := cat(
		appendRDBLen(nil, 0x1234567890), // module id
		[]byte{moduleOpSint, 0x05, moduleOpUint, 0x80, 0, 1, 0, 0},
		[]byte{moduleOpFloat, 1, 2, 3, 4, moduleOpDouble, 1, 2, 3, 4, 5, 6, 7, 8},
		[]byte{moduleOpString, 0x02, 'h', 'i', moduleOpEOF},
	)
	moduleAux := cat([]byte{opModuleAux}, appendRDBLen(nil, 0x1234567890),
		[]byte{moduleOpUint, 2, moduleOpString, 0x01, 'x', moduleOpEOF})
	body := cat(
		[]byte{opAux}, appendRDBString(nil, "redis-ver"), appendRDBString(nil, "7.4.0"),
		[]byte{opAux}, appendRDBString(nil, "redis-bits"), []byte{0xc0, 64},
		[]byte{opAux}, appendRDBString(nil, "lua"), appendRDBString(nil, "return 1"),
		[]byte{opAux}, appendRDBString(nil, "lua"), appendRDBString(nil, "return 2"),
		moduleAux,
		[]byte{opFunction2}, appendRDBString(nil, "#!lua name=x\nredis.register_function('f', function() end)"),
		[]byte{opSelectDB, 0x00, opResizeDB, 0x03, 0x01},
		kv(typeString, "plain", strVal),
		[]byte{opExpireTimeMs}, le64(future),
		[]byte{opIdle, 0x40, 0x64, opFreq, 7},
		kv(typeString, "with-ttl", strVal),
		[]byte{opExpireTimeMs}, le64(now.UnixMilli()-1),
		kv(typeList, "expired", cat([]byte{0x02}, strVal, strVal)),
		[]byte{opExpireTime}, le32(uint32(now.Unix()+10)),
		kv(typeModule2, "module", module),
		[]byte{opSlotInfo, 0x01, 0x02, 0x03},
		[]byte{opSelectDB, 0x40, 0x64},
		kv(typeHash22, "hash-rc", cat([]byte{0x01, 0x00}, strVal, strVal)),
		kv(typeHashListpackExRC, "lpex-rc", strVal),
		kv(typeZset, "zset", cat([]byte{0x03}, strVal, []byte{253}, strVal, []byte{3, '1', '.', '5'}, strVal, []byte{255})),
		kv(typeListQuicklist2, "ql2", cat([]byte{0x02, quicklistNodePlain}, strVal, []byte{quicklistNodePacked}, strVal)),
		[]byte{opExpireTimeMs}, le64(0),
		kv(typeString, "expire-zero", strVal),
	)
	data := rdbFile("REDIS0012", body)
	recs, d, err := decodeAll(bytes.NewReader(data), Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		kind  Kind
		db    int
		key   string
		typ   byte
		exp   int64
		idle  int64
		freq  int
		value []byte
		code  string
	}
	wants := []want{
		{kind: KindFunction, code: "#!lua name=x\nredis.register_function('f', function() end)", idle: -1, freq: -1},
		{kind: KindKey, key: "plain", typ: typeString, value: strVal, idle: -1, freq: -1},
		{kind: KindKey, key: "with-ttl", typ: typeString, exp: future, idle: 100, freq: 7, value: strVal},
		{kind: KindKey, key: "module", typ: typeModule2, exp: (now.Unix() + 10) * 1000, idle: -1, freq: -1, value: module},
		{kind: KindKey, db: 100, key: "hash-rc", typ: typeHash22, idle: -1, freq: -1, value: cat([]byte{0x01, 0x00}, strVal, strVal)},
		{kind: KindKey, db: 100, key: "lpex-rc", typ: typeHashListpackExRC, idle: -1, freq: -1, value: strVal},
		{kind: KindKey, db: 100, key: "zset", typ: typeZset, idle: -1, freq: -1, value: cat([]byte{0x03}, strVal, []byte{253}, strVal, []byte{3, '1', '.', '5'}, strVal, []byte{255})},
		{kind: KindKey, db: 100, key: "ql2", typ: typeListQuicklist2, idle: -1, freq: -1, value: cat([]byte{0x02, quicklistNodePlain}, strVal, []byte{quicklistNodePacked}, strVal)},
	}
	if len(recs) != len(wants) {
		t.Fatalf("%d entries, want %d: %+v", len(recs), len(wants), recs)
	}
	for i, w := range wants {
		r := recs[i]
		if r.Kind != w.kind || r.DB != w.db || r.Key != w.key || r.Type != w.typ || r.ExpireAt != w.exp ||
			r.Idle != w.idle || r.Freq != w.freq || r.Code != w.code {
			t.Errorf("entry %d: %+v, want %+v", i, r, w)
		}
		if w.kind == KindFunction {
			if r.Payload != nil {
				t.Errorf("function entry has a payload")
			}
			continue
		}
		checkPayload(t, r, 12)
		if v := r.Payload[1 : len(r.Payload)-10]; !bytes.Equal(v, w.value) {
			t.Errorf("key %q: value bytes %x, want %x", r.Key, v, w.value)
		}
	}
	if d.Expired() != 2 {
		t.Errorf("Expired() = %d, want 2", d.Expired())
	}
	aux := d.Aux()
	if aux["redis-ver"] != "7.4.0" || aux["redis-bits"] != "64" || aux["lua"] != "return 2" {
		t.Errorf("Aux() = %v", aux)
	}
	if s := d.Scripts(); len(s) != 2 || s[0] != "return 1" || s[1] != "return 2" {
		t.Errorf("Scripts() = %q", s)
	}
	if _, err := d.Next(); err != io.EOF {
		t.Errorf("Next after EOF: %v", err)
	}
}

func TestValkey(t *testing.T) {
	strVal := appendRDBString(nil, "v")
	hash2 := cat([]byte{0x02}, strVal, strVal, le64(-1), strVal, strVal, le64(1<<50))
	slotImport := cat([]byte{opSlotImport}, appendRDBString(nil, strings.Repeat("j", 40)), []byte{0x02, 0x00, 0x40, 0xff, 0x41, 0x00, 0x7f, 0xff})
	data := rdbFile("VALKEY080", cat(slotImport, []byte{opSelectDB, 0x00}, kv(typeHash22, "h", hash2)))
	recs, d, err := decodeAll(bytes.NewReader(data), Options{Now: epoch})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Key != "h" {
		t.Fatalf("entries %+v", recs)
	}
	checkPayload(t, recs[0], 80)
	if v := recs[0].Payload[1 : len(recs[0].Payload)-10]; !bytes.Equal(v, hash2) {
		t.Errorf("value bytes %x, want %x", v, hash2)
	}
	if d.Version() != 80 {
		t.Errorf("Version() = %d", d.Version())
	}
	// Redis 7.4 types are foreign to Valkey.
	for _, ty := range []byte{typeHashListpackExRC, typeHashMetadata, typeHashListpackEx} {
		data := rdbFile("VALKEY080", kv(ty, "h", strVal))
		if _, _, err := decodeAll(bytes.NewReader(data), Options{}); !isCorrupt(err) {
			t.Errorf("type %d in a Valkey RDB: err %v", ty, err)
		}
	}
}

func TestCorruptCases(t *testing.T) {
	strVal := appendRDBString(nil, "v")
	tests := []struct {
		name   string
		data   []byte
		offset int64
		key    string
		is     error
	}{
		{name: "unknown type", data: rdbFile("REDIS0011", kv(30, "k", strVal)), offset: 9},
		{name: "type 8", data: rdbFile("REDIS0011", cat([]byte{opSelectDB, 0}, kv(8, "k", strVal))), offset: 11},
		{name: "module pre-GA", data: rdbFile("REDIS0011", kv(typeModulePreGA, "k", strVal)), offset: 9, key: "k", is: ErrUnsupported},
		{name: "function pre-GA", data: rdbFile("REDIS0010", cat([]byte{opFunctionPreGA}, strVal)), offset: 9, is: ErrUnsupported},
		{name: "243 in Redis", data: rdbFile("REDIS0012", cat([]byte{opSlotImport}, strVal)), offset: 9, is: ErrUnsupported},
		{name: "bad module opcode", data: rdbFile("REDIS0011", kv(typeModule2, "k", []byte{0x01, 0x06})), offset: 13, key: "k"},
		{name: "bad module aux when", data: rdbFile("REDIS0011", []byte{opModuleAux, 0x01, 0x01, 0x00, 0x00}), offset: 9},
		{name: "bad quicklist container", data: rdbFile("REDIS0011", kv(typeListQuicklist2, "k", cat([]byte{0x01, 0x03}, strVal))), offset: 13, key: "k"},
		{name: "encoded list length", data: rdbFile("REDIS0011", kv(typeList, "k", []byte{0xc0, 0x01})), offset: 12, key: "k"},
		{name: "db number", data: rdbFile("REDIS0011", []byte{opSelectDB, 0x81, 0xff, 0, 0, 0, 0, 0, 0, 0}), offset: 9},
		{name: "bad string length", data: rdbFile("REDIS0011", kv(typeString, "k", []byte{0x85})), offset: 12, key: "k"},
		{name: "truncated value", data: rdbFile("REDIS0011", kv(typeString, "k", []byte{0x05, 'a'}))[:14], offset: 14, key: "k", is: io.ErrUnexpectedEOF},
		{name: "truncated before EOF", data: []byte("REDIS0011\xfe\x00"), offset: 11, is: io.ErrUnexpectedEOF},
		{name: "truncated checksum", data: rdbFile("REDIS0011", nil)[:13], offset: 13, is: io.ErrUnexpectedEOF},
		{name: "checksum", data: func() []byte {
			b := rdbFile("REDIS0011", kv(typeString, "k", strVal))
			b[len(b)-1] ^= 1
			return b
		}(), offset: 15, is: ErrChecksum},
		{name: "checksum of data", data: func() []byte {
			b := rdbFile("REDIS0011", kv(typeString, "k", strVal))
			b[13] ^= 0x20 // "v" -> "V"
			return b
		}(), offset: 15, is: ErrChecksum},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := decodeAll(bytes.NewReader(tt.data), Options{})
			var ce *CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("err %v, want *CorruptError", err)
			}
			if ce.Offset != tt.offset || ce.Key != tt.key {
				t.Errorf("%v: offset %d key %q, want %d %q", err, ce.Offset, ce.Key, tt.offset, tt.key)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("%v: not %v", err, tt.is)
			}
		})
	}
}

func TestChecksumOptional(t *testing.T) {
	strVal := appendRDBString(nil, "v")
	// A zero checksum means checksums were disabled.
	b := rdbFile("REDIS0011", kv(typeString, "k", strVal))
	copy(b[len(b)-8:], make([]byte, 8))
	if recs, _, err := decodeAll(bytes.NewReader(b), Options{}); err != nil || len(recs) != 1 {
		t.Errorf("zero checksum: %d entries, %v", len(recs), err)
	}
	// Before version 5 there is no checksum at all.
	b = rdbFile("REDIS0004", kv(typeString, "k", strVal))
	if b[len(b)-1] != opEOF {
		t.Fatal("test RDB has a checksum")
	}
	if recs, d, err := decodeAll(bytes.NewReader(b), Options{}); err != nil || len(recs) != 1 || d.Offset() != int64(len(b)) {
		t.Errorf("version 4: %d entries, %v", len(recs), err)
	}
}

func TestMaxPayload(t *testing.T) {
	big := appendRDBString(nil, strings.Repeat("x", 1000))
	data := rdbFile("REDIS0011", cat(kv(typeString, "small", appendRDBString(nil, "v")), kv(typeString, "big", big)))
	recs, _, err := decodeAll(bytes.NewReader(data), Options{MaxPayload: 100})
	if len(recs) != 1 || !errors.Is(err, ErrTooLarge) || !isCorrupt(err) {
		t.Errorf("%d entries, err %v", len(recs), err)
	}
	// The cap holds across buffer refills too.
	huge := appendRDBString(nil, strings.Repeat("y", 3*bufSize))
	data = rdbFile("REDIS0011", kv(typeString, "huge", huge))
	_, _, err = decodeAll(bytes.NewReader(data), Options{MaxPayload: bufSize})
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("huge: err %v", err)
	}
	if recs, _, err := decodeAll(bytes.NewReader(data), Options{}); err != nil || len(recs[0].Payload) != len(huge)+11 {
		t.Errorf("huge without cap: %v", err)
	}
}
