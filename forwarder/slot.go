package forwarder

import (
	"bytes"

	xmodem "github.com/replicant/replicant/internal/crc16"
)

// SlotCount is the number of hash slots of a Redis Cluster.
const SlotCount = 16384

// Slot returns the cluster hash slot of key: CRC16 (XMODEM) of the key, or
// of its hash tag (the part between the first '{' and the next '}', when
// not empty), modulo 16384.
func Slot(key []byte) int {
	if i := bytes.IndexByte(key, '{'); i >= 0 {
		if j := bytes.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	return int(crc16(key) & (SlotCount - 1))
}

// SlotTag returns a short hash tag for slot: a key containing "{"+tag+"}"
// (and no '{' before it) lands in that slot. Temporary keys and per-slot
// checkpoint keys are named with it.
func SlotTag(slot int) string { return slotTags[slot&(SlotCount-1)] }

var slotTags = func() []string {
	tags := make([]string, SlotCount)
	left := SlotCount
	for n := 0; left > 0; n++ {
		tag := tagName(n)
		if s := int(crc16([]byte(tag)) & (SlotCount - 1)); tags[s] == "" {
			tags[s] = tag
			left--
		}
	}
	return tags
}()

// tagName spells n in base 36, the shortest names first.
func tagName(n int) string {
	const digits = "0123456789abcdefghijklmnopqrstuvwxyz"
	var b []byte
	for {
		b = append(b, digits[n%36])
		n /= 36
		if n == 0 {
			break
		}
	}
	return string(b)
}

// crc16 is CRC-16/XMODEM, the checksum of cluster key slots.
func crc16(b []byte) uint16 { return xmodem.Checksum(b) }
