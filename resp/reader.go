package resp

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Default limits, the same as a Redis server's own defaults for clients.
const (
	DefaultMaxBulk  = 512 << 20 // proto-max-bulk-len
	DefaultMaxArray = 1 << 20   // elements in one command or nested reply
	maxLine         = 64 << 10  // a simple-string or error line
	maxDepth        = 16        // nested arrays in one reply
)

// ErrProtocol is wrapped by every error about malformed input.
var ErrProtocol = errors.New("resp: protocol error")

// Reader reads RESP values and counts the bytes it consumed.
type Reader struct {
	br       *bufio.Reader
	n        int64
	arena    []byte
	args     [][]byte
	MaxBulk  int
	MaxArray int
}

// NewReader returns a Reader over r with a read buffer of size bytes.
func NewReader(r io.Reader, size int) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, size), MaxBulk: DefaultMaxBulk, MaxArray: DefaultMaxArray}
}

// NewReaderFrom wraps an existing bufio.Reader, keeping whatever it buffered.
func NewReaderFrom(br *bufio.Reader) *Reader {
	return &Reader{br: br, MaxBulk: DefaultMaxBulk, MaxArray: DefaultMaxArray}
}

// Count returns the number of bytes consumed so far.
func (r *Reader) Count() int64 { return r.n }

// Buffered returns the underlying bufio.Reader (for framing that is not
// RESP, such as an RDB payload). Bytes read through it are not counted.
func (r *Reader) Buffered() *bufio.Reader { return r.br }

func protoErr(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrProtocol}, a...)...)
}

// readLine returns one CRLF-terminated line without its CRLF. The slice is
// valid until the next read.
func (r *Reader) readLine() ([]byte, error) {
	line, err := r.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		return nil, protoErr("line longer than %d bytes", r.br.Size())
	}
	if err != nil {
		if err == io.EOF && len(line) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	r.n += int64(len(line))
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return nil, protoErr("line without CRLF: %s", quote(line))
	}
	return line[:len(line)-2], nil
}

// ReadLine reads one CRLF-terminated line (counted) and returns a copy
// without the CRLF.
func (r *Reader) ReadLine() ([]byte, error) {
	line, err := r.readLine()
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), line...), nil
}

func truncate(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

// maxQuoted bounds what a line quoted into an error shows: garbage from
// something that is not a Redis server can be kilobytes long.
const maxQuoted = 64

// quote returns b quoted for an error message. When the quoted form is
// longer than maxQuoted, b is cut until its quoted form fits, and "…"
// follows.
func quote(b []byte) string {
	if q := strconv.Quote(string(b)); len(q) <= maxQuoted+2 {
		return q
	}
	n := min(len(b), maxQuoted)
	for n > 0 && len(strconv.Quote(string(b[:n]))) > maxQuoted+2 {
		n--
	}
	return strconv.Quote(string(b[:n])) + "…"
}

// parseLen parses the length after a '*' or '$' prefix: -1 or a decimal
// number without sign or leading zeros, as Redis writes and accepts it.
func parseLen(b []byte, max int) (int, error) {
	if string(b) == "-1" {
		return -1, nil
	}
	if len(b) == 0 || len(b) > 19 || (b[0] == '0' && len(b) > 1) {
		return 0, protoErr("bad length %s", quote(b))
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, protoErr("bad length %s", quote(b))
		}
		n = n*10 + int64(c-'0')
	}
	if n > int64(max) {
		return 0, protoErr("length %d over the limit %d", n, max)
	}
	return int(n), nil
}

// ReadCommand reads one command: an array of bulk strings. It returns the
// arguments and the number of bytes the command took on the wire. The
// argument slices alias the Reader's memory (its read buffer, when the
// command was whole in it) and are valid until the next read from the
// Reader or its bufio.Reader; copy what you keep.
func (r *Reader) ReadCommand() (args [][]byte, size int, err error) {
	if args, raw, ok := r.commandBuffered(); ok {
		return args, len(raw), nil
	}
	start := r.n
	line, err := r.readLine()
	if err != nil {
		return nil, 0, err
	}
	if len(line) == 0 || line[0] != '*' {
		return nil, 0, protoErr("expected a command array, got %s", quote(line))
	}
	count, err := parseLen(line[1:], r.MaxArray)
	if err != nil {
		return nil, 0, err
	}
	if count < 0 {
		return nil, 0, protoErr("null array in place of a command")
	}
	r.arena = r.arena[:0]
	ends := make([]int, 0, 8)
	for i := 0; i < count; i++ {
		if err := r.readBulkInto(); err != nil {
			return nil, 0, err
		}
		ends = append(ends, len(r.arena))
	}
	r.args = r.args[:0]
	prev := 0
	for _, end := range ends {
		r.args = append(r.args, r.arena[prev:end:end])
		prev = end
	}
	if cap(r.arena) > 4<<20 && len(r.arena) < 64<<10 {
		r.arena = nil // do not keep a huge buffer after a huge command
	}
	return r.args, int(r.n - start), nil
}

// AppendCommand reads one command as ReadCommand does and also appends its
// bytes to dst: those received when the command was whole in the read
// buffer (a copy, no re-encoding), else its canonical encoding (the same
// bytes for a canonical stream, as a replication stream is).
func (r *Reader) AppendCommand(dst []byte) (args [][]byte, out []byte, size int, err error) {
	if args, raw, ok := r.commandBuffered(); ok {
		return args, append(dst, raw...), len(raw), nil
	}
	if args, size, err = r.ReadCommand(); err != nil {
		return nil, dst, 0, err
	}
	return args, AppendCommand(dst, args...), size, nil
}

// commandBuffered parses one command wholly held in the read buffer,
// without copying: the arguments alias the buffer, which the bufio.Reader
// keeps as it is until the next read from it. ok is false, and nothing is
// consumed, when the buffer holds less than a whole command or anything
// the slow path must judge (a protocol error, a limit): ReadCommand then
// reads it as before, with the same errors.
func (r *Reader) commandBuffered() (args [][]byte, raw []byte, ok bool) {
	buf, _ := r.br.Peek(r.br.Buffered())
	count, i, ok := fastLen(buf, 0, '*', r.MaxArray)
	if !ok {
		return nil, nil, false
	}
	r.args = r.args[:0]
	for ; count > 0; count-- {
		var n int
		if n, i, ok = fastLen(buf, i, '$', r.MaxBulk); !ok || len(buf)-i < n+2 {
			return nil, nil, false
		}
		if buf[i+n] != '\r' || buf[i+n+1] != '\n' {
			return nil, nil, false
		}
		r.args = append(r.args, buf[i:i+n:i+n])
		i += n + 2
	}
	r.br.Discard(i)
	r.n += int64(i)
	return r.args, buf[:i:i], true
}

// fastLen parses the line "<prefix><len>\r\n" at buf[i:], as parseLen
// does but accepting no -1, and returns the length and where the line
// ends. ok is false for a line not whole in buf, or anything unusual.
func fastLen(buf []byte, i int, prefix byte, max int) (n, next int, ok bool) {
	if i >= len(buf) || buf[i] != prefix {
		return 0, 0, false
	}
	j := i + 1
	for ; j < len(buf) && j-i <= 11 && buf[j] >= '0' && buf[j] <= '9'; j++ {
		n = n*10 + int(buf[j]-'0')
	}
	digits := j - i - 1
	if digits == 0 || digits > 10 || (buf[i+1] == '0' && digits > 1) || n > max {
		return 0, 0, false
	}
	if j+1 >= len(buf) || buf[j] != '\r' || buf[j+1] != '\n' {
		return 0, 0, false
	}
	return n, j + 2, true
}

// readBulkInto reads one "$len\r\n<bytes>\r\n" and appends the bytes to the arena.
func (r *Reader) readBulkInto() error {
	line, err := r.readLine()
	if err != nil {
		return noEOF(err)
	}
	if len(line) == 0 || line[0] != '$' {
		return protoErr("expected a bulk string, got %s", quote(line))
	}
	n, err := parseLen(line[1:], r.MaxBulk)
	if err != nil {
		return err
	}
	if n < 0 {
		return protoErr("null bulk string in a command")
	}
	start := len(r.arena)
	r.arena = grow(r.arena, n+2)
	if _, err := io.ReadFull(r.br, r.arena[start:start+n+2]); err != nil {
		return noEOF(err)
	}
	r.n += int64(n + 2)
	if r.arena[start+n] != '\r' || r.arena[start+n+1] != '\n' {
		return protoErr("bulk string not followed by CRLF")
	}
	r.arena = r.arena[:start+n]
	return nil
}

func grow(b []byte, n int) []byte {
	if cap(b)-len(b) < n {
		nb := make([]byte, len(b), 2*cap(b)+n)
		copy(nb, b)
		b = nb
	}
	return b[:len(b)+n]
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
