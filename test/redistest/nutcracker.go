package redistest

import (
	"bytes"
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
)

// ErrNoNutcracker is returned by StartNutcracker when no nutcracker
// (twemproxy) binary can be found.
var ErrNoNutcracker = errors.New("nutcracker not found in PATH: install nutcracker (twemproxy; make test does it)")

// NutcrackerOptions configures StartNutcracker. The zero value makes a pool
// with hash fnv1a_64, distribution ketama and no hash tag.
type NutcrackerOptions struct {
	// Binary is the nutcracker to run; default $NUTCRACKER, else
	// "nutcracker" looked up in PATH (and /usr/sbin).
	Binary string
	// Hash is the pool's hash function; default fnv1a_64.
	Hash string
	// Distribution is ketama, modula or random; default ketama.
	Distribution string
	// HashTag is the pool's hash_tag, two characters such as "{}"; empty:
	// none.
	HashTag string
	// MbufSize is nutcracker's -m (bytes); 0 leaves its default, 16384.
	MbufSize int
	// Password is the pool's redis_auth: nutcracker asks it of its clients
	// and sends it to the backends, which must all require it.
	Password string
	// Servers, when set, are the pool's servers entries as written
	// ("127.0.0.1:6379:2 alpha"), in place of one entry of weight 1 and no
	// name per backend.
	Servers []string
}

// Nutcracker is a nutcracker (twemproxy) process started on a free loopback
// port in front of redis-server backends, with its config, pid file and log
// in a temporary directory. Stop it when done.
type Nutcracker struct {
	Addr       string        // "127.0.0.1:port" of the proxy
	StatsAddr  string        // its stats port (JSON on connect)
	Dir        string        // the temporary directory, removed by Stop
	ConfigPath string        // the nutcracker.yml it runs with
	Client     *redis.Client // through the proxy: RESP2, no HELLO, no CLIENT SETINFO

	opts    NutcrackerOptions
	pidPath string
	logPath string
	outPath string
	child
	stopped sync.Once
	stopErr error
}

// nutcrackerPool is the pool name in the generated config.
const nutcrackerPool = "replicant"

// StartNutcracker writes a nutcracker.yml with one pool over backends
// (auto_eject_hosts false, so a key always maps to the same backend) and
// runs nutcracker with it until it answers PING. It retries on other ports
// if the proxy cannot bind.
func StartNutcracker(ctx context.Context, backends []*Server, o NutcrackerOptions) (*Nutcracker, error) {
	if len(backends) == 0 {
		return nil, errors.New("redistest: nutcracker needs at least one backend")
	}
	bin, err := findNutcracker(o.Binary)
	if err != nil {
		return nil, err
	}
	o.Binary = bin
	for attempt := 1; ; attempt++ {
		n, err := startNutcrackerOnce(ctx, backends, o)
		if err == nil {
			return n, nil
		}
		if !errors.Is(err, errAddrInUse) || attempt == startAttempts {
			return nil, err
		}
	}
}

func findNutcracker(bin string) (string, error) {
	if bin == "" {
		bin = os.Getenv("NUTCRACKER")
	}
	if bin != "" {
		path, err := exec.LookPath(bin)
		if err != nil {
			return "", fmt.Errorf("redistest: nutcracker binary %q: %w", bin, err)
		}
		return path, nil
	}
	if path, err := exec.LookPath("nutcracker"); err == nil {
		return path, nil
	}
	if _, err := os.Stat("/usr/sbin/nutcracker"); err == nil {
		return "/usr/sbin/nutcracker", nil
	}
	return "", ErrNoNutcracker
}

func startNutcrackerOnce(ctx context.Context, backends []*Server, o NutcrackerOptions) (*Nutcracker, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	statsPort, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "nutcracker-*")
	if err != nil {
		return nil, fmt.Errorf("redistest: temp dir: %w", err)
	}
	n := &Nutcracker{
		Addr:       net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		StatsAddr:  net.JoinHostPort("127.0.0.1", strconv.Itoa(statsPort)),
		Dir:        dir,
		ConfigPath: filepath.Join(dir, "nutcracker.yml"),
		opts:       o,
		pidPath:    filepath.Join(dir, "nutcracker.pid"),
		logPath:    filepath.Join(dir, "nutcracker.log"),
		outPath:    filepath.Join(dir, "stdout.log"),
	}
	if err := os.WriteFile(n.ConfigPath, nutcrackerConfig(n.Addr, backends, o), 0o644); err != nil {
		n.Stop()
		return nil, fmt.Errorf("redistest: %w", err)
	}
	if err := n.spawn(statsPort); err != nil {
		n.Stop()
		return nil, err
	}
	n.Client = redis.NewClient(n.ClientOptions())
	if err := n.waitReady(ctx); err != nil {
		n.Stop()
		return nil, err
	}
	return n, nil
}

// nutcrackerConfig renders the YAML of one pool listening on addr.
func nutcrackerConfig(addr string, backends []*Server, o NutcrackerOptions) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s:\n", nutcrackerPool)
	fmt.Fprintf(&b, "  listen: %s\n", addr)
	fmt.Fprintf(&b, "  hash: %s\n", orDefault(o.Hash, "fnv1a_64"))
	fmt.Fprintf(&b, "  distribution: %s\n", orDefault(o.Distribution, "ketama"))
	if o.HashTag != "" {
		fmt.Fprintf(&b, "  hash_tag: %q\n", o.HashTag)
	}
	if o.Password != "" {
		fmt.Fprintf(&b, "  redis_auth: %s\n", o.Password)
	}
	b.WriteString("  redis: true\n  auto_eject_hosts: false\n  server_retry_timeout: 500\n  preconnect: true\n  servers:\n")
	if len(o.Servers) > 0 {
		for _, line := range o.Servers {
			fmt.Fprintf(&b, "    - %s\n", line)
		}
		return b.Bytes()
	}
	for _, s := range backends {
		// No server names: ketama then places each server by its
		// address; short names ("s1") place them badly.
		fmt.Fprintf(&b, "    - %s:1\n", s.Addr)
	}
	return b.Bytes()
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func (n *Nutcracker) spawn(statsPort int) error {
	args := []string{"-c", n.ConfigPath, "-s", strconv.Itoa(statsPort), "-a", "127.0.0.1",
		"-p", n.pidPath, "-o", n.logPath}
	if n.opts.MbufSize > 0 {
		args = append(args, "-m", strconv.Itoa(n.opts.MbufSize))
	}
	return n.launch(n.opts.Binary, args, n.Dir, n.outPath)
}

// waitReady polls PING through the proxy until it answers, the process
// exits or time runs out.
func (n *Nutcracker) waitReady(ctx context.Context) error {
	return n.child.waitReady(ctx, func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		return n.Client.Ping(ctx).Err()
	}, n.startError)
}

func (n *Nutcracker) startError(err error) error {
	tail := n.LogTail(20)
	if strings.Contains(tail, "Address already in use") {
		err = fmt.Errorf("%w: %v", errAddrInUse, err)
	}
	return fmt.Errorf("redistest: start nutcracker on %s: %w\nlog tail:\n%s", n.Addr, err, tail)
}

// Pid is the process id of nutcracker, as its pid file says; 0 if unknown.
func (n *Nutcracker) Pid() int {
	b, err := os.ReadFile(n.pidPath)
	if err != nil {
		return n.pid()
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// Stop closes the client, sends SIGTERM to the process it started (SIGKILL
// after a while) and removes Dir. It may be called more than once.
func (n *Nutcracker) Stop() error {
	n.stopped.Do(func() {
		var errs []error
		if n.Client != nil {
			n.Client.Close()
		}
		if err := n.terminate(); err != nil {
			errs = append(errs, err)
		}
		if err := os.RemoveAll(n.Dir); err != nil {
			errs = append(errs, fmt.Errorf("redistest: remove %s: %w", n.Dir, err))
		}
		n.stopErr = errors.Join(errs...)
	})
	return n.stopErr
}

// LogTail returns the last lines of nutcracker's log and of its output.
func (n *Nutcracker) LogTail(lines int) string {
	return tailLines(n.outPath, lines) + tailLines(n.logPath, lines)
}

// ClientOptions are the options of Client, for callers that want a client
// of their own (and close it themselves). nutcracker closes the connection
// on HELLO, which go-redis sends first on every connection; the dialer
// answers it locally with an error, so go-redis goes on in RESP2 (and AUTH
// for a password).
func (n *Nutcracker) ClientOptions() *redis.Options {
	return &redis.Options{
		Addr: n.Addr, Password: n.opts.Password, Protocol: 2,
		DisableIndentity: true, // no CLIENT SETINFO: nutcracker closes the connection on it
		ReadTimeout:      30 * time.Second,
		Dialer:           dialWithoutHello,
	}
}

// dialWithoutHello dials a connection that never sends HELLO.
func dialWithoutHello(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &noHelloConn{Conn: c}, nil
}

// noHelloConn answers a HELLO written to it with an error reply of its
// own instead of sending it: a server that does not know HELLO, as go-redis
// expects. go-redis writes HELLO alone, in one Write, and waits for its
// reply, so a Write either is a HELLO or holds none.
type noHelloConn struct {
	net.Conn
	fake []byte // reply to hand out before reading the network
}

var helloPrefix = []byte("$5\r\nhello\r\n")

func (c *noHelloConn) Write(b []byte) (int, error) {
	if isHello(b) {
		c.fake = append(c.fake, "-ERR unknown command 'HELLO' (answered by redistest: nutcracker would close the connection)\r\n"...)
		return len(b), nil
	}
	return c.Conn.Write(b)
}

func (c *noHelloConn) Read(b []byte) (int, error) {
	if len(c.fake) > 0 {
		n := copy(b, c.fake)
		c.fake = c.fake[n:]
		return n, nil
	}
	return c.Conn.Read(b)
}

// isHello reports whether b is one RESP command named HELLO.
func isHello(b []byte) bool {
	i := bytes.Index(b, []byte("\r\n"))
	if i < 0 || len(b) == 0 || b[0] != '*' {
		return false
	}
	rest := b[i+2:]
	return len(rest) >= len(helloPrefix) && bytes.EqualFold(rest[:len(helloPrefix)], helloPrefix)
}
