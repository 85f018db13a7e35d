package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/replicant/replicant/rdbstream"
	"github.com/replicant/replicant/resp"
	"github.com/replicant/replicant/test/redistest"
)

func totalKeys(ctx context.Context, s *redistest.Server) (int64, error) {
	info, err := s.Client.Info(ctx, "keyspace").Result()
	if err != nil {
		return 0, err
	}
	var total int64
	for _, line := range strings.Split(info, "\n") {
		if i := strings.Index(line, "keys="); i >= 0 {
			f := strings.SplitN(line[i+5:], ",", 2)
			n, _ := strconv.ParseInt(f[0], 10, 64)
			total += n
		}
	}
	return total, nil
}

// waitKeys polls the target until it holds want keys.
func waitKeys(ctx context.Context, s *redistest.Server, want int64) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	for {
		n, err := totalKeys(ctx, s)
		if err == nil && n >= want {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("target holds %d of %d keys: %w", n, want, ctx.Err())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// timeNative measures REPLICAOF into an empty server until it holds every key.
func timeNative(ctx context.Context, src *redistest.Server, keys int64) (time.Duration, error) {
	dst, err := redistest.Start(ctx, redistest.Options{})
	if err != nil {
		return 0, err
	}
	defer dst.Stop()
	start := time.Now()
	if err := dst.Client.Do(ctx, "REPLICAOF", "127.0.0.1", src.Port).Err(); err != nil {
		return 0, err
	}
	if err := waitKeys(ctx, dst, keys); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// writeRestoreStream saves the source and writes the RESTORE commands of its
// keys, as replicant would send them, to a file for redis-cli --pipe.
func writeRestoreStream(ctx context.Context, src *redistest.Server) (string, error) {
	if err := src.Client.Save(ctx).Err(); err != nil {
		return "", err
	}
	in, err := os.Open(filepath.Join(src.Dir, "dump.rdb"))
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.CreateTemp("", "restore-*.resp")
	if err != nil {
		return "", err
	}
	defer out.Close()
	w := bufio.NewWriterSize(out, 1<<20)
	dec := rdbstream.NewDecoder(in, rdbstream.Options{})
	db := -1
	var buf []byte
	for {
		e, err := dec.Next()
		if err != nil {
			break
		}
		if e.Kind != rdbstream.KindKey {
			continue
		}
		buf = buf[:0]
		if e.DB != db {
			buf = resp.AppendCommandString(buf, "SELECT", strconv.Itoa(e.DB))
			db = e.DB
		}
		buf = resp.AppendCommand(buf, []byte("RESTORE"), e.Key, []byte(strconv.FormatInt(e.ExpireAt, 10)),
			e.Payload, []byte("REPLACE"), []byte("ABSTTL"))
		w.Write(buf)
	}
	return out.Name(), w.Flush()
}

// timePipe measures redis-cli --pipe of the RESTORE stream into an empty server.
func timePipe(ctx context.Context, file string, keys int64) (time.Duration, error) {
	dst, err := redistest.Start(ctx, redistest.Options{})
	if err != nil {
		return 0, err
	}
	defer dst.Stop()
	in, err := os.Open(file)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	cmd := exec.CommandContext(ctx, "redis-cli", "-p", strconv.Itoa(dst.Port), "--pipe")
	cmd.Stdin = in
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("%v: %s", err, out)
	}
	if err := waitKeys(ctx, dst, keys); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

type measure struct {
	wall  time.Duration
	rssKB int64
	cpu   time.Duration
}

// timeReplicant measures replicant's full sync into an empty server, then
// stops it and reads its peak RSS and CPU time.
func timeReplicant(ctx context.Context, bin string, src *redistest.Server, keys int64) (measure, error) {
	return runReplicant(ctx, bin, src, func(dst *redistest.Server) error { return waitKeys(ctx, dst, keys) })
}

// runReplicant syncs src into an empty server until done says the target
// holds what it should, then stops replicant and reads its peak RSS and
// CPU time.
func runReplicant(ctx context.Context, bin string, src *redistest.Server, done func(dst *redistest.Server) error) (measure, error) {
	dst, err := redistest.Start(ctx, redistest.Options{})
	if err != nil {
		return measure{}, err
	}
	defer dst.Stop()
	return runReplicantArgs(ctx, bin, src, []string{"--target", "redis://" + dst.Addr},
		func() error { return done(dst) })
}

// runReplicantArgs runs replicant sync from src to the target that
// targetArgs name until done returns, then stops it and reads its peak RSS
// and CPU time.
func runReplicantArgs(ctx context.Context, bin string, src *redistest.Server, targetArgs []string, done func() error) (measure, error) {
	args := append([]string{"sync", "--source", "redis://" + src.Addr}, targetArgs...)
	cmd := exec.Command(bin, append(args, "--log-format", "json", "--status-interval", "0")...)
	logf, err := os.CreateTemp("", "replicant-bench-*.log")
	if err != nil {
		return measure{}, err
	}
	defer os.Remove(logf.Name())
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return measure{}, err
	}
	err = done()
	wall := time.Since(start)
	cmd.Process.Signal(syscall.SIGTERM)
	werr := cmd.Wait()
	if err != nil {
		return measure{}, fmt.Errorf("%w%s", err, logTail(logf.Name()))
	}
	if werr != nil {
		return measure{}, fmt.Errorf("replicant exited: %v%s", werr, logTail(logf.Name()))
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return measure{wall: wall, rssKB: ru.Maxrss, cpu: cpu}, nil
}

// logTail is the end of replicant's log file, for an error.
func logTail(path string) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 10 {
		lines = lines[len(lines)-10:]
	}
	return "\nreplicant log tail:\n" + strings.Join(lines, "\n")
}
