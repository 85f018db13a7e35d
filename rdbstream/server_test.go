package rdbstream

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisServer is a redis-server process started for a test.
type redisServer struct {
	addr string
	dir  string
}

// redisServerPath finds redis-server; its absence fails the test.
func redisServerPath(tb testing.TB) string {
	tb.Helper()
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p
	}
	const p = "/usr/bin/redis-server"
	if _, err := os.Stat(p); err != nil {
		tb.Fatalf("redis-server not found: %v", err)
	}
	return p
}

// freePort returns a loopback port that was free a moment ago.
func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startRedis starts a fresh redis-server in a temporary directory and
// stops it (by pid) when the test ends. extra are more config arguments.
func startRedis(tb testing.TB, extra ...string) *redisServer {
	tb.Helper()
	bin := redisServerPath(tb)
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		dir := tb.TempDir()
		port := freePort(tb)
		args := append([]string{
			"--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--dir", dir,
			"--save", "", "--appendonly", "no", "--enable-debug-command", "yes",
			"--daemonize", "no", "--logfile", filepath.Join(dir, "redis.log"),
		}, extra...)
		cmd := exec.Command(bin, args...)
		if err := cmd.Start(); err != nil {
			tb.Fatalf("start redis-server: %v", err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		tb.Cleanup(func() {
			_ = cmd.Process.Kill()
			<-exited
		})
		s := &redisServer{addr: fmt.Sprintf("127.0.0.1:%d", port), dir: dir}
		if lastErr = s.waitReady(exited); lastErr == nil {
			return s
		}
	}
	tb.Fatalf("redis-server did not start: %v", lastErr)
	return nil
}

// waitReady waits for the server to answer PING.
func (s *redisServer) waitReady(exited <-chan error) error {
	c := s.client(0)
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case err := <-exited:
			log, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
			return fmt.Errorf("exited: %v\n%s", err, log)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// client returns a RESP2 client on database db.
func (s *redisServer) client(db int) *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr: s.addr, DB: db, Protocol: 2, DisableIndentity: true,
		MaxRetries: -1, ReadTimeout: time.Minute, WriteTimeout: time.Minute,
	})
}

// saveRDB runs SAVE and returns dump.rdb.
func (s *redisServer) saveRDB(tb testing.TB) []byte {
	tb.Helper()
	c := s.client(0)
	defer c.Close()
	if err := c.Save(context.Background()).Err(); err != nil {
		tb.Fatalf("SAVE: %v", err)
	}
	return readFile(tb, filepath.Join(s.dir, "dump.rdb"))
}

// mustDo runs a command and fails the test on error.
func mustDo(tb testing.TB, c *redis.Client, args ...any) any {
	tb.Helper()
	v, err := c.Do(context.Background(), args...).Result()
	if err != nil {
		cmd := fmt.Sprint(args...)
		tb.Fatalf("%s: %v", cmd[:min(80, len(cmd))], err)
	}
	return v
}
