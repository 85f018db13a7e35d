package psync

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/replicant/replicant/resp"
)

// Config says how to reach a master and how to behave as its replica.
type Config struct {
	Addr          string        // host:port of the master
	TLS           *tls.Config   // nil for plain TCP
	Username      string        // ACL user; "" uses AUTH <password> alone
	Password      string        // "" sends no AUTH
	ListeningPort int           // announced with REPLCONF listening-port; 0 announces the local port
	ReplID        string        // replication id to resume from; "" asks for a full resync
	Offset        int64         // last offset processed under ReplID; PSYNC asks for Offset+1
	DialTimeout   time.Duration // TCP and TLS connect; default 5 s
	ReadTimeout   time.Duration // silence from the master that ends the link; default 60 s (repl-timeout)
	AckInterval   time.Duration // REPLCONF ACK period; default 1 s
	ReadBuffer    int           // bytes buffered from the socket; default 256 KiB
	// Applied returns the offset to report in REPLCONF ACK. nil reports the
	// offset received so far.
	Applied func() int64
	Logger  zerolog.Logger
}

func (c *Config) defaults() {
	if c.DialTimeout <= 0 {
		c.DialTimeout = 5 * time.Second
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = 60 * time.Second
	}
	if c.AckInterval <= 0 {
		c.AckInterval = time.Second
	}
	if c.ReadBuffer <= 0 {
		c.ReadBuffer = 256 << 10
	}
}

// Conn is one replication link to a master.
type Conn struct {
	cfg  Config
	conn net.Conn
	br   *bufio.Reader
	rd   *resp.Reader
	log  zerolog.Logger

	full     bool // the master answered FULLRESYNC (or SYNC)
	legacy   bool // SYNC: no offsets, no ACKs
	replID   string
	start    int64 // offset at which the command stream begins
	received atomic.Int64

	payload   *payloadReader // nil until Snapshot, and after it is drained
	streaming bool
	acking    atomic.Bool // the ACK ticker runs
	wmu       sync.Mutex  // guards writes to conn
	closed    chan struct{}
	closeOnce sync.Once
	ackDone   chan struct{}
}

// Dial connects to the master and performs the handshake up to and
// including the answer to PSYNC. Errors that wrap ErrRetryLater mean the
// master is not ready (loading, or a replica whose link is down).
func Dial(ctx context.Context, cfg Config) (*Conn, error) {
	cfg.defaults()
	nc, err := dial(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", cfg.Addr, err)
	}
	c := &Conn{
		cfg:     cfg,
		conn:    nc,
		log:     cfg.Logger.With().Str("source", cfg.Addr).Logger(),
		closed:  make(chan struct{}),
		ackDone: make(chan struct{}),
	}
	c.br = bufio.NewReaderSize(deadlineReader{nc, cfg.ReadTimeout}, cfg.ReadBuffer)
	c.rd = resp.NewReaderFrom(c.br)
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Now()) })
	err = c.handshake()
	if !stop() {
		err = fmt.Errorf("source %s: handshake: %w", cfg.Addr, ctx.Err())
	} else {
		nc.SetDeadline(time.Time{})
	}
	if err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

func dial(ctx context.Context, cfg Config) (net.Conn, error) {
	d := &net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 15 * time.Second}
	if cfg.TLS == nil {
		return d.DialContext(ctx, "tcp", cfg.Addr)
	}
	td := &tls.Dialer{NetDialer: d, Config: cfg.TLS}
	return td.DialContext(ctx, "tcp", cfg.Addr)
}

// deadlineReader renews the read deadline before every read from the socket,
// so that a master silent for longer than the timeout ends the link.
type deadlineReader struct {
	c       net.Conn
	timeout time.Duration
}

func (d deadlineReader) Read(p []byte) (int, error) {
	d.c.SetReadDeadline(time.Now().Add(d.timeout))
	return d.c.Read(p)
}

func (c *Conn) handshake() error {
	if err := c.ping(); err != nil {
		return err
	}
	if err := c.auth(); err != nil {
		return err
	}
	c.replconf()
	return c.psync()
}

func (c *Conn) ping() error {
	reply, err := c.call("PING")
	if err != nil {
		return err
	}
	switch {
	case strings.HasPrefix(reply, "+"):
		return nil
	case !strings.HasPrefix(reply, "-"):
		return fmt.Errorf("source %s: answered PING with %s: not a Redis server?", c.cfg.Addr, quote(reply))
	case strings.HasPrefix(reply, "-NOAUTH"), strings.HasPrefix(reply, "-NOPERM"),
		strings.HasPrefix(reply, "-ERR operation not permitted"):
		return nil // AUTH comes next
	}
	return c.refused("PING", reply)
}

func (c *Conn) auth() error {
	if c.cfg.Password == "" {
		return nil
	}
	args := []string{"AUTH", c.cfg.Password}
	if c.cfg.Username != "" {
		args = []string{"AUTH", c.cfg.Username, c.cfg.Password}
	}
	reply, err := c.call(args...)
	if err != nil {
		return err
	}
	if strings.HasPrefix(reply, "-") {
		return c.refused("AUTH", reply)
	}
	return nil
}

// replconf announces the port and capabilities. Errors are ignored, as a
// real replica does: old masters do not know every option.
func (c *Conn) replconf() {
	port := c.cfg.ListeningPort
	if port == 0 {
		if a, ok := c.conn.LocalAddr().(*net.TCPAddr); ok {
			port = a.Port
		}
	}
	for _, args := range [][]string{
		{"REPLCONF", "listening-port", strconv.Itoa(port)},
		{"REPLCONF", "capa", "eof", "capa", "psync2"},
	} {
		if reply, err := c.call(args...); err != nil || strings.HasPrefix(reply, "-") {
			c.log.Debug().Strs("cmd", args[:2]).Str("reply", reply).Err(err).Msg("REPLCONF not accepted")
		}
	}
}

func (c *Conn) refused(step, reply string) error {
	return &HandshakeError{Addr: c.cfg.Addr, Step: step, Reply: strings.TrimPrefix(reply, "-")}
}

// call sends one command and reads its one-line reply, skipping the empty
// keepalive lines a master may send. Multi-line replies are not expected
// during the handshake.
func (c *Conn) call(args ...string) (string, error) {
	if err := c.write(resp.AppendCommandString(nil, args...)); err != nil {
		return "", err
	}
	return c.readLine()
}

func (c *Conn) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.conn.SetWriteDeadline(time.Now().Add(c.cfg.ReadTimeout))
	if _, err := c.conn.Write(b); err != nil {
		return fmt.Errorf("source %s: write: %w", c.cfg.Addr, err)
	}
	return nil
}

// readLine reads the next non-empty line of a reply, without its line end.
func (c *Conn) readLine() (string, error) {
	for {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			return "", fmt.Errorf("source %s: read: %w", c.cfg.Addr, err)
		}
		s := strings.TrimRight(string(line), "\r\n")
		if s != "" {
			return s, nil
		}
	}
}
