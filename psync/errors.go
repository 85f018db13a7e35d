package psync

import (
	"errors"
	"fmt"
	"strings"
)

// ErrRetryLater is wrapped by errors that a later attempt may not meet: the
// master is loading its dataset, or is a replica whose own link is down.
var ErrRetryLater = errors.New("source not ready")

// ErrClosed is returned by a Conn after Close.
var ErrClosed = errors.New("psync: connection closed")

// HandshakeError is a refusal by the master during the handshake.
type HandshakeError struct {
	Addr  string // the master's address
	Step  string // the command that was refused: "AUTH", "PSYNC", ...
	Reply string // the master's error reply
}

func (e *HandshakeError) Error() string {
	msg := fmt.Sprintf("source %s refused %s: %s", e.Addr, e.Step, e.Reply)
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
