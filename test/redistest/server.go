package redistest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/replicant/replicant/internal/redisreply"
)

// ErrNoBinary is returned by Start when no redis-server binary can be found.
var ErrNoBinary = errors.New("redis-server not found in PATH: install redis-server (make test does it)")

const (
	startAttempts = 5                // ports tried when a server cannot bind
	readyTimeout  = 10 * time.Second // how long Start waits for PING
	stopTimeout   = 10 * time.Second // how long Stop waits after SIGTERM
	killTimeout   = 5 * time.Second  // how long Stop and Kill wait after SIGKILL
)

// Options configures Start. The zero value starts a plain redis-server from PATH.
type Options struct {
	// Binary is the redis-server to run; default $REDIS_SERVER, else
	// "redis-server" looked up in PATH.
	Binary string
	// Args are extra arguments appended to the command line, e.g.
	// "--repl-diskless-sync", "yes" or "--requirepass", "pw".
	Args []string
	// Password is used by the clients only; a caller that wants the server to
	// require it adds "--requirepass" to Args itself.
	Password string
	// Username is the ACL user for the clients (Redis 6.0+); empty means default.
	Username string
}

// Server is a redis-server process started on a free loopback port in its own
// temporary directory. Stop it when done.
type Server struct {
	Addr   string        // "127.0.0.1:port"
	Port   int           // the TCP port
	Dir    string        // the server's --dir, removed by Stop
	Client *redis.Client // db 0, authenticated with Options.Password/Username

	opts Options
	child
	logPath string // redis.log, written by the server
	outPath string // stdout+stderr of the process (early config errors)

	mu      sync.Mutex
	clients map[int]*redis.Client // by db, closed by Stop
}

// Start runs a redis-server on a free loopback port and waits until it answers
// PING. It retries on another port if the server fails to bind. On failure the
// error includes the tail of the server's log.
func Start(ctx context.Context, opts Options) (*Server, error) {
	bin, err := findBinary(opts.Binary)
	if err != nil {
		return nil, err
	}
	opts.Binary = bin
	for attempt := 1; ; attempt++ {
		s, err := startOnce(ctx, opts)
		if err == nil {
			return s, nil
		}
		if !errors.Is(err, errAddrInUse) || attempt == startAttempts {
			return nil, err
		}
	}
}

var errAddrInUse = errors.New("address already in use")

func findBinary(bin string) (string, error) {
	if bin == "" {
		bin = os.Getenv("REDIS_SERVER")
	}
	if bin == "" {
		bin = "redis-server"
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		if bin == "redis-server" {
			return "", ErrNoBinary
		}
		return "", fmt.Errorf("redistest: redis-server binary %q: %w", bin, err)
	}
	return path, nil
}

// startOnce makes one attempt on one port; the directory is removed on failure.
func startOnce(ctx context.Context, opts Options) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "redistest-*")
	if err != nil {
		return nil, fmt.Errorf("redistest: temp dir: %w", err)
	}
	s := &Server{
		Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Port: port, Dir: dir,
		opts: opts, clients: map[int]*redis.Client{},
		logPath: filepath.Join(dir, "redis.log"), outPath: filepath.Join(dir, "stdout.log"),
	}
	if err := s.spawn(ctx); err != nil {
		s.cleanupFailed()
		return nil, err
	}
	s.Client = s.ClientDB(0)
	if err := s.waitReady(ctx); err != nil {
		s.cleanupFailed()
		return nil, err
	}
	return s, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("redistest: pick a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// args is the full command line after the binary.
func (s *Server) args(ctx context.Context) []string {
	a := []string{
		"--port", strconv.Itoa(s.Port), "--bind", "127.0.0.1", "--dir", s.Dir,
		"--save", "", "--appendonly", "no", "--logfile", s.logPath, "--daemonize", "no",
	}
	if v, err := binaryVersion(ctx, s.opts.Binary); err == nil && versionAtLeast(v, 7, 0) {
		a = append(a, "--enable-debug-command", "yes")
	}
	return append(a, s.opts.Args...)
}

func (s *Server) spawn(ctx context.Context) error {
	return s.launch(s.opts.Binary, s.args(ctx), s.Dir, s.outPath)
}

// waitReady polls PING until it answers, the process exits or time runs out.
func (s *Server) waitReady(ctx context.Context) error {
	return s.child.waitReady(ctx, s.ping, s.startError)
}

// ping reports nil once the server accepts commands. NOAUTH counts as up: the
// server is serving, only this client lacks the password.
func (s *Server) ping(ctx context.Context) error {
	pctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	err := s.Client.Ping(pctx).Err()
	if err != nil && strings.HasPrefix(err.Error(), "NOAUTH") {
		return nil
	}
	return err
}

func (s *Server) startError(err error) error {
	tail := s.LogTail(20)
	if strings.Contains(tail, "Address already in use") {
		err = fmt.Errorf("%w: %v", errAddrInUse, err)
	}
	return fmt.Errorf("redistest: start redis-server on %s: %w\nlog tail:\n%s", s.Addr, err, tail)
}

func (s *Server) cleanupFailed() {
	_ = s.Stop()
}

// Pid is the process id of the server.
func (s *Server) Pid() int { return s.pid() }

// Exited is closed once the server process has ended and been reaped.
func (s *Server) Exited() <-chan struct{} { return s.exited }

// Stop sends SIGTERM, waits (bounded) for the process to exit, then sends
// SIGKILL if needed; it closes the clients and removes Dir. It may be called
// more than once and after Kill.
func (s *Server) Stop() error {
	var errs []error
	if err := s.terminate(); err != nil {
		errs = append(errs, err)
	}
	s.closeClients()
	if err := os.RemoveAll(s.Dir); err != nil {
		errs = append(errs, fmt.Errorf("redistest: remove %s: %w", s.Dir, err))
	}
	return errors.Join(errs...)
}

// Kill sends SIGKILL at once and waits (bounded) until the process is gone.
// Dir and the log stay until Stop.
func (s *Server) Kill() error { return s.kill() }

// LogTail returns the last n lines of the server's log (and of its stdout and
// stderr, where early configuration errors go).
func (s *Server) LogTail(n int) string {
	return tailLines(s.outPath, n) + tailLines(s.logPath, n)
}

func tailLines(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		return ""
	}
	lines := strings.SplitAfter(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "") + "\n"
}

// ClientDB returns a client for database db, created on first use and owned by
// the Server: Stop closes it. It uses Options.Password and Options.Username.
func (s *Server) ClientDB(db int) *redis.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.clients[db]; ok {
		return c
	}
	c := redis.NewClient(s.ClientOptions(db))
	s.clients[db] = c
	return c
}

// ClientOptions are the options ClientDB uses, for callers that want their
// own client (and must close it themselves).
func (s *Server) ClientOptions(db int) *redis.Options {
	return &redis.Options{
		Addr: s.Addr, DB: db, Username: s.opts.Username, Password: s.opts.Password,
		DisableIndentity: true, // no CLIENT SETINFO: older servers reject it
		ReadTimeout:      30 * time.Second,
	}
}

func (s *Server) closeClients() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for db, c := range s.clients {
		_ = c.Close()
		delete(s.clients, db)
	}
}

// Version returns the server's redis_version from INFO server.
func (s *Server) Version(ctx context.Context) (string, error) {
	info, err := s.Client.Info(ctx, "server").Result()
	if err != nil {
		return "", fmt.Errorf("redistest: INFO server: %w", err)
	}
	v := redisreply.InfoField(info, "redis_version")
	if v == "" {
		return "", errors.New("redistest: INFO server has no redis_version")
	}
	return v, nil
}

// Digest returns DEBUG DIGEST of the server: equal digests mean equal
// datasets, expiry times included. It needs --enable-debug-command yes
// (Start sets it for 7.0+).
func Digest(ctx context.Context, s *Server) (string, error) {
	d, err := s.Client.Do(ctx, "DEBUG", "DIGEST").Text()
	if err != nil {
		return "", fmt.Errorf("redistest: DEBUG DIGEST on %s: %w", s.Addr, err)
	}
	return d, nil
}

// Restart stops the process (SIGTERM, then SIGKILL if needed) and starts it
// again with the same port, dir and arguments, so it loads whatever it
// persisted (an RDB saved before, or its AOF). Clients reconnect by
// themselves.
func (s *Server) Restart(ctx context.Context) error {
	if err := s.terminate(); err != nil {
		return err
	}
	if err := s.spawn(ctx); err != nil {
		return err
	}
	return s.waitReady(ctx)
}
