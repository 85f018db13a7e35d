package test

import (
	"context"
	"errors"
	"io"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/replicant/replicant/test/redistest"
)

// populate loads n keys on the source, enough for a snapshot that lasts a
// few progress bar redraws with --window 64.
func populate(t *testing.T, s *redistest.Server, n int) {
	t.Helper()
	if err := s.Client.Do(context.Background(), "DEBUG", "POPULATE", n, "key", 64).Err(); err != nil {
		t.Fatal(err)
	}
}

// TestProgressBarOnTerminal runs sync with its stderr on a pseudo-terminal:
// the snapshot shows a self-redrawing progress bar (bytes of the total and
// an ETA when the source sends the RDB from disk, bytes received when
// diskless; keys/s in both), the bar is gone before the next log line, and
// the sync completes.
func TestProgressBarOnTerminal(t *testing.T) {
	for _, mode := range []struct{ name, diskless, want string }{
		{"disk", "no", "ETA"}, {"diskless", "yes", "received"},
	} {
		t.Run(mode.name, func(t *testing.T) {
			src := startServer(t, redistest.Options{Args: []string{
				"--repl-diskless-sync", mode.diskless, "--repl-diskless-sync-delay", "0"}})
			dst := startServer(t, redistest.Options{})
			populate(t, src, 300000)
			out, stop := startOnTerminal(t, "sync", "--source", url(src), "--target", url(dst), "--window", "64")
			assertEqual(t, src, dst, 120*time.Second)
			waitFor(t, out, "streaming", 10*time.Second)
			if code := stop(); code != 0 {
				t.Fatalf("exit status %d after SIGTERM, want 0", code)
			}
			got := out.String()
			bars := barLines(got)
			if len(bars) == 0 {
				t.Fatalf("no progress bar on the terminal:\n%q", tail(got, 30))
			}
			last := bars[len(bars)-1]
			t.Logf("%d bars; first %q last %q", len(bars), bars[0], last)
			for _, w := range []string{"snapshot: ", "keys/s", " keys, ", mode.want} {
				if !strings.Contains(last, w) {
					t.Errorf("progress bar %q has no %q", last, w)
				}
			}
			if mode.diskless == "no" && !strings.Contains(last, " of ") {
				t.Errorf("progress bar %q has no total", last)
			}
			// Each log line after a bar starts on a cleared line.
			if !strings.Contains(got, "\r\x1b[K") {
				t.Errorf("the bar is never cleared:\n%q", tail(got, 30))
			}
			if i := strings.Index(got, "snapshot received"); i < 0 || !strings.Contains(got[:i], "\x1b[K") {
				t.Errorf("no cleared bar before \"snapshot received\"")
			}
		})
	}
}

// TestProgressNoTerminal: with stderr on a pipe, text logs carry no bar,
// only the periodic status lines with the RDB figures.
func TestProgressNoTerminal(t *testing.T) {
	src := startServer(t, redistest.Options{Args: []string{"--repl-diskless-sync", "no"}})
	dst := startServer(t, redistest.Options{})
	populate(t, src, 300000)
	r := startReplicant(t, "sync", "--source", url(src), "--target", url(dst), "--window", "64",
		"--log-format", "text", "--status-interval", "200ms")
	assertEqual(t, src, dst, 120*time.Second)
	r.waitOutput(t, "streaming", 10*time.Second)
	if code := r.stop(t); code != 0 {
		t.Fatalf("exit status %d after SIGTERM, want 0", code)
	}
	got := r.out.String()
	for _, bad := range []string{"\r", "\x1b[K", "keys/s"} {
		if strings.Contains(got, bad) {
			t.Errorf("output off a terminal has %q:\n%q", bad, tail(got, 30))
		}
	}
	if !strings.Contains(got, "rdb_received=") || !strings.Contains(got, "rdb_total=") {
		t.Errorf("no status line with the RDB figures:\n%s", tail(got, 30))
	}
}

// barLines returns the bars drawn: what follows each "\r" up to the
// erase-line sequence.
func barLines(out string) []string {
	var bars []string
	for _, part := range strings.Split(out, "\r")[1:] {
		if bar, ok := strings.CutSuffix(part, "\x1b[K"); ok && bar != "" {
			bars = append(bars, bar)
		} else if i := strings.Index(part, "\x1b[K"); i > 0 {
			bars = append(bars, part[:i])
		}
	}
	return bars
}

// startOnTerminal runs replicant with stdout and stderr on a new
// pseudo-terminal, whose output it collects; stop sends SIGTERM and returns
// the exit status.
func startOnTerminal(t *testing.T, args ...string) (out *syncBuffer, stop func() int) {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 50, Cols: 200}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(replicantBin, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close()
	out = &syncBuffer{}
	copied := make(chan struct{})
	go func() {
		io.Copy(out, ptmx) // ends with EIO once the process is gone
		close(copied)
	}()
	done := make(chan int, 1)
	go func() {
		err := cmd.Wait()
		var ee *exec.ExitError
		switch {
		case err == nil:
			done <- 0
		case errors.As(err, &ee):
			done <- ee.ExitCode()
		default:
			done <- -1
		}
	}()
	exited := false
	t.Cleanup(func() {
		if !exited {
			cmd.Process.Kill()
			<-done
		}
		ptmx.Close()
		if t.Failed() {
			t.Logf("replicant %s output:\n%s", strings.Join(args, " "), tail(out.String(), 40))
		}
	})
	stop = func() int {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case code := <-done:
			exited = true
			select {
			case <-copied:
			case <-time.After(5 * time.Second):
			}
			return code
		case <-time.After(30 * time.Second):
			t.Fatal("replicant still running 30s after SIGTERM")
			return -1
		}
	}
	return out, stop
}

func waitFor(t *testing.T, out *syncBuffer, s string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !strings.Contains(out.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("output has no %q after %v:\n%q", s, d, tail(out.String(), 30))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
