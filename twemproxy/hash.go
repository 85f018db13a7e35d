package twemproxy

import (
	"crypto/md5"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math/bits"

	"github.com/replicant/replicant/internal/crc16"
)

// HashFunc maps a key (or the part of it inside the hash tag) to the 32-bit
// value a distribution places on a server.
type HashFunc func(key []byte) uint32

// Hash names, as nutcracker's `hash:` directive spells them.
const (
	HashOneAtATime = "one_at_a_time"
	HashMD5        = "md5"
	HashCRC16      = "crc16"
	HashCRC32      = "crc32"
	HashCRC32a     = "crc32a"
	HashFNV1_64    = "fnv1_64"
	HashFNV1a_64   = "fnv1a_64"
	HashFNV1_32    = "fnv1_32"
	HashFNV1a_32   = "fnv1a_32"
	HashHsieh      = "hsieh"
	HashMurmur     = "murmur"
	HashJenkins    = "jenkins"
)

// Hashes lists every hash function nutcracker 0.5 offers, in the order of
// its own table.
var Hashes = []string{
	HashOneAtATime, HashMD5, HashCRC16, HashCRC32, HashCRC32a, HashFNV1_64,
	HashFNV1a_64, HashFNV1_32, HashFNV1a_32, HashHsieh, HashMurmur, HashJenkins,
}

var hashFuncs = map[string]HashFunc{
	HashOneAtATime: hashOneAtATime,
	HashMD5:        hashMD5,
	HashCRC16:      hashCRC16,
	HashCRC32:      hashCRC32,
	HashCRC32a:     hashCRC32a,
	HashFNV1_64:    hashFNV1_64,
	HashFNV1a_64:   hashFNV1a_64,
	HashFNV1_32:    hashFNV1_32,
	HashFNV1a_32:   hashFNV1a_32,
	HashHsieh:      hashHsieh,
	HashMurmur:     hashMurmur,
	HashJenkins:    hashJenkins,
}

// Hash returns the hash function nutcracker calls name.
func Hash(name string) (HashFunc, error) {
	f, ok := hashFuncs[name]
	if !ok {
		return nil, fmt.Errorf("twemproxy: unknown hash %q (nutcracker offers %v)", name, Hashes)
	}
	return f, nil
}

// signed is a key byte as nutcracker reads it through a plain (signed, on
// x86-64 and most Linux targets) C char widened to 32 bits: bytes from 0x80
// come out sign-extended. Several of its hash functions do this.
func signed(b byte) uint32 { return uint32(int32(int8(b))) }

// hashOneAtATime is Bob Jenkins' one-at-a-time hash over signed bytes.
func hashOneAtATime(key []byte) uint32 {
	var h uint32
	for _, b := range key {
		h += signed(b)
		h += h << 10
		h ^= h >> 6
	}
	h += h << 3
	h ^= h >> 11
	h += h << 15
	return h
}

// hashMD5 is the first four bytes of the MD5 digest, little-endian.
func hashMD5(key []byte) uint32 {
	sum := md5.Sum(key)
	return binary.LittleEndian.Uint32(sum[:4])
}

// hashCRC16 is nutcracker 0.5.0's crc16: the CRC-16/XMODEM step, but on a
// 32-bit register that is never cut back to 16 bits, so bits above 16
// stay (shifted up by each byte) and the value is not a CRC-16 once the
// key is longer than two bytes. Later twemproxy releases changed it.
func hashCRC16(key []byte) uint32 {
	var c uint32
	for _, b := range key {
		c = c<<8 ^ uint32(crc16.Table[byte(c>>8)^b])
	}
	return c
}

// hashCRC32 is libmemcached's crc32: bits 16..30 of the IEEE CRC-32.
func hashCRC32(key []byte) uint32 {
	return crc32.ChecksumIEEE(key) >> 16 & 0x7fff
}

// hashCRC32a is the IEEE CRC-32 itself.
func hashCRC32a(key []byte) uint32 {
	return crc32.ChecksumIEEE(key)
}

const (
	fnv64Init  = 0xcbf29ce484222325
	fnv64Prime = 0x100000001b3
	fnv32Init  = 2166136261
	fnv32Prime = 16777619
)

// hashFNV1_64 is FNV-1 in 64 bits over signed bytes, cut to its low 32 bits.
func hashFNV1_64(key []byte) uint32 {
	var h uint64 = fnv64Init
	for _, b := range key {
		h *= fnv64Prime
		h ^= uint64(int64(int8(b)))
	}
	return uint32(h)
}

// hashFNV1a_64 is not FNV-1a 64: nutcracker runs FNV-1a in 32-bit
// arithmetic with the 64-bit offset basis and prime cut to 32 bits.
func hashFNV1a_64(key []byte) uint32 {
	h := uint32(fnv64Init & 0xffffffff)
	for _, b := range key {
		h ^= signed(b)
		h *= uint32(fnv64Prime & 0xffffffff)
	}
	return h
}

// hashFNV1_32 is FNV-1 in 32 bits over signed bytes.
func hashFNV1_32(key []byte) uint32 {
	var h uint32 = fnv32Init
	for _, b := range key {
		h *= fnv32Prime
		h ^= signed(b)
	}
	return h
}

// hashFNV1a_32 is FNV-1a in 32 bits over signed bytes.
func hashFNV1a_32(key []byte) uint32 {
	var h uint32 = fnv32Init
	for _, b := range key {
		h ^= signed(b)
		h *= fnv32Prime
	}
	return h
}

// hashHsieh is Paul Hsieh's SuperFastHash; the third byte of a 3-byte tail
// is read as a signed char.
func hashHsieh(key []byte) uint32 {
	if len(key) == 0 {
		return 0
	}
	var h uint32
	le16 := func(b []byte) uint32 { return uint32(b[0]) | uint32(b[1])<<8 }
	rest := len(key) & 3
	body, tail := key[:len(key)-rest], key[len(key)-rest:]
	for i := 0; i < len(body); i += 4 {
		h += le16(body[i:])
		tmp := le16(body[i+2:])<<11 ^ h
		h = h<<16 ^ tmp
		h += h >> 11
	}
	switch rest {
	case 3:
		h += le16(tail)
		h ^= h << 16
		h ^= signed(tail[2]) << 18
		h += h >> 11
	case 2:
		h += le16(tail)
		h ^= h << 11
		h += h >> 17
	case 1:
		h += uint32(tail[0])
		h ^= h << 10
		h += h >> 1
	}
	h ^= h << 3
	h += h >> 5
	h ^= h << 4
	h += h >> 17
	h ^= h << 25
	h += h >> 6
	return h
}

// hashMurmur is MurmurHash2 (little-endian reads) seeded with
// 0xdeadbeef*len.
func hashMurmur(key []byte) uint32 {
	const m = 0x5bd1e995
	n := uint32(len(key))
	h := 0xdeadbeef*n ^ n
	for len(key) >= 4 {
		k := binary.LittleEndian.Uint32(key)
		k *= m
		k ^= k >> 24
		k *= m
		h *= m
		h ^= k
		key = key[4:]
	}
	switch len(key) {
	case 3:
		h ^= uint32(key[2]) << 16
		fallthrough
	case 2:
		h ^= uint32(key[1]) << 8
		fallthrough
	case 1:
		h ^= uint32(key[0])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return h
}

// hashJenkins is Bob Jenkins' lookup3 hashlittle with initial value 13,
// reading the key as little-endian words (what nutcracker's aligned,
// half-aligned and byte paths all amount to on a little-endian machine).
func hashJenkins(key []byte) uint32 { return lookup3(key, 13) }

// lookup3 is hashlittle from Bob Jenkins' lookup3.c.
func lookup3(key []byte, initval uint32) uint32 {
	a := 0xdeadbeef + uint32(len(key)) + initval
	b, c := a, a
	for len(key) > 12 {
		a += binary.LittleEndian.Uint32(key)
		b += binary.LittleEndian.Uint32(key[4:])
		c += binary.LittleEndian.Uint32(key[8:])
		a, b, c = jenkinsMix(a, b, c)
		key = key[12:]
	}
	if len(key) == 0 {
		return c
	}
	var last [12]byte
	copy(last[:], key)
	a += binary.LittleEndian.Uint32(last[:])
	b += binary.LittleEndian.Uint32(last[4:])
	c += binary.LittleEndian.Uint32(last[8:])
	return jenkinsFinal(a, b, c)
}

func jenkinsMix(a, b, c uint32) (uint32, uint32, uint32) {
	rot := bits.RotateLeft32
	a -= c
	a ^= rot(c, 4)
	c += b
	b -= a
	b ^= rot(a, 6)
	a += c
	c -= b
	c ^= rot(b, 8)
	b += a
	a -= c
	a ^= rot(c, 16)
	c += b
	b -= a
	b ^= rot(a, 19)
	a += c
	c -= b
	c ^= rot(b, 4)
	b += a
	return a, b, c
}

func jenkinsFinal(a, b, c uint32) uint32 {
	rot := bits.RotateLeft32
	c ^= b
	c -= rot(b, 14)
	a ^= c
	a -= rot(c, 11)
	b ^= a
	b -= rot(a, 25)
	c ^= b
	c -= rot(b, 16)
	a ^= c
	a -= rot(c, 4)
	b ^= a
	b -= rot(a, 14)
	c ^= b
	c -= rot(b, 24)
	return c
}

func md5Sum(s string) [16]byte { return md5.Sum([]byte(s)) }
