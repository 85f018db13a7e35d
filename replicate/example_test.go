package replicate_test

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/rs/zerolog"

	"github.com/replicant/replicant/replicate"
)

// Example copies the Redis at 127.0.0.1:6379 to the one at 127.0.0.1:6380
// and keeps it in sync until Ctrl-C, printing the lag every 10 seconds.
// Started again with the same StateDir, it resumes where it stopped. (It
// needs the two servers: test/library_test.go runs the same code against a
// pair of real redis-server processes.)
func Example() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	s, err := replicate.New(ctx, replicate.Config{
		Source:   replicate.Endpoint{Addrs: []string{"127.0.0.1:6379"}},
		Target:   replicate.Endpoint{Addrs: []string{"127.0.0.1:6380"}},
		StateDir: "/var/lib/replicant",
		Logger:   zerolog.New(os.Stderr).With().Timestamp().Logger(),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		select {
		case err := <-done: // nil once ctx ended: a clean stop
			if err != nil {
				fmt.Fprintln(os.Stderr, "sync failed:", err)
			}
			return
		case <-t.C:
			st := s.Status()
			fmt.Printf("%s: %d bytes behind\n", st.Phase, st.Shards[0].LagBytes)
		}
	}
}

// ExampleSyncer_Cutover moves the clients to the target: the source's
// writes pause until the target holds them all, then the source is fenced
// and the sync stops.
func ExampleSyncer_Cutover() {
	ctx := context.Background()
	s, err := replicate.New(ctx, replicate.Config{
		Source: replicate.Endpoint{Addrs: []string{"127.0.0.1:6379"}},
		Target: replicate.Endpoint{Addrs: []string{"127.0.0.1:6380"}},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	for s.Status().Phase != "streaming" {
		time.Sleep(time.Second) // a real program would also watch done
	}
	res, err := s.Cutover(ctx, replicate.CutoverOptions{Timeout: 30 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, "cutover failed, still syncing:", err)
		return
	}
	s.Shutdown()
	<-done
	fmt.Printf("writes paused for %s; to undo: %v\n", res.WritesPaused, res.Rollback)
}
