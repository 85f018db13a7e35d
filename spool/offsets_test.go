package spool

import (
	"bytes"
	"context"
	"io"
	"math/rand"
	"testing"
	"time"
)

// TestReadFromEveryOffset: appends of random sizes (some past a record's
// 256 KiB, across small segments), the spool closed and opened again,
// then a reader started at every offset (a sample of them, every record
// boundary and its neighbours included) returns exactly the stream from
// there, also after a Trim.
func TestReadFromEveryOffset(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{SegmentBytes: 300 << 10})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(1))
	var stream []byte
	var bounds []int64
	for range 60 {
		n := 1 + rng.Intn(40<<10)
		if rng.Intn(10) == 0 {
			n = 256<<10 + rng.Intn(100<<10)
		}
		p := make([]byte, n)
		rng.Read(p)
		if err := s.Append(p); err != nil {
			t.Fatal(err)
		}
		stream = append(stream, p...)
		bounds = append(bounds, int64(len(stream)))
	}
	check := func(s *Spool, from int64) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r := s.NewReader(ctx, from)
		defer r.Close()
		got := make([]byte, int64(len(stream))-from)
		if _, err := io.ReadFull(r, got); err != nil {
			t.Fatalf("read from %d: %v", from, err)
		}
		if !bytes.Equal(got, stream[from:]) {
			t.Fatalf("read from %d: the bytes differ from the stream", from)
		}
	}
	offsets := []int64{0, 1}
	for _, b := range bounds[:len(bounds)-1] {
		offsets = append(offsets, b-1, b, b+1)
	}
	for range 200 {
		offsets = append(offsets, rng.Int63n(int64(len(stream))))
	}
	for _, off := range offsets {
		check(s, off)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(dir, Options{SegmentBytes: 300 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if s2.End() != int64(len(stream)) {
		t.Fatalf("reopened spool ends at %d, want %d", s2.End(), len(stream))
	}
	for _, off := range offsets {
		if off >= s2.Start() {
			check(s2, off)
		}
	}
	mid := int64(len(stream)) / 2
	if err := s2.Trim(mid); err != nil {
		t.Fatal(err)
	}
	for _, off := range offsets {
		if off >= mid {
			check(s2, off)
		}
	}
}
