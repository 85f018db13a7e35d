package main

import (
	"io"
	"os"
	"testing"
)

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
}
