package redistest

import (
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestStopKillsAndRemovesDir(t *testing.T) {
	ctx := testCtx(t, 10*time.Second)
	s, err := Start(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := s.Version(ctx); err != nil || v == "" {
		t.Errorf("Version: %q, %v", v, err)
	}
	pid := s.Pid()
	if err := s.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("pid %d after Stop: kill 0 = %v, want ESRCH", pid, err)
	}
	if _, err := os.Stat(s.Dir); !os.IsNotExist(err) {
		t.Errorf("dir %s after Stop: %v", s.Dir, err)
	}
	if err := s.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestKillThenStop(t *testing.T) {
	ctx := testCtx(t, 10*time.Second)
	s, err := Start(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Kill(); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	select {
	case <-s.Exited():
	default:
		t.Error("Exited not closed after Kill")
	}
	if err := s.Client.Ping(ctx).Err(); err == nil {
		t.Error("PING answered after Kill")
	}
	if _, err := os.Stat(s.Dir); err != nil {
		t.Errorf("dir gone after Kill: %v", err)
	}
	if err := s.Stop(); err != nil {
		t.Errorf("Stop after Kill: %v", err)
	}
}

func TestStartMissingBinary(t *testing.T) {
	t.Setenv("REDIS_SERVER", "")
	t.Setenv("PATH", t.TempDir())
	_, err := Start(t.Context(), Options{})
	if !errors.Is(err, ErrNoBinary) || !strings.Contains(err.Error(), "not found in PATH") {
		t.Errorf("got %v, want ErrNoBinary", err)
	}
}

func TestStartBadArgsShowsLog(t *testing.T) {
	_, err := Start(testCtx(t, 10*time.Second), Options{Args: []string{"--no-such-directive", "x"}})
	if err == nil || !strings.Contains(err.Error(), "no-such-directive") {
		t.Errorf("got %v, want an error quoting the log", err)
	}
}

func TestPasswordAndClients(t *testing.T) {
	ctx := testCtx(t, 10*time.Second)
	s := start(t, Options{Password: "pw", Args: []string{"--requirepass", "pw"}})
	if err := s.ClientDB(5).Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("SET in db 5 with password: %v", err)
	}
	if first := s.ClientDB(5); first != s.ClientDB(5) {
		t.Error("ClientDB does not reuse its client")
	}
	if n, _ := s.Client.Exists(ctx, "k").Result(); n != 0 {
		t.Error("db 0 sees db 5's key")
	}
	if !strings.Contains(s.LogTail(50), "Ready to accept connections") {
		t.Errorf("LogTail lacks the ready line:\n%s", s.LogTail(50))
	}
}
