package admin

import (
	"bufio"
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/replicant/replicant/resp"
)

// Limits of the RESP endpoint. A client that goes past one is answered a
// protocol error and disconnected; none of them makes the endpoint hold
// more than a few hundred KB per connection.
const (
	// DefaultMaxClients is the default of Options.MaxClients.
	DefaultMaxClients = 64
	// MaxPasswordLen is the longest password a client can give before it
	// is authenticated.
	MaxPasswordLen = preAuthBulk

	lineMax      = 4 << 10     // an inline command or a length line: the read buffer
	preAuthArgs  = 8           // before AUTH: HELLO 3 AUTH user password SETNAME name
	preAuthBulk  = 512         // ... each argument; 4 KB in all
	authedArgs   = 16          // after AUTH
	authedBulk   = 4 << 10     // ... each argument; 64 KB in all
	refuseWithin = time.Second // to write the refusal to a client over the cap
)

// Options configure the RESP endpoint.
type Options struct {
	// Password, when set, must be given with AUTH before any command but
	// AUTH and QUIT. It may be MaxPasswordLen bytes long at most.
	Password string
	// CutoverTimeout is CUTOVER's wait when no TIMEOUT is given (default 30s).
	CutoverTimeout time.Duration
	// MaxClients caps the connections served at once (default
	// DefaultMaxClients). One more is answered "-ERR max number of
	// clients reached" and closed.
	MaxClients int
	// AuthTimeout is how long a client may stay connected without a
	// successful AUTH when a password is set (default 10s).
	AuthTimeout time.Duration
	// WrongPassDelay is the wait before a wrong AUTH is answered (default
	// 300ms). Wrong AUTHs wait one after another, whatever their client,
	// so that passwords cannot be guessed fast.
	WrongPassDelay time.Duration
}

func (o *Options) defaults() {
	if o.CutoverTimeout <= 0 {
		o.CutoverTimeout = 30 * time.Second
	}
	if o.MaxClients <= 0 {
		o.MaxClients = DefaultMaxClients
	}
	if o.AuthTimeout <= 0 {
		o.AuthTimeout = 10 * time.Second
	}
	if o.WrongPassDelay <= 0 {
		o.WrongPassDelay = 300 * time.Millisecond
	}
}

// ErrNoPassword is returned by CheckAddr for an address other than
// loopback when no password is set.
var ErrNoPassword = errors.New("admin: an address other than loopback needs a password")

// CheckAddr says whether addr may be served with that password: anything
// but a loopback address needs one.
func CheckAddr(addr, password string) error {
	loop, err := IsLoopback(addr)
	if err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	if password != "" || loop {
		return nil
	}
	return fmt.Errorf("%w: %q", ErrNoPassword, addr)
}

// IsLoopback says whether the host of addr ("host:port") is "localhost" or
// a loopback IP address. An empty host (every address) is not.
func IsLoopback(addr string) (bool, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false, err
	}
	if host == "localhost" {
		return true, nil
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback(), nil
}

// Server is the RESP endpoint.
type Server struct {
	p      Provider
	opts   Options
	ln     net.Listener
	done   chan struct{} // closed by Close
	wrong  sync.Mutex    // held through the delay of a wrong AUTH
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

// Listen binds addr; Serve then answers on it.
func Listen(addr string, opts Options, p Provider) (*Server, error) {
	if err := CheckAddr(addr, opts.Password); err != nil {
		return nil, err
	}
	if len(opts.Password) > MaxPasswordLen {
		return nil, fmt.Errorf("admin: a password of %d bytes is over the limit of %d", len(opts.Password), MaxPasswordLen)
	}
	opts.defaults()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("admin: %w", err)
	}
	return &Server{p: p, opts: opts, ln: ln, done: make(chan struct{}), conns: map[net.Conn]struct{}{}}, nil
}

// Addr is the address listened on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Serve answers clients until Close, each on its own goroutine.
func (s *Server) Serve() error {
	var backoff time.Duration
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			if s.isClosed() {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("admin: %w", err)
			}
			// Out of file descriptors or the like: wait, as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			select {
			case <-time.After(backoff):
			case <-s.done:
			}
			continue
		}
		backoff = 0
		if !s.track(nc) {
			refuse(nc)
			continue
		}
		go s.serveConn(nc)
	}
}

// Close stops listening and closes every client connection.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	for nc := range s.conns {
		nc.Close()
	}
	s.mu.Unlock()
	return s.ln.Close()
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// track counts nc among the connections served, unless there are
// MaxClients already or the server is closed.
func (s *Server) track(nc net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || len(s.conns) >= s.opts.MaxClients {
		return false
	}
	s.conns[nc] = struct{}{}
	return true
}

func (s *Server) untrack(nc net.Conn) {
	nc.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, nc)
}

// refuse answers a client over the cap as Redis does, and closes it.
func refuse(nc net.Conn) {
	nc.SetWriteDeadline(time.Now().Add(refuseWithin))
	nc.Write([]byte("-ERR max number of clients reached\r\n"))
	nc.Close()
}

// client is one connection's state.
type client struct {
	nc     net.Conn
	r      *resp.Reader
	w      *bufio.Writer
	authed bool
}

// serveConn reads commands from nc and answers each, until the client
// leaves, breaks a limit, or the server closes.
func (s *Server) serveConn(nc net.Conn) {
	defer s.untrack(nc)
	c := &client{nc: nc, r: resp.NewReader(nc, lineMax), w: bufio.NewWriterSize(nc, 4<<10)}
	s.setAuthed(c, s.opts.Password == "")
	for {
		args, err := c.read()
		if err != nil {
			if errors.Is(err, resp.ErrProtocol) {
				c.writeError("ERR " + err.Error())
				c.w.Flush()
			}
			return
		}
		if len(args) > 0 && !s.handle(c, args) {
			c.w.Flush()
			return
		}
		if c.r.Buffered().Buffered() == 0 { // answer a pipeline at its end
			if err := c.w.Flush(); err != nil {
				return
			}
		}
	}
}

// setAuthed sets the limits for a client: small ones and a deadline until
// it authenticates.
func (s *Server) setAuthed(c *client, authed bool) {
	c.authed = authed
	if authed {
		c.r.MaxArray, c.r.MaxBulk = authedArgs, authedBulk
		c.nc.SetDeadline(time.Time{})
		return
	}
	c.r.MaxArray, c.r.MaxBulk = preAuthArgs, preAuthBulk
	c.nc.SetDeadline(time.Now().Add(s.opts.AuthTimeout))
}

// read reads one command, a RESP array or an inline line as redis-cli
// and telnet send them. A blank line is no arguments.
func (c *client) read() ([][]byte, error) {
	br := c.r.Buffered()
	first, err := br.Peek(1)
	if err != nil {
		return nil, err
	}
	if first[0] == '*' {
		args, _, err := c.r.ReadCommand()
		return args, err
	}
	line, err := br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("%w: inline command longer than %d bytes", resp.ErrProtocol, br.Size())
	}
	if err != nil {
		return nil, err
	}
	args := bytes.Fields(line)
	if len(args) > c.r.MaxArray {
		return nil, fmt.Errorf("%w: %d arguments, over the limit %d", resp.ErrProtocol, len(args), c.r.MaxArray)
	}
	return args, nil
}

func (c *client) writeString(s string) { c.w.WriteString("+" + oneLine(s) + "\r\n") }
func (c *client) writeError(s string)  { c.w.WriteString("-" + oneLine(s) + "\r\n") }
func (c *client) writeBulk(b []byte)   { c.w.Write(resp.AppendBulk(nil, b)) }

// closeNow sends what is buffered and closes the connection.
func (c *client) closeNow() {
	c.w.Flush()
	c.nc.Close()
}

// handle answers one command; false closes the connection.
func (s *Server) handle(c *client, argv [][]byte) bool {
	name := strings.ToUpper(string(argv[0]))
	args := argv[1:]
	switch {
	case name == "AUTH":
		s.auth(c, args)
		return true
	case name == "QUIT":
		c.writeString("OK")
		return false
	case !c.authed:
		c.writeError("NOAUTH Authentication required.")
		return true
	}
	switch name {
	case "PING":
		if len(args) > 0 {
			c.writeBulk(args[0])
		} else {
			c.writeString("PONG")
		}
	case "INFO":
		c.writeBulk([]byte(Info(s.p.Snapshot(), stringArgs(args)...)))
	case "PAUSE":
		s.p.PauseApplying()
		c.writeString("OK")
	case "RESUME":
		s.p.ResumeApplying()
		c.writeString("OK")
	case "CUTOVER":
		return s.cutover(c, args)
	case "SHUTDOWN":
		c.writeString("OK")
		c.closeNow()
		s.p.Shutdown()
		return false
	default:
		c.writeError(fmt.Sprintf("ERR unknown command '%.64s'", argv[0]))
	}
	return true
}

func (s *Server) auth(c *client, args [][]byte) {
	var pass []byte
	switch len(args) {
	case 1:
		pass = args[0]
	case 2:
		pass = args[1] // AUTH <user> <password>: one user
	default:
		c.writeError("ERR wrong number of arguments for 'auth' command")
		return
	}
	if s.opts.Password == "" {
		c.writeError("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")
		return
	}
	if subtle.ConstantTimeCompare(pass, []byte(s.opts.Password)) != 1 {
		if c.authed { // not a new deadline for each wrong guess
			s.setAuthed(c, false)
		}
		s.wrongPassDelay()
		c.writeError("WRONGPASS invalid username-password pair or user is disabled.")
		return
	}
	s.setAuthed(c, true)
	c.writeString("OK")
}

// wrongPassDelay waits WrongPassDelay, one wrong AUTH after another, or
// until the server closes.
func (s *Server) wrongPassDelay() {
	s.wrong.Lock()
	defer s.wrong.Unlock()
	t := time.NewTimer(s.opts.WrongPassDelay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.done:
	}
}

// cutover runs CUTOVER [TIMEOUT seconds] [KEEPSYNCING]. It blocks this
// client's connection, not the others; false closes it.
func (s *Server) cutover(c *client, args [][]byte) bool {
	timeout, keep, err := parseCutover(args, s.opts.CutoverTimeout)
	if err != nil {
		c.writeError("ERR " + err.Error())
		return true
	}
	c.w.Flush() // a pipeline's earlier answers go before the wait
	res, err := s.p.Cutover(context.Background(), timeout, keep)
	if err != nil {
		c.writeError("ERR cutover: " + err.Error())
		return true
	}
	c.writeBulk([]byte(FormatCutover(res)))
	if !res.KeepSyncing {
		c.closeNow()
		s.p.Shutdown()
		return false
	}
	return true
}

func parseCutover(args [][]byte, timeout time.Duration) (time.Duration, bool, error) {
	keep := false
	for i := 0; i < len(args); i++ {
		switch strings.ToUpper(string(args[i])) {
		case "KEEPSYNCING":
			keep = true
		case "TIMEOUT":
			if i+1 >= len(args) {
				return 0, false, errors.New("TIMEOUT needs a number of seconds")
			}
			i++
			secs, err := strconv.ParseFloat(string(args[i]), 64)
			if err != nil || secs <= 0 || secs > 86400 {
				return 0, false, fmt.Errorf("TIMEOUT %q is not a number of seconds", args[i])
			}
			timeout = time.Duration(secs * float64(time.Second))
		default:
			return 0, false, fmt.Errorf("syntax: CUTOVER [TIMEOUT seconds] [KEEPSYNCING], not %q", args[i])
		}
	}
	return timeout, keep, nil
}

// FormatCutover is the text of a cutover's result, one fact a line.
func FormatCutover(r CutoverResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "cutover: done\n")
	fmt.Fprintf(&b, "source_offset:%d\n", r.SourceOffset)
	fmt.Fprintf(&b, "applied_offset:%d\n", r.AppliedOffset)
	fmt.Fprintf(&b, "lag_bytes:%d\n", r.LagBytes)
	fmt.Fprintf(&b, "lag_seconds:%s\n", seconds(r.LagSeconds))
	fmt.Fprintf(&b, "writes_paused_ms:%d\n", r.WritesPaused.Milliseconds())
	fmt.Fprintf(&b, "caught_up_ms:%d\n", r.CaughtUp.Milliseconds())
	if r.KeepSyncing {
		fmt.Fprintf(&b, "source: unpaused, the sync goes on\n")
		return b.String()
	}
	fmt.Fprintf(&b, "clients_killed:%d\n", r.ClientsKilled)
	fmt.Fprintf(&b, "source: refuses every write (-NOREPLICAS), its clients were cut off; replicant stops\n")
	for _, cmd := range r.Rollback {
		fmt.Fprintf(&b, "rollback: %s\n", cmd)
	}
	return b.String()
}

func stringArgs(args [][]byte) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = string(a)
	}
	return out
}

func oneLine(s string) string { return strings.NewReplacer("\r", " ", "\n", " ").Replace(s) }
