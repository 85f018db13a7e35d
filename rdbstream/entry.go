package rdbstream

import (
	"errors"
	"fmt"
	"time"
)

// Kind says what an Entry carries.
type Kind int

const (
	// KindKey is a key with a DUMP/RESTORE payload in Entry.Payload.
	KindKey Kind = iota + 1
	// KindFunction is a Redis 7 function library (RDB opcode 245,
	// FUNCTION2). Entry.Code holds the library source, ready for
	// FUNCTION LOAD REPLACE.
	KindFunction
)

// String returns the kind's name.
func (k Kind) String() string {
	switch k {
	case KindKey:
		return "key"
	case KindFunction:
		return "function"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Entry is one item decoded from the RDB: a key or a function library.
//
// An Entry and every slice in it are valid only until the next call to
// Decoder.Next, which reuses the buffers. Callers copy what they keep.
type Entry struct {
	// Kind is KindKey or KindFunction.
	Kind Kind
	// DB is the database number from the last SELECTDB opcode (0 before any).
	DB int
	// Key is the key name, decoded (integer- and LZF-encoded names are
	// expanded to their text). Nil for KindFunction.
	Key []byte
	// Type is the RDB value type byte (0 string, 2 set, 18 quicklist2, ...).
	Type byte
	// ExpireAt is the absolute expiry in Unix milliseconds, 0 for none.
	ExpireAt int64
	// Idle is the LRU idle time in seconds from an IDLE opcode, -1 if absent.
	// It fits RESTORE's IDLETIME option.
	Idle int64
	// Freq is the LFU counter from a FREQ opcode, -1 if absent. It fits
	// RESTORE's FREQ option.
	Freq int
	// Payload is the DUMP payload for RESTORE: the type byte, the value bytes
	// exactly as in the RDB, the RDB version as 2 bytes little-endian, and
	// the CRC64 (Jones) of all preceding bytes as 8 bytes little-endian.
	// Nil for KindFunction.
	Payload []byte
	// Code is the function library source, KindFunction only.
	Code []byte
	// Big marks a value too large to hold (Options.BigCount, BigString):
	// Payload is nil, and Elements reads the value from the stream.
	Big bool

	scratch *[]byte  // the Decoder's buffer for StringValue; nil = allocate
	dec     *Decoder // for Elements of a big value
}

// Options configures a Decoder. The zero value is ready to use.
type Options struct {
	// Now is the clock used to skip keys whose expiry has passed.
	// Nil means time.Now.
	Now func() time.Time
	// MaxPayload caps, in bytes, one entry's payload and any one string the
	// decoder keeps (key name, aux value, function code). A larger one fails
	// with a *CorruptError wrapping ErrTooLarge.
	// Zero means no cap other than the input itself: memory grows only as
	// bytes actually arrive.
	MaxPayload int64
	// BigCount, when not 0, makes a list, set, hash or sorted set stored
	// element by element with more elements than this a big value (Entry.
	// Big), read with Entry.Elements rather than held as a payload. A
	// quicklist node counts as 128 elements.
	BigCount int64
	// BigString, when not 0, makes a plain (not compressed) string longer
	// than this many bytes a big value.
	BigString int64
}

// Errors wrapped by *CorruptError. Test with errors.Is.
var (
	// ErrChecksum reports a whole-file CRC64 that does not match the data.
	ErrChecksum = errors.New("checksum mismatch")
	// ErrUnsupported reports a valid but unsupported construct: an RDB
	// version, value type or opcode this package does not know how to walk.
	ErrUnsupported = errors.New("unsupported")
	// ErrTooLarge reports an entry larger than Options.MaxPayload, or a
	// length beyond any sane bound.
	ErrTooLarge = errors.New("too large")
)

// CorruptError reports input that is not a valid RDB stream: bad magic,
// unknown opcode or type, a bad length or checksum, or input that ends
// inside a structure (Err is then io.ErrUnexpectedEOF).
type CorruptError struct {
	// Offset is the byte offset in the RDB where the problem was found.
	Offset int64
	// Key is the key being decoded, "" when unknown.
	Key string
	// Err describes the problem.
	Err error
}

// Error implements error.
func (e *CorruptError) Error() string {
	if e.Key != "" {
		return fmt.Sprintf("rdbstream: corrupt RDB at offset %d (key %q): %v", e.Offset, e.Key, e.Err)
	}
	return fmt.Sprintf("rdbstream: corrupt RDB at offset %d: %v", e.Offset, e.Err)
}

// Unwrap returns e.Err.
func (e *CorruptError) Unwrap() error { return e.Err }
