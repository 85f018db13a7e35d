package resp

import (
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
		return fmt.Sprintf("%d elements", len(r.Elems))
	}
	return string(truncate(r.Str))
}

// ReadReply reads one reply. Its byte slices are fresh copies.
func (r *Reader) ReadReply() (Reply, error) {
	return r.readReply(0)
}

func (r *Reader) readReply(depth int) (Reply, error) {
	if depth > maxDepth {
		return Reply{}, protoErr("reply nested deeper than %d", maxDepth)
	}
	line, err := r.readLine()
	if err != nil {
		if depth > 0 {
			err = noEOF(err)
		}
		return Reply{}, err
	}
	if len(line) == 0 {
		return Reply{}, protoErr("empty reply line")
	}
	rep := Reply{Kind: Kind(line[0])}
	body := line[1:]
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
		return Reply{}, protoErr("unknown reply type %s", quote(line))
	}
	if err != nil {
		return Reply{}, err
	}
	if rep.Kind == Attribute { // out-of-band metadata: the reply follows it
		return r.readReply(depth)
	}
	return rep, nil
}

func (r *Reader) readBulkReply(rep *Reply, body []byte) error {
	n, err := parseLen(body, r.MaxBulk)
	if err != nil {
		return err
	}
	if n < 0 {
		rep.IsNil = true
		return nil
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
