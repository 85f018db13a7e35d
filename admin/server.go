package admin

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/redcon"
)

// Options configure the RESP endpoint.
type Options struct {
	// Password, when set, must be given with AUTH before any other command
	// but PING.
	Password string
	// CutoverTimeout is CUTOVER's wait when no TIMEOUT is given (default 30s).
	CutoverTimeout time.Duration
}

// ErrNoPassword is returned by CheckAddr for an address other than
// loopback when no password is set.
var ErrNoPassword = errors.New("admin: an address other than loopback needs a password")

// CheckAddr says whether addr may be served with that password: anything
// but a loopback address needs one.
func CheckAddr(addr, password string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	if password != "" || host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%w: %q", ErrNoPassword, addr)
}

// Server is the RESP endpoint.
type Server struct {
	p    Provider
	opts Options
	ln   net.Listener
	srv  *redcon.Server
}

// Listen binds addr; Serve then answers on it.
func Listen(addr string, opts Options, p Provider) (*Server, error) {
	if err := CheckAddr(addr, opts.Password); err != nil {
		return nil, err
	}
	if opts.CutoverTimeout <= 0 {
		opts.CutoverTimeout = 30 * time.Second
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("admin: %w", err)
	}
	s := &Server{p: p, opts: opts, ln: ln}
	s.srv = redcon.NewServer(addr, s.handle, s.accept, nil)
	return s, nil
}

// Addr is the address listened on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Serve answers clients until Close.
func (s *Server) Serve() error { return s.srv.Serve(s.ln) }

// Close stops listening and closes every client connection.
func (s *Server) Close() error {
	if err := s.srv.Close(); err != nil {
		return s.ln.Close() // Serve never ran
	}
	return nil
}

// session is a client's state.
type session struct{ authed bool }

func (s *Server) accept(c redcon.Conn) bool {
	c.SetContext(&session{authed: s.opts.Password == ""})
	return true
}

func (s *Server) handle(c redcon.Conn, cmd redcon.Command) {
	if len(cmd.Args) == 0 {
		return
	}
	name := strings.ToUpper(string(cmd.Args[0]))
	args := cmd.Args[1:]
	sess := c.Context().(*session)
	switch {
	case name == "AUTH":
		s.auth(c, sess, args)
		return
	case name == "QUIT":
		c.WriteString("OK")
		c.Close()
		return
	case !sess.authed:
		c.WriteError("NOAUTH Authentication required.")
		return
	}
	switch name {
	case "PING":
		if len(args) > 0 {
			c.WriteBulk(args[0])
		} else {
			c.WriteString("PONG")
		}
	case "INFO":
		c.WriteBulkString(Info(s.p.Snapshot(), stringArgs(args)...))
	case "PAUSE":
		s.p.PauseApplying()
		c.WriteString("OK")
	case "RESUME":
		s.p.ResumeApplying()
		c.WriteString("OK")
	case "CUTOVER":
		s.cutover(c, args)
	case "SHUTDOWN":
		c.WriteString("OK")
		c.Close() // flushes the reply first
		s.p.Shutdown()
	default:
		c.WriteError(fmt.Sprintf("ERR unknown command '%s'", cmd.Args[0]))
	}
}

func (s *Server) auth(c redcon.Conn, sess *session, args [][]byte) {
	var pass []byte
	switch len(args) {
	case 1:
		pass = args[0]
	case 2:
		pass = args[1] // AUTH <user> <password>: one user
	default:
		c.WriteError("ERR wrong number of arguments for 'auth' command")
		return
	}
	if s.opts.Password == "" {
		c.WriteError("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")
		return
	}
	if subtle.ConstantTimeCompare(pass, []byte(s.opts.Password)) != 1 {
		sess.authed = false
		c.WriteError("WRONGPASS invalid username-password pair or user is disabled.")
		return
	}
	sess.authed = true
	c.WriteString("OK")
}

// cutover runs CUTOVER [TIMEOUT seconds] [KEEPSYNCING]. It blocks this
// client's connection, not the others.
func (s *Server) cutover(c redcon.Conn, args [][]byte) {
	timeout, keep, err := parseCutover(args, s.opts.CutoverTimeout)
	if err != nil {
		c.WriteError("ERR " + err.Error())
		return
	}
	res, err := s.p.Cutover(context.Background(), timeout, keep)
	if err != nil {
		c.WriteError("ERR cutover: " + oneLine(err.Error()))
		return
	}
	c.WriteBulkString(FormatCutover(res))
	if !res.KeepSyncing {
		c.Close() // flushes the reply first
		s.p.Shutdown()
	}
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
	if r.KeepSyncing {
		fmt.Fprintf(&b, "source: unpaused, the sync goes on\n")
	} else {
		fmt.Fprintf(&b, "source: writes stay paused until %s (CLIENT UNPAUSE to release them); replicant stops\n",
			r.PausedUntil.UTC().Format(time.RFC3339Nano))
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
