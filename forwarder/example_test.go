package forwarder_test

import (
	"context"
	"os"

	"github.com/replicant/replicant/forwarder"
	"github.com/rs/zerolog"
)

// Entry and Stream stand for what rdbstream and psync provide.
type Entry struct {
	DB         int
	Key        []byte
	ExpireAtMs int64
	Payload    []byte
}

type Stream interface {
	Next() (args [][]byte, endOffset int64, err error)
	Buffered() int
}

func Example() {
	ctx := context.Background()
	f, err := forwarder.Dial(ctx, forwarder.Config{
		Addr:   "127.0.0.1:6380",
		Logger: zerolog.New(os.Stderr),
	})
	if err != nil {
		return // forwarder: target 127.0.0.1:6380: connection refused
	}
	defer f.Close()
	_ = run(ctx, f, nil, nil, 0)
}

func run(ctx context.Context, f *forwarder.Standalone, entries []Entry, s Stream, fullResync int64) error {
	for _, e := range entries {
		if err := f.Restore(e.DB, e.Key, e.ExpireAtMs, e.Payload); err != nil {
			return err
		}
	}
	if err := f.Drain(ctx); err != nil {
		return err
	}
	f.SetApplied(fullResync)
	for s != nil {
		args, end, err := s.Next()
		if err != nil {
			return err
		}
		if err := f.Command(args, end); err != nil {
			return err
		}
		if s.Buffered() == 0 {
			if err := f.Flush(); err != nil {
				return err
			}
		}
	}
	return nil
}
