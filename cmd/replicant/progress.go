package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/replicant/replicant/replicate"
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

// onSnapshot draws the snapshot's progress bar from read until the
// returned function is called (replicate.Config.OnSnapshot).
func (w *termWriter) onSnapshot(ctx context.Context, read func() replicate.SnapshotProgress) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		p := progress{start: time.Now()}
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				r := read()
				w.draw(p.line(now, figures{read: r.Read, total: r.Total, keys: r.Keys}))
			}
		}
	}()
	return func() {
		cancel()
		<-done
		w.clear()
	}
}

// figures are one reading of the snapshot's progress.
type figures struct {
	read  int64 // RDB bytes received
	total int64 // RDB bytes in all; -1 unknown (diskless)
	keys  int64 // keys the target confirmed
}

// progress turns readings into the bar's line, with rates over the last
// few seconds.
type progress struct {
	start   time.Time
	samples []sample // oldest first, at most rateSamples
}

type sample struct {
	at time.Time
	f  figures
}

// rateSamples readings (5 s at progressEvery) make the rates.
const rateSamples = 25

func (p *progress) line(now time.Time, f figures) string {
	p.samples = append(p.samples, sample{now, f})
	if len(p.samples) > rateSamples {
		p.samples = p.samples[1:]
	}
	var keysRate, bytesRate float64
	if first := p.samples[0]; len(p.samples) > 1 {
		secs := now.Sub(first.at).Seconds()
		keysRate = float64(f.keys-first.f.keys) / secs
		bytesRate = float64(f.read-first.f.read) / secs
	}
	var b strings.Builder
	b.WriteString("snapshot: ")
	if f.total > 0 {
		fmt.Fprintf(&b, "%s of %s (%d%%)", fmtBytes(f.read), fmtBytes(f.total), min(100, f.read*100/f.total))
	} else {
		fmt.Fprintf(&b, "%s received", fmtBytes(f.read))
	}
	fmt.Fprintf(&b, ", %d keys, %s keys/s", f.keys, fmtRate(keysRate))
	switch {
	case f.total > 0 && f.read >= f.total:
		b.WriteString(", ETA 0s")
	case f.total > 0 && bytesRate > 0:
		eta := time.Duration(float64(f.total-f.read) / bytesRate * float64(time.Second))
		fmt.Fprintf(&b, ", ETA %s", eta.Round(time.Second))
	}
	fmt.Fprintf(&b, ", %s", now.Sub(p.start).Round(time.Second))
	return b.String()
}

// fmtBytes renders 1536 as "1.5 KiB".
func fmtBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
