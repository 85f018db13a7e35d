package psync

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrRetryLater is wrapped by errors that a later attempt may not meet: the
// master is loading its dataset, or is a replica whose own link is down.
var ErrRetryLater = errors.New("source not ready")

// ErrClosed is returned by a Conn after Close.
var ErrClosed = errors.New("psync: connection closed")

// ErrLinkLost is wrapped by the error of a snapshot reader whose link ended
// (closed by the master, broken, or silent past the read timeout) before
// the payload's declared length or end marker arrived. It is never io.EOF
// or io.ErrUnexpectedEOF, so that a decoder does not take a lost link for
// a truncated RDB: the bytes that did arrive were not wrong, and a new
// attempt may succeed.
var ErrLinkLost = errors.New("link lost")

// HandshakeError is a refusal by the master during the handshake.
type HandshakeError struct {
	Addr  string // the master's address
	Step  string // the command that was refused: "AUTH", "PSYNC", ...
	Reply string // the master's error reply
}

func (e *HandshakeError) Error() string {
	msg := fmt.Sprintf("source %s refused %s: %s", e.Addr, e.Step, printable(e.Reply))
	if hint := e.hint(); hint != "" {
		msg += " (" + hint + ")"
	}
	return msg
}

func (e *HandshakeError) hint() string {
	switch {
	case strings.HasPrefix(e.Reply, "NOPERM"):
		return "the source user needs at least +psync +replconf +ping, and +sync for masters older than 2.8"
	case strings.HasPrefix(e.Reply, "WRONGPASS"), strings.Contains(e.Reply, "invalid password"):
		return "check the user and password in the source URL"
	case strings.HasPrefix(e.Reply, "NOAUTH"):
		return "the source requires a password: add it to the source URL"
	}
	return ""
}

// Unwrap lets errors.Is(err, ErrRetryLater) see retryable refusals.
func (e *HandshakeError) Unwrap() error {
	if isRetryable(e.Reply) {
		return ErrRetryLater
	}
	return nil
}

func isRetryable(reply string) bool {
	return strings.HasPrefix(reply, "LOADING") ||
		strings.HasPrefix(reply, "NOMASTERLINK") ||
		strings.HasPrefix(reply, "MASTERDOWN") ||
		strings.HasPrefix(reply, "BUSY") ||
		strings.Contains(reply, "not connected with my master")
}

// maxQuoted bounds what a reply quoted into an error shows: a garbage line
// from something that is not a Redis server can be kilobytes long.
const maxQuoted = 64

// quote returns s quoted for an error message. When the quoted form is
// longer than maxQuoted, s is cut until its quoted form fits, and "…"
// follows.
func quote(s string) string {
	if q := strconv.Quote(s); len(q) <= maxQuoted+2 {
		return q
	}
	n := min(len(s), maxQuoted)
	for n > 0 && len(strconv.Quote(s[:n])) > maxQuoted+2 {
		n--
	}
	return strconv.Quote(s[:n]) + "…"
}

// printable returns a server's error message as it is when it reads as
// one (printable ASCII, of a sane length), else quoted and cut.
func printable(s string) string {
	if len(s) > 256 {
		return quote(s)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return quote(s)
		}
	}
	return s
}
