package redistest

import (
	"encoding/binary"
	"fmt"
	"hash/crc64"
)

// Builders of RDB encodings, for files and DUMP payloads that the
// installed redis-server would not write (newer or older versions).

// RDB list types and quicklist 2 node containers.
const (
	RDBList           = 1
	RDBListZiplist    = 10
	RDBListQuicklist  = 14
	RDBListQuicklist2 = 18
)

var crcJones = crc64.MakeTable(0x95ac9329ac4bc9b5)

// rdbCRC is Redis's CRC-64/Jones: from 0, no final xor.
func rdbCRC(p []byte) uint64 { return ^crc64.Update(^uint64(0), crcJones, p) }

// AppendRDBLen appends an RDB length.
func AppendRDBLen(b []byte, n int) []byte {
	switch {
	case n < 1<<6:
		return append(b, byte(n))
	case n < 1<<14:
		return append(b, 0x40|byte(n>>8), byte(n))
	}
	return binary.BigEndian.AppendUint32(append(b, 0x80), uint32(n))
}

// AppendRDBString appends an RDB string, not compressed.
func AppendRDBString(b, s []byte) []byte { return append(AppendRDBLen(b, len(s)), s...) }

// Listpack encodes items as a listpack of strings.
func Listpack(items [][]byte) []byte {
	var body []byte
	for _, it := range items {
		start := len(body)
		switch n := len(it); {
		case n < 64:
			body = append(body, 0x80|byte(n))
		case n < 4096:
			body = append(body, 0xe0|byte(n>>8), byte(n))
		default:
			body = binary.LittleEndian.AppendUint32(append(body, 0xf0), uint32(n))
		}
		body = append(body, it...)
		body = append(body, listpackBacklen(len(body)-start)...)
	}
	out := binary.LittleEndian.AppendUint32(nil, uint32(6+len(body)+1))
	out = binary.LittleEndian.AppendUint16(out, uint16(len(items)))
	return append(append(out, body...), 0xff)
}

// listpackBacklen encodes an entry's length to be read backwards: 7 bits
// a byte, the high bit set on each byte but the first.
func listpackBacklen(n int) []byte {
	var b []byte
	for {
		b = append([]byte{byte(n & 0x7f)}, b...)
		if n >>= 7; n == 0 {
			break
		}
	}
	for i := 1; i < len(b); i++ {
		b[i] |= 0x80
	}
	return b
}

// Ziplist encodes items as a ziplist of strings.
func Ziplist(items [][]byte) []byte {
	var body []byte
	prev := 0
	for _, it := range items {
		start := len(body)
		if prev < 254 {
			body = append(body, byte(prev))
		} else {
			body = binary.LittleEndian.AppendUint32(append(body, 0xfe), uint32(prev))
		}
		switch n := len(it); {
		case n < 64:
			body = append(body, byte(n))
		case n < 16384:
			body = append(body, 0x40|byte(n>>8), byte(n))
		default:
			body = binary.BigEndian.AppendUint32(append(body, 0x80), uint32(n))
		}
		body = append(body, it...)
		prev = len(body) - start
	}
	out := binary.LittleEndian.AppendUint32(nil, uint32(10+len(body)+1))
	out = binary.LittleEndian.AppendUint32(out, 0) // tail offset: not read
	out = binary.LittleEndian.AppendUint16(out, uint16(len(items)))
	return append(append(out, body...), 0xff)
}

// ListValue encodes a list of RDB type typ from nodes of elements; in a
// quicklist 2, a node of one element is a plain node (as Redis 7.2 and
// newer write an element larger than a node's size limit).
func ListValue(typ byte, nodes [][][]byte) []byte {
	var all [][]byte
	for _, nd := range nodes {
		all = append(all, nd...)
	}
	var v []byte
	switch typ {
	case RDBList:
		v = AppendRDBLen(v, len(all))
		for _, it := range all {
			v = AppendRDBString(v, it)
		}
	case RDBListZiplist:
		v = AppendRDBString(v, Ziplist(all))
	case RDBListQuicklist:
		v = AppendRDBLen(v, len(nodes))
		for _, nd := range nodes {
			v = AppendRDBString(v, Ziplist(nd))
		}
	case RDBListQuicklist2:
		v = AppendRDBLen(v, len(nodes))
		for _, nd := range nodes {
			if len(nd) == 1 {
				v = AppendRDBString(AppendRDBLen(v, 1), nd[0])
			} else {
				v = AppendRDBString(AppendRDBLen(v, 2), Listpack(nd))
			}
		}
	}
	return v
}

// Payload frames a value of RDB type typ as a DUMP payload of RDB version
// version.
func Payload(typ byte, value []byte, version int) []byte {
	p := append([]byte{typ}, value...)
	p = binary.LittleEndian.AppendUint16(p, uint16(version))
	return binary.LittleEndian.AppendUint64(p, rdbCRC(p))
}

// RDBKey is one key of an RDB file built by RDBFile.
type RDBKey struct {
	Key   string
	Type  byte
	Value []byte
}

// RDBFile builds an RDB file of version version (Redis magic) holding
// keys in db 0, with its checksum.
func RDBFile(version int, keys ...RDBKey) []byte {
	b := fmt.Appendf(nil, "REDIS%04d", version)
	b = append(b, 0xfe, 0)
	for _, k := range keys {
		b = append(b, k.Type)
		b = AppendRDBString(b, []byte(k.Key))
		b = append(b, k.Value...)
	}
	b = append(b, 0xff)
	return binary.LittleEndian.AppendUint64(b, rdbCRC(b))
}

// RDBHashFieldTTLs is the RDB type of a hash with field TTLs (Redis 7.4).
const RDBHashFieldTTLs = 24

// HashFieldTTLsValue encodes a hash of RDB type 24 whose fields each hold
// "v", with their absolute expiry in Unix ms (0: none).
func HashFieldTTLsValue(fields map[string]int64) []byte {
	minExpire := int64(1) << 48 // none
	for _, at := range fields {
		if at > 0 && at < minExpire {
			minExpire = at
		}
	}
	v := binary.LittleEndian.AppendUint64(nil, uint64(minExpire))
	v = AppendRDBLen(v, len(fields))
	for f, at := range fields {
		ttl := 0
		if at > 0 {
			ttl = int(at - minExpire + 1) // relative to the minimum, 0 kept for none
		}
		v = AppendRDBString(AppendRDBLen(v, ttl), []byte(f))
		v = AppendRDBString(v, []byte("v"))
	}
	return v
}
