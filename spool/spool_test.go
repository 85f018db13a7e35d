package spool

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"
)

func TestAppendReadAcrossSegments(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{MaxBytes: 1000, SegmentBytes: 7})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Reset(100); err != nil {
		t.Fatal(err)
	}
	var want []byte
	for i := 0; i < 20; i++ {
		p := bytes.Repeat([]byte{byte('a' + i)}, i+1)
		want = append(want, p...)
		if err := s.Append(p); err != nil {
			t.Fatal(err)
		}
	}
	if s.Start() != 100 || s.End() != 100+int64(len(want)) {
		t.Fatalf("start %d end %d", s.Start(), s.End())
	}
	for _, from := range []int64{100, 103, 150, s.End() - 1} {
		r := s.NewReader(context.Background(), from)
		got := make([]byte, s.End()-from)
		if _, err := io.ReadFull(r, got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want[from-100:]) {
			t.Fatalf("from %d: got %q", from, got)
		}
		r.Close()
	}
	// Reopen: the same bytes and offsets.
	s.Close()
	s2, err := Open(dir, Options{MaxBytes: 1000, SegmentBytes: 7})
	if err != nil {
		t.Fatal(err)
	}
	if s2.Start() != 100 || s2.End() != 100+int64(len(want)) {
		t.Fatalf("reopened start %d end %d", s2.Start(), s2.End())
	}
	if err := s2.Append([]byte("zz")); err != nil {
		t.Fatal(err)
	}
	r := s2.NewReader(context.Background(), 100)
	got := make([]byte, len(want)+2)
	if _, err := io.ReadFull(r, got); err != nil || !bytes.Equal(got, append(want, "zz"...)) {
		t.Fatalf("after reopen: %q %v", got, err)
	}
}

func TestTrimAndFull(t *testing.T) {
	s, err := Open(t.TempDir(), Options{MaxBytes: 20, SegmentBytes: 5})
	if err != nil {
		t.Fatal(err)
	}
	// An Append goes whole into one segment: segments 0-5, 5-10, 10-15, 15-18.
	for _, n := range []int{5, 5, 5, 3} {
		if err := s.Append(bytes.Repeat([]byte("x"), n)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Append([]byte("xxx")); !errors.Is(err, ErrFull) {
		t.Fatalf("over the limit: %v", err)
	}
	if s.End() != 18 {
		t.Fatalf("a refused append stored bytes: end %d", s.End())
	}
	if err := s.Trim(12); err != nil {
		t.Fatal(err)
	}
	if s.Start() != 10 {
		t.Fatalf("start after trim %d, want 10", s.Start())
	}
	if err := s.Append([]byte("yyyyy")); err != nil {
		t.Fatalf("after trim: %v", err)
	}
	if _, err := s.NewReader(context.Background(), 5).Read(make([]byte, 1)); err == nil {
		t.Fatal("read of a trimmed offset succeeded")
	}
}

func TestReaderWaitsForAppend(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := s.NewReader(context.Background(), 0)
	got := make(chan string)
	go func() {
		b := make([]byte, 5)
		n, err := io.ReadFull(r, b)
		if err != nil {
			got <- err.Error()
			return
		}
		got <- string(b[:n])
	}()
	time.Sleep(20 * time.Millisecond)
	s.Append([]byte("he"))
	time.Sleep(20 * time.Millisecond)
	s.Append([]byte("llo"))
	select {
	case g := <-got:
		if g != "hello" {
			t.Fatalf("got %q", g)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("reader did not wake")
	}
	ctx, cancel := context.WithCancel(context.Background())
	r2 := s.NewReader(ctx, s.End())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	if _, err := r2.Read(make([]byte, 1)); !errors.Is(err, context.Canceled) {
		t.Fatalf("after cancel: %v", err)
	}
	r3 := s.NewReader(context.Background(), s.End())
	go func() { time.Sleep(20 * time.Millisecond); s.Close() }()
	if _, err := r3.Read(make([]byte, 1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
}
