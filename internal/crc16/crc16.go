// Package crc16 is CRC-16/XMODEM (polynomial 0x1021, not reflected, zero
// initial value): the checksum of Redis Cluster's key slots, and the table
// twemproxy's crc16 hash steps with.
package crc16

// Table is the byte-wise table of CRC-16/XMODEM. It is not to be written.
var Table = func() (t [256]uint16) {
	for i := range t {
		c := uint16(i) << 8
		for range 8 {
			if c&0x8000 != 0 {
				c = c<<1 ^ 0x1021
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return t
}()

// Checksum returns the CRC-16/XMODEM of b.
func Checksum(b []byte) uint16 {
	var c uint16
	for _, x := range b {
		c = c<<8 ^ Table[byte(c>>8)^x]
	}
	return c
}
