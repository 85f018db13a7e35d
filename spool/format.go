package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// On disk, a segment file is a header and then records:
//
//	header: "rspool1\n" | start int64 | crc32c of the 16 bytes before
//	record: offset int64 | length uint32 | crc32c of the 12 bytes before and the payload | payload
//
// little-endian. The top bit of length (recMore) says more records of the
// same Append follow: an Append a crash cut short is known by it. A record's offset is the stream offset of its first
// payload byte, so a record read in the wrong place, a gap or a repeat is
// caught as surely as a flipped bit. Records never span segments and hold
// at most maxRecord bytes, which bounds what a Reader buffers to verify one.

const (
	segHeaderLen = 20
	recHeaderLen = 16
	maxRecord    = 256 << 10
	recMore      = 1 << 31
)

var (
	segMagic = []byte("rspool1\n")
	castag   = crc32.MakeTable(crc32.Castagnoli)
)

// ErrCorrupt is wrapped by every *CorruptError: the spool's bytes on disk
// are not what was written (a flipped, zeroed or truncated region, or a
// file of an older format).
var ErrCorrupt = errors.New("spool: damaged")

// CorruptError says where a segment file is damaged.
type CorruptError struct {
	Path   string // the segment file
	Offset int64  // byte offset in the file where the damage was found
	Stream int64  // the stream offset expected there
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("spool: damaged: %s at byte %d of %s (stream offset %d)", e.Reason, e.Offset, e.Path, e.Stream)
}

// Unwrap makes errors.Is(err, ErrCorrupt) true.
func (e *CorruptError) Unwrap() error { return ErrCorrupt }

func corrupt(path string, off, stream int64, format string, a ...any) error {
	return &CorruptError{Path: path, Offset: off, Stream: stream, Reason: fmt.Sprintf(format, a...)}
}

// appendSegHeader appends the header of a segment starting at stream
// offset start.
func appendSegHeader(b []byte, start int64) []byte {
	b = append(b, segMagic...)
	b = binary.LittleEndian.AppendUint64(b, uint64(start))
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b[len(b)-16:], castag))
}

// checkSegHeader verifies h, the first segHeaderLen bytes of the file at
// path, against the start its name says.
func checkSegHeader(path string, h []byte, start int64) error {
	if len(h) < segHeaderLen || string(h[:8]) != string(segMagic) {
		return corrupt(path, 0, start, "no spool segment header (a spool of an older replicant, or damaged)")
	}
	if crc32.Checksum(h[:16], castag) != binary.LittleEndian.Uint32(h[16:20]) {
		return corrupt(path, 0, start, "segment header checksum mismatch")
	}
	if got := int64(binary.LittleEndian.Uint64(h[8:16])); got != start {
		return corrupt(path, 8, start, "segment header says stream offset %d, its name %d", got, start)
	}
	return nil
}

// appendRecord appends a record of payload p at stream offset off; more
// says records of the same Append follow.
func appendRecord(b []byte, off int64, p []byte, more bool) []byte {
	n := uint32(len(p))
	if more {
		n |= recMore
	}
	b = binary.LittleEndian.AppendUint64(b, uint64(off))
	b = binary.LittleEndian.AppendUint32(b, n)
	crc := crc32.Update(crc32.Checksum(b[len(b)-12:], castag), castag, p)
	b = binary.LittleEndian.AppendUint32(b, crc)
	return append(b, p...)
}

// recordHeader parses the record header h (recHeaderLen bytes) found at
// byte fpos of path where stream offset want is expected, and returns its
// payload length and whether more records of its Append follow.
func recordHeader(path string, fpos int64, h []byte, want int64) (n int, more bool, err error) {
	off := int64(binary.LittleEndian.Uint64(h[0:8]))
	v := binary.LittleEndian.Uint32(h[8:12])
	if off != want {
		return 0, false, corrupt(path, fpos, want, "record header names stream offset %d", off)
	}
	n, more = int(v&^recMore), v&recMore != 0
	if n == 0 || n > maxRecord {
		return 0, false, corrupt(path, fpos, want, "record length %d out of range", n)
	}
	return n, more, nil
}

// checkRecord verifies the checksum of the record rec (header and payload).
func checkRecord(path string, fpos, want int64, rec []byte) error {
	crc := crc32.Update(crc32.Checksum(rec[:12], castag), castag, rec[recHeaderLen:])
	if crc != binary.LittleEndian.Uint32(rec[12:16]) {
		return corrupt(path, fpos, want, "record checksum mismatch")
	}
	return nil
}
