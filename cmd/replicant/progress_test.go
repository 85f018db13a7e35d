package main

import (
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

func TestProgressLine(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var p progress
	p.start = t0
	p.line(t0, figures{read: 0, total: 10 << 20})
	got := p.line(t0.Add(2*time.Second), figures{read: 2 << 20, total: 10 << 20, keys: 4000})
	want := "snapshot: 2.0 MiB of 10.0 MiB (20%), 4000 keys, 2k keys/s, ETA 8s, 2s"
	if got != want {
		t.Fatalf("known total:\n got %q\nwant %q", got, want)
	}
	p = progress{start: t0}
	p.line(t0, figures{total: -1})
	got = p.line(t0.Add(time.Second), figures{read: 1536, total: -1, keys: 10})
	if want := "snapshot: 1.5 KiB received, 10 keys, 10 keys/s, 1s"; got != want {
		t.Fatalf("diskless:\n got %q\nwant %q", got, want)
	}
}

// TestTermWriter: a log line clears the bar, and the bar comes back after it.
func TestTermWriter(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	tw := &termWriter{f: w}
	tw.Write([]byte("one\n"))
	tw.draw("bar 1")
	tw.Write([]byte("two\n"))
	tw.draw("bar 2")
	tw.clear()
	tw.Write([]byte("three\n"))
	w.Close()
	out, _ := io.ReadAll(r)
	want := "one\n\rbar 1\x1b[K\r\x1b[Ktwo\n\rbar 1\x1b[K\rbar 2\x1b[K\r\x1b[Kthree\n"
	if string(out) != want {
		t.Fatalf("got %q\nwant %q", out, want)
	}
	if o, tw := progressOutput(w, "text"); tw != nil || o != io.Writer(w) {
		t.Fatal("a pipe is not a terminal")
	}
	if !strings.Contains(fmtBytes(5<<30), "5.0 GiB") {
		t.Fatal(fmtBytes(5 << 30))
	}
}
