package spool

import (
	"context"
	"testing"
)

// benchAppend appends chunks of size bytes, as the pump does: 128 KiB
// buffers under load, a command at a time when the stream is quiet.
func benchAppend(b *testing.B, size int) {
	s, err := Open(b.TempDir(), Options{MaxBytes: 1 << 40})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	p := make([]byte, size)
	b.SetBytes(int64(size))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.Append(p); err != nil {
			b.Fatal(err)
		}
		if i%1024 == 0 {
			s.Trim(s.End()) // keeps the last segment
		}
	}
}

func BenchmarkAppend128K(b *testing.B) { benchAppend(b, 128<<10) }
func BenchmarkAppend64(b *testing.B)   { benchAppend(b, 64) }

// benchRead reads back 64 MiB appended in chunks of size bytes, through a
// 256 KiB buffer as the applier's RESP reader does.
func benchRead(b *testing.B, size int) {
	s, err := Open(b.TempDir(), Options{MaxBytes: 1 << 40})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	p := make([]byte, size)
	for i := range p {
		p[i] = byte(i)
	}
	const total = 64 << 20
	for n := 0; n < total; n += size {
		if err := s.Append(p); err != nil {
			b.Fatal(err)
		}
	}
	buf := make([]byte, 256<<10)
	b.SetBytes(s.End())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := s.NewReader(context.Background(), 0)
		for r.Offset() < s.End() {
			if _, err := r.Read(buf); err != nil {
				b.Fatal(err)
			}
		}
		r.Close()
	}
}

func BenchmarkRead128K(b *testing.B) { benchRead(b, 128<<10) }
func BenchmarkRead64(b *testing.B)   { benchRead(b, 64) }
