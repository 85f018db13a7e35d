package redistest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// child is a server process the harness runs in the foreground (its pid
// is ours to stop) and reaps in a goroutine of its own. Server and
// Nutcracker embed one.
type child struct {
	cmd     *exec.Cmd
	exited  chan struct{} // closed once the process has been reaped
	waitErr error         // cmd.Wait's result, valid after exited is closed
}

// launch runs bin with args in dir, its stdout and stderr into outPath.
func (c *child) launch(bin string, args []string, dir, outPath string) error {
	out, err := os.Create(outPath)
	if err != nil {
		return fmt.Errorf("redistest: %w", err)
	}
	defer out.Close() // the child keeps its own descriptor
	// Not CommandContext: the process outlives the ctx that bounds its start.
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("redistest: run %s: %w", bin, err)
	}
	exited := make(chan struct{})
	c.cmd, c.exited = cmd, exited
	go func() {
		c.waitErr = cmd.Wait()
		close(exited)
	}()
	return nil
}

// waitReady calls ping until it answers, the process exits or
// readyTimeout passes; startError wraps the cause.
func (c *child) waitReady(ctx context.Context, ping func(context.Context) error, startError func(error) error) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		if last = ping(ctx); last == nil {
			return nil
		}
		select {
		case <-c.exited:
			return startError(fmt.Errorf("exited: %v", c.waitErr))
		case <-ctx.Done():
			return startError(fmt.Errorf("no PING answer: %v (%w)", last, ctx.Err()))
		case <-tick.C:
		}
	}
}

func (c *child) started() bool { return c.cmd != nil && c.cmd.Process != nil }

// pid is the process id, 0 before launch.
func (c *child) pid() int {
	if !c.started() {
		return 0
	}
	return c.cmd.Process.Pid
}

// terminate sends SIGTERM, waits (bounded) for the process to exit, then
// kills it if needed.
func (c *child) terminate() error {
	if !c.started() {
		return nil
	}
	if c.signal(syscall.SIGTERM) {
		select {
		case <-c.exited:
			return nil
		case <-time.After(stopTimeout):
		}
	}
	return c.kill()
}

// signal sends sig and reports whether the process was still running.
func (c *child) signal(sig syscall.Signal) bool {
	select {
	case <-c.exited:
		return false
	default:
	}
	return c.cmd.Process.Signal(sig) == nil
}

// kill sends SIGKILL at once and waits (bounded) until the process is gone.
func (c *child) kill() error {
	if !c.started() {
		return nil
	}
	c.signal(syscall.SIGKILL)
	select {
	case <-c.exited:
		return nil
	case <-time.After(killTimeout):
		return fmt.Errorf("redistest: pid %d still running after SIGKILL", c.pid())
	}
}
