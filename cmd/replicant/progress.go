package main

import (
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/term"
)

// progressEvery is how often the progress bar is redrawn.
const progressEvery = 200 * time.Millisecond

// termWriter is stderr on a terminal, shared by the log lines and the
// progress bar: a log line first clears the bar, which is drawn again
// after it, so that neither garbles the other.
type termWriter struct {
	mu  sync.Mutex
	f   *os.File
	bar string // the line shown now, "" none
}

// progressOutput returns where sync logs: stderr itself, or, when stderr is
// a terminal and the log is text (so a person reads it), a termWriter that
// can also draw the snapshot's progress bar.
func progressOutput(stderr io.Writer, logFormat string) (io.Writer, *termWriter) {
	f, ok := stderr.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) || (logFormat != "auto" && logFormat != "text") {
		return stderr, nil
	}
	tw := &termWriter{f: f}
	return tw, tw
}

// Fd makes newLogger see the terminal beneath.
func (w *termWriter) Fd() uintptr { return w.f.Fd() }

func (w *termWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.bar == "" {
		return w.f.Write(p)
	}
	io.WriteString(w.f, "\r\x1b[K")
	n, err := w.f.Write(p)
	io.WriteString(w.f, w.bar)
	return n, err
}

// draw shows line in place of the bar shown before.
func (w *termWriter) draw(line string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if cols, _, err := term.GetSize(int(w.f.Fd())); err == nil && cols > 1 && len(line) >= cols {
		line = line[:cols-1] // a wrapped line could not be redrawn in place
	}
	w.bar = "\r" + line + "\x1b[K"
	io.WriteString(w.f, w.bar)
}

// clear removes the bar.
func (w *termWriter) clear() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.bar != "" {
		io.WriteString(w.f, "\r\x1b[K")
		w.bar = ""
	}
}
