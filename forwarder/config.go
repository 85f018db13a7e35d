package forwarder

import (
	"crypto/tls"
	"errors"
	"time"

	"github.com/rs/zerolog"
)

// Defaults for the zero values of Config.
const (
	DefaultDialTimeout = 5 * time.Second
	DefaultWindow      = 8192
	DefaultWindowBytes = 8 << 20

	// DefaultStringBatch and DefaultStringBatchBytes bound one MSET of
	// SetString. The target's cost per key is flat from about 50 keys per
	// MSET up; a full batch stays inside one encode buffer.
	DefaultStringBatch      = 200
	DefaultStringBatchBytes = 48 << 10

	// chunkSize is the size of one encode buffer. A buffer is written to the
	// socket when the next command does not fit in it, so writes are about
	// this large while the pipeline is busy.
	chunkSize = 64 << 10
)

// ErrClosed is wrapped by the error every call returns after Close
// ("forwarder: target 127.0.0.1:6380: closed").
var ErrClosed = errors.New("closed")

// Config describes one standalone Redis target.
type Config struct {
	Addr        string        // host:port
	TLS         *tls.Config   // nil = plain TCP
	Username    string        // ACL user ("" = default)
	Password    string        // "" = no AUTH
	ClientName  string        // CLIENT SETNAME on connect ("" = none)
	DialTimeout time.Duration // connect and handshake; default 5 s
	Window      int           // max commands sent and not yet answered; default 8192
	WindowBytes int           // max bytes sent and not yet answered; default 8 MiB
	Logger      zerolog.Logger

	// Bounds of one MSET of SetString. A key and value larger than
	// StringBatchBytes go alone as SET.
	StringBatch      int // most keys; default 200
	StringBatchBytes int // most bytes of keys and values; default 48 KiB
}

func (c Config) withDefaults() Config {
	if c.DialTimeout <= 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.Window <= 0 {
		c.Window = DefaultWindow
	}
	if c.WindowBytes <= 0 {
		c.WindowBytes = DefaultWindowBytes
	}
	if c.StringBatch <= 0 {
		c.StringBatch = DefaultStringBatch
	}
	if c.StringBatchBytes <= 0 {
		c.StringBatchBytes = DefaultStringBatchBytes
	}
	return c
}

// Stats are counters of replies the target sent. Every field is read
// atomically; the struct as a whole is not one snapshot.
type Stats struct {
	Restored       int64 // snapshot keys set: RESTORE answered with success, keys of SetString's MSET or SET answered with success
	RestoreErrors  int64 // snapshot keys refused: RESTORE answered with an error, keys of SetString's MSET or SET answered with an error
	Functions      int64 // FUNCTION LOAD answered with success
	FunctionErrors int64 // FUNCTION LOAD answered with an error
	Commands       int64 // live commands sent and answered with success (SELECT, MULTI, EXEC included)
	CommandErrors  int64 // live commands answered with an error, plus failed commands inside an EXEC
	Skipped        int64 // live commands not sent (PING, REPLCONF, SELECT of the current db)
	Pending        int64 // commands encoded and not yet answered
	PeakPending    int64 // highest Pending seen
}

// add sums two sets of counters (PeakPending: the higher).
func (s Stats) add(o Stats) Stats {
	return Stats{
		Restored: s.Restored + o.Restored, RestoreErrors: s.RestoreErrors + o.RestoreErrors,
		Functions: s.Functions + o.Functions, FunctionErrors: s.FunctionErrors + o.FunctionErrors,
		Commands: s.Commands + o.Commands, CommandErrors: s.CommandErrors + o.CommandErrors,
		Skipped: s.Skipped + o.Skipped, Pending: s.Pending + o.Pending,
		PeakPending: max(s.PeakPending, o.PeakPending),
	}
}
