package forwarder

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
)

// server is a redis-server process started for one test.
type server struct {
	addr string
	cmd  *exec.Cmd
	rdb  *redis.Client
}

// redisBinary returns the redis-server path; a missing binary fails the test.
func redisBinary(tb testing.TB) string {
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/bin/redis-server"); err == nil {
		return "/usr/bin/redis-server"
	}
	tb.Fatal("redis-server not found: install it (the forwarder tests need a real server)")
	return ""
}

// startRedis starts a redis-server on a free loopback port and stops it when
// the test ends.
func startRedis(tb testing.TB, extra ...string) *server {
	tb.Helper()
	bin := redisBinary(tb)
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		s, err := tryStart(tb, bin, extra)
		if err == nil {
			return s
		}
		lastErr = err
	}
	tb.Fatalf("start redis-server: %v", lastErr)
	return nil
}

func tryStart(tb testing.TB, bin string, extra []string) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir := tb.TempDir()
	args := append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no",
		"--logfile", dir + "/redis.log"}, extra...)
	cmd := exec.Command(bin, args...)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{addr: fmt.Sprintf("127.0.0.1:%d", port), cmd: cmd}
	s.rdb = redis.NewClient(&redis.Options{Addr: s.addr, Password: passwordOf(extra)})
	if err := s.waitReady(); err != nil {
		s.stop()
		return nil, err
	}
	tb.Cleanup(s.stop)
	return s, nil
}

func passwordOf(extra []string) string {
	for i := 0; i+1 < len(extra); i++ {
		if extra[i] == "--requirepass" {
			return extra[i+1]
		}
	}
	return ""
}

func (s *server) waitReady() error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := s.rdb.Ping(context.Background()).Err()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis-server on %s not ready: %w", s.addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var stopMu sync.Mutex

func (s *server) stop() {
	stopMu.Lock()
	defer stopMu.Unlock()
	if s.cmd.Process == nil || s.cmd.ProcessState != nil {
		return
	}
	s.rdb.Close()
	s.cmd.Process.Kill()
	s.cmd.Wait()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// logBuffer collects log lines for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// dialTest connects a Standalone to s and closes it when the test ends.
func dialTest(tb testing.TB, s *server, cfg Config) (*Standalone, *logBuffer) {
	tb.Helper()
	logs := &logBuffer{}
	cfg.Addr = s.addr
	cfg.Logger = zerolog.New(logs)
	f, err := Dial(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("Dial: %v", err)
	}
	tb.Cleanup(func() { f.Close() })
	return f, logs
}

func drain(tb testing.TB, f *Standalone) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := f.Drain(ctx); err != nil {
		tb.Fatalf("Drain: %v", err)
	}
}

// cmd splits a command line into arguments (no quoting).
func cmd(words ...string) [][]byte {
	args := make([][]byte, len(words))
	for i, w := range words {
		args[i] = []byte(w)
	}
	return args
}
