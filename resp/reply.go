package resp

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
)

// Kind is the first byte of a RESP value.
type Kind byte

// Reply kinds. RESP3 kinds are read so that a server that sends them does
// not break the reader; replicant itself speaks RESP2.
const (
	SimpleString Kind = '+'
	Error        Kind = '-'
	Integer      Kind = ':'
	BulkString   Kind = '$'
	Array        Kind = '*'
	Null         Kind = '_'
	Double       Kind = ','
	Boolean      Kind = '#'
	BigNumber    Kind = '('
	BulkError    Kind = '!'
	Verbatim     Kind = '='
	Map          Kind = '%'
	Set          Kind = '~'
	Push         Kind = '>'
	Attribute    Kind = '|'
)

// Reply is one decoded reply. Str holds simple strings, errors, bulk strings
// and the text of numbers; Int holds integers; Elems holds aggregates.
// IsNil is set for RESP2 null bulk strings and arrays and for RESP3 null.
type Reply struct {
	Kind  Kind
	Str   []byte
	Int   int64
	Elems []Reply
	IsNil bool
}

// ServerError is an error reply from a server.
type ServerError struct{ Msg string }

func (e *ServerError) Error() string { return e.Msg }

// Prefix returns the error code, the first word of the message ("ERR",
// "WRONGPASS", "NOPERM", "LOADING", "MOVED", ...).
func (e *ServerError) Prefix() string {
	for i := 0; i < len(e.Msg); i++ {
		if e.Msg[i] == ' ' {
			return e.Msg[:i]
		}
	}
	return e.Msg
}

// Err returns the reply as an error when it is an error reply, else nil.
func (r *Reply) Err() error {
	if r.Kind == Error || r.Kind == BulkError {
		return &ServerError{Msg: string(r.Str)}
	}
	return nil
}

// String renders the reply for logs.
func (r *Reply) String() string {
	if r.IsNil {
		return "(nil)"
	}
	switch r.Kind {
	case Integer:
		return strconv.FormatInt(r.Int, 10)
	case Array, Map, Set, Push, Attribute:
		if r.Elems == nil { // read by ReadHead or ReadStatus: Int counts them
			return fmt.Sprintf("%d elements", r.Int)
		}
		return fmt.Sprintf("%d elements", len(r.Elems))
	}
	return string(truncate(r.Str))
}

// ReadReply reads one reply. Its byte slices are fresh copies.
func (r *Reader) ReadReply() (Reply, error) {
	return r.readReply(0)
}

// replyHead reads a reply's first line, depth levels down: the reply with
// its kind, and what follows the kind byte.
func (r *Reader) replyHead(depth int) (Reply, []byte, error) {
	if depth > maxDepth {
		return Reply{}, nil, protoErr("reply nested deeper than %d", maxDepth)
	}
	line, err := r.readLine()
	if err != nil {
		if depth > 0 {
			err = noEOF(err)
		}
		return Reply{}, nil, err
	}
	if len(line) == 0 {
		return Reply{}, nil, protoErr("empty reply line")
	}
	return Reply{Kind: Kind(line[0])}, line[1:], nil
}

func (r *Reader) readReply(depth int) (Reply, error) {
	rep, body, err := r.replyHead(depth)
	if err != nil {
		return Reply{}, err
	}
	switch rep.Kind {
	case SimpleString, Error, Double, BigNumber, Boolean:
		rep.Str = append([]byte(nil), body...)
	case Null:
		rep.IsNil = true
	case Integer:
		rep.Int, err = strconv.ParseInt(string(body), 10, 64)
		if err != nil {
			return Reply{}, protoErr("bad integer %s", quote(body))
		}
	case BulkString, BulkError, Verbatim:
		err = r.readBulkReply(&rep, body)
	case Array, Set, Push, Map, Attribute:
		err = r.readAggregate(&rep, body, depth)
	default:
		return Reply{}, protoErr("unknown reply type %s", quote(append([]byte{byte(rep.Kind)}, body...)))
	}
	if err != nil {
		return Reply{}, err
	}
	if rep.Kind == Attribute { // out-of-band metadata: the reply follows it
		return r.readReply(depth)
	}
	return rep, nil
}

// headBulk parses a bulk reply's first line: its length, or -1 with
// rep.IsNil set for a nil bulk reply.
func (r *Reader) headBulk(rep *Reply, body []byte) (int, error) {
	n, err := parseLen(body, r.MaxBulk)
	if err == nil && n < 0 {
		rep.IsNil = true
	}
	return n, err
}

func (r *Reader) readBulkReply(rep *Reply, body []byte) error {
	n, err := r.headBulk(rep, body)
	if err != nil || n < 0 {
		return err
	}
	buf := make([]byte, n+2)
	if _, err := io.ReadFull(r.br, buf); err != nil {
		return noEOF(err)
	}
	r.n += int64(n + 2)
	if buf[n] != '\r' || buf[n+1] != '\n' {
		return protoErr("bulk reply not followed by CRLF")
	}
	rep.Str = buf[:n:n]
	return nil
}

func (r *Reader) readAggregate(rep *Reply, body []byte, depth int) error {
	if err := r.headAggregate(rep, body); err != nil || rep.IsNil {
		return err
	}
	n := int(rep.Int)
	rep.Int = 0 // ReadReply gives an aggregate's elements, not their count
	rep.Elems = make([]Reply, 0, min(n, 1024))
	for i := 0; i < n; i++ {
		e, err := r.readReply(depth + 1)
		if err != nil {
			return err
		}
		rep.Elems = append(rep.Elems, e)
	}
	return nil
}

// SkipSuccesses reads up to n replies that are simple strings or integers
// (+QUEUED, +OK, :1: successes whose content does not matter) while they
// are whole in the read buffer, and returns how many it read. It reads
// nothing from the connection, and stops before any other reply, which
// the caller reads with ReadStatus. It is ReadStatus for the common case
// of a run of successes, at a fraction of the cost.
func (r *Reader) SkipSuccesses(n int) int {
	buf, _ := r.br.Peek(r.br.Buffered())
	i, k := 0, 0
	for ; k < n && i < len(buf) && (buf[i] == '+' || buf[i] == ':'); k++ {
		j := bytes.IndexByte(buf[i:], '\n')
		if j < 2 || buf[i+j-1] != '\r' {
			break
		}
		i += j + 1
	}
	r.br.Discard(i)
	r.n += int64(i)
	return k
}

// ReadStatus reads one reply as ReadReply does but keeps only its outcome,
// and allocates nothing unless the reply is an error: Str is set for an
// error (and a simple string or number line, aliasing the read buffer:
// valid until the next read), Int for an integer and for an aggregate its
// element count; the bytes of bulk strings and the elements of aggregates
// are read and dropped. For replies whose content does not matter, only
// whether they are errors (the replies inside an EXEC).
func (r *Reader) ReadStatus() (Reply, error) {
	rep, err := r.ReadHead()
	if err != nil || !rep.Aggregate() || rep.IsNil {
		return rep, err
	}
	return rep, r.skipElems(rep.Int, 1)
}

// ReadHead is ReadStatus that stops after an aggregate's first line: Int
// says how many replies follow as its elements (pairs counted twice), for
// the caller to read, each with ReadStatus. Any other reply is read whole.
func (r *Reader) ReadHead() (Reply, error) { return r.readHead(0) }

func (r *Reader) readHead(depth int) (Reply, error) {
	rep, body, err := r.replyHead(depth)
	if err != nil {
		return Reply{}, err
	}
	switch rep.Kind {
	case Error:
		rep.Str = append([]byte(nil), body...)
	case SimpleString, Double, BigNumber, Boolean:
		rep.Str = body
	case Null:
		rep.IsNil = true
	case Integer:
		if rep.Int, err = parseInt(body); err != nil {
			return Reply{}, err
		}
	case BulkError:
		err = r.readBulkReply(&rep, body)
	case BulkString, Verbatim:
		err = r.skipBulk(&rep, body)
	case Array, Set, Push, Map, Attribute:
		err = r.headAggregate(&rep, body)
	default:
		return Reply{}, protoErr("unknown reply type %s", quote(append([]byte{byte(rep.Kind)}, body...)))
	}
	if err != nil {
		return Reply{}, err
	}
	if rep.Kind == Attribute { // out-of-band metadata: the reply follows it
		if err := r.skipElems(rep.Int, depth+1); err != nil {
			return Reply{}, err
		}
		return r.readHead(depth)
	}
	return rep, nil
}

// Aggregate reports an array, set, push, map or attribute reply.
func (rep *Reply) Aggregate() bool {
	switch rep.Kind {
	case Array, Set, Push, Map, Attribute:
		return true
	}
	return false
}

// parseInt parses an integer reply's text without allocating.
func parseInt(b []byte) (int64, error) {
	neg := len(b) > 0 && b[0] == '-'
	d := b
	if neg {
		d = b[1:]
	}
	var n int64
	for _, c := range d {
		if c < '0' || c > '9' {
			n = -1
			break
		}
		n = n*10 + int64(c-'0')
	}
	if len(d) == 0 || len(d) > 18 || n < 0 { // rare: strconv judges
		n, err := strconv.ParseInt(string(b), 10, 64)
		if err != nil {
			return 0, protoErr("bad integer %s", quote(b))
		}
		return n, nil
	}
	if neg {
		n = -n
	}
	return n, nil
}

// skipBulk reads and drops a bulk reply's bytes.
func (r *Reader) skipBulk(rep *Reply, body []byte) error {
	n, err := r.headBulk(rep, body)
	if err != nil || n < 0 {
		return err
	}
	if _, err := r.br.Discard(n); err != nil {
		return noEOF(err)
	}
	crlf, err := r.br.Peek(2)
	if err != nil {
		return noEOF(err)
	}
	if crlf[0] != '\r' || crlf[1] != '\n' {
		return protoErr("bulk reply not followed by CRLF")
	}
	r.br.Discard(2)
	r.n += int64(n + 2)
	return nil
}

// headAggregate parses an aggregate's first line into rep.Int.
func (r *Reader) headAggregate(rep *Reply, body []byte) error {
	n, err := parseLen(body, r.MaxArray)
	if err != nil {
		return err
	}
	if n < 0 {
		rep.IsNil = true
		return nil
	}
	if rep.Kind == Map || rep.Kind == Attribute {
		if 2*n > r.MaxArray {
			return protoErr("map of %d pairs over the limit", n)
		}
		n *= 2
	}
	rep.Int = int64(n)
	return nil
}

// skipElems reads and drops n replies nested at depth.
func (r *Reader) skipElems(n int64, depth int) error {
	for ; n > 0; n-- {
		e, err := r.readHead(depth)
		if err != nil {
			return err
		}
		if e.Aggregate() && !e.IsNil {
			if err := r.skipElems(e.Int, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}
