package rdbstream

import (
	"encoding/binary"
	"hash/crc64"
)

// crcJonesReflected is the CRC-64/Jones polynomial 0xad93d23594c935a9 with
// its bits reversed, as a reflected CRC table wants it.
const crcJonesReflected = 0x95ac9329ac4bc9b5

// crcTables are the slicing-by-8 tables of CRC-64/Jones, the checksum of
// RDB files and DUMP payloads (Redis's crc64.c: reflected, initial value 0,
// no final xor).
var crcTables = makeCRCTables()

func makeCRCTables() *[8][256]uint64 {
	t := new([8][256]uint64)
	t[0] = *crc64.MakeTable(crcJonesReflected)
	for i := range 256 {
		c := t[0][i]
		for j := 1; j < 8; j++ {
			c = t[0][c&0xff] ^ c>>8
			t[j][i] = c
		}
	}
	return t
}

// crcUpdate returns crc extended with p, eight bytes per step. Payloads
// are mostly short: unlike crc64jones, it has no per-call setup.
func crcUpdate(crc uint64, p []byte) uint64 {
	t := crcTables
	for len(p) >= 8 {
		crc ^= binary.LittleEndian.Uint64(p)
		crc = t[7][crc&0xff] ^ t[6][crc>>8&0xff] ^ t[5][crc>>16&0xff] ^ t[4][crc>>24&0xff] ^
			t[3][crc>>32&0xff] ^ t[2][crc>>40&0xff] ^ t[1][crc>>48&0xff] ^ t[0][crc>>56]
		p = p[8:]
	}
	for _, b := range p {
		crc = t[0][byte(crc)^b] ^ crc>>8
	}
	return crc
}

// ValidPayload reports whether a DUMP payload (type, value, RDB version,
// CRC64) carries the checksum of its bytes.
func ValidPayload(p []byte) bool {
	if len(p) < 10 {
		return false
	}
	n := len(p) - 8
	return crcUpdate(0, p[:n]) == binary.LittleEndian.Uint64(p[n:])
}
