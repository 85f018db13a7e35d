package crc16

import "testing"

// TestChecksum: the check value of CRC-16/XMODEM, and the slots of
// Redis Cluster's specification (slot = checksum mod 16384).
func TestChecksum(t *testing.T) {
	for _, c := range []struct {
		in   string
		want uint16
	}{
		{"", 0},
		{"123456789", 0x31C3},
		{"A", 0x58E5},
	} {
		if got := Checksum([]byte(c.in)); got != c.want {
			t.Errorf("Checksum(%q) = %#04x, want %#04x", c.in, got, c.want)
		}
	}
	if got := Checksum([]byte("foo")) & 16383; got != 12182 {
		t.Errorf("slot of foo %d, want 12182", got)
	}
}
