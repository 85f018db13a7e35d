// Command demo shows replicant's main job on this machine: it starts a
// source and a target redis-server on free loopback ports, loads a sample
// dataset of every type, runs "replicant sync", writes to the source for a
// few seconds while the target follows, compares the two datasets, and
// stops everything it started. "make demo" runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/replicant/replicant/test/redistest"
)

func main() {
	bin := flag.String("replicant", "bin/replicant", "replicant binary to run")
	live := flag.Duration("live", 5*time.Second, "how long to write to the source while syncing")
	flag.Parse()
	if err := run(*bin, *live); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// checkpointKey is where replicant records, on the target, the stream
// offset the target holds; its other keys there (the lease naming the
// replicant that writes) share it as a prefix.
const checkpointKey = "replicant:checkpoint"

func isReplicantKey(k string) bool { return strings.HasPrefix(k, checkpointKey) }

func say(format string, a ...any) { fmt.Printf("\n==> "+format+"\n", a...) }

func run(bin string, live time.Duration) error {
	ctx := context.Background()
	src, err := redistest.Start(ctx, redistest.Options{Args: []string{"--repl-diskless-sync-delay", "0"}})
	if err != nil {
		return err
	}
	defer src.Stop()
	dst, err := redistest.Start(ctx, redistest.Options{})
	if err != nil {
		return err
	}
	defer dst.Stop()
	say("source redis-server on %s, target on %s", src.Addr, dst.Addr)

	n, err := redistest.Fill(ctx, src, redistest.FillOptions{Seed: 1, KeysPerType: 200, BigValues: true})
	if err != nil {
		return err
	}
	say("loaded %d keys of every type on dbs 0-3 (strings, lists, sets, sorted sets, hashes, streams with consumer groups, TTLs, a function library)", n)

	cmd := exec.Command(bin, "sync", "--source", "redis://"+src.Addr, "--target", "redis://"+dst.Addr,
		"--log-format", "text", "--status-interval", "1s")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stdout
	say("%s", strings.Join(cmd.Args, " "))
	if err := cmd.Start(); err != nil {
		return err
	}
	defer cmd.Process.Kill()

	if err := compare(ctx, src, dst, "after the full sync"); err != nil {
		return err
	}
	say("writing to the source for %v (every command type, on every db) while replicant follows", live)
	liveCtx, cancel := context.WithTimeout(ctx, live)
	ops, err := redistest.LiveWrites(liveCtx, src, redistest.LiveOptions{Seed: 2, Ops: 1 << 30})
	cancel()
	if err != nil && liveCtx.Err() == nil {
		return err
	}
	say("%d writes done on the source", ops)
	if err := compare(ctx, src, dst, "after the live writes"); err != nil {
		return err
	}
	say("stopping replicant with SIGTERM")
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("replicant: %w", err)
	}
	if err := dst.Client.Del(ctx, checkpointKey, checkpointKey+":lease").Err(); err != nil {
		return err
	}
	ctx2, cancel2 := context.WithTimeout(ctx, 30*time.Second)
	defer cancel2()
	if diffs, err := redistest.WaitEqual(ctx2, src, dst, redistest.CompareOptions{Digest: true}, 250*time.Millisecond); err != nil || len(diffs) > 0 {
		return fmt.Errorf("after stop, without the checkpoint key: %v %v", diffs, err)
	}
	say("replicant exited cleanly; without its checkpoint key (%s) the target's whole DEBUG DIGEST equals the source's; stopping both servers", checkpointKey)
	return nil
}

// compare waits for the target to equal the source, key by key and by DEBUG
// DIGEST, and prints the result.
func compare(ctx context.Context, src, dst *redistest.Server, when string) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	start := time.Now()
	// replicant's checkpoint and lease keys are the only keys only the
	// target has; each other key's DEBUG DIGEST-VALUE is compared.
	o := redistest.CompareOptions{Digest: true, SkipKeys: isReplicantKey}
	diffs, err := redistest.WaitEqual(ctx, src, dst, o, 250*time.Millisecond)
	if len(diffs) > 0 {
		for _, d := range diffs {
			fmt.Println("   ", d)
		}
		return fmt.Errorf("target differs from source %s", when)
	}
	if err != nil {
		return err
	}
	digest, err := redistest.Digest(ctx, src)
	if err != nil {
		return err
	}
	keys, err := dbsizes(ctx, src)
	if err != nil {
		return err
	}
	say("%s: target equal to source key by key (type, value, TTL) and by DEBUG DIGEST %s; %s (settled in %v)",
		when, digest[:12], keys, time.Since(start).Round(time.Millisecond))
	return nil
}

func dbsizes(ctx context.Context, s *redistest.Server) (string, error) {
	var parts []string
	for db := 0; db < 4; db++ {
		n, err := s.ClientDB(db).DBSize(ctx).Result()
		if err != nil {
			return "", err
		}
		parts = append(parts, fmt.Sprintf("db%d=%d", db, n))
	}
	return strings.Join(parts, " "), nil
}
