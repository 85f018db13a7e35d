package replicate

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestProgressMeter(t *testing.T) {
	t0 := time.Unix(1000, 0)
	m := ProgressMeter{Start: t0}
	m.Line(t0, SnapshotProgress{Read: 0, Total: 10 << 20})
	got := m.Line(t0.Add(2*time.Second), SnapshotProgress{Read: 2 << 20, Total: 10 << 20, Keys: 4000})
	want := "snapshot: 2.0 MiB of 10.0 MiB (20%), 4000 keys, 2k keys/s, ETA 8s, 2s"
	if got != want {
		t.Fatalf("known total:\n got %q\nwant %q", got, want)
	}
	m = ProgressMeter{Start: t0}
	m.Line(t0, SnapshotProgress{Total: -1})
	got = m.Line(t0.Add(time.Second), SnapshotProgress{Read: 1536, Total: -1, Keys: 10})
	if want := "snapshot: 1.5 KiB received, 10 keys, 10 keys/s, 1s"; got != want {
		t.Fatalf("diskless:\n got %q\nwant %q", got, want)
	}
	got = m.Line(t0.Add(2*time.Second), SnapshotProgress{Read: 3 << 30, Total: 3 << 30, Keys: 10})
	if want := "snapshot: 3.0 GiB of 3.0 GiB (100%), 10 keys, 5 keys/s, ETA 0s, 2s"; got != want {
		t.Fatalf("done:\n got %q\nwant %q", got, want)
	}
	if got := fmtBytes(5 << 40); got != "5.0 TiB" {
		t.Fatal(got)
	}
}

// TestProgressMeterWindow: the rates come from the last MeterReadings
// readings, so a slow start no longer counts once it is past.
func TestProgressMeterWindow(t *testing.T) {
	t0 := time.Unix(1000, 0)
	m := ProgressMeter{Start: t0}
	var line string
	for i := 0; i <= 2*MeterReadings; i++ {
		keys := int64(0)
		if i > MeterReadings {
			keys = int64(i-MeterReadings) * 100 // 100 keys a second from then on
		}
		line = m.Line(t0.Add(time.Duration(i)*time.Second), SnapshotProgress{Total: -1, Keys: keys})
	}
	if want := fmt.Sprintf("snapshot: 0 B received, %d keys, 100 keys/s, %ds", MeterReadings*100, 2*MeterReadings); line != want {
		t.Errorf("got %q, want %q", line, want)
	}
}

// TestProgressLines: lines come while the snapshot lasts; done stops them,
// waits for the goroutine, and ends the display once.
func TestProgressLines(t *testing.T) {
	lines, ends := make(chan string, 100), 0
	onSnapshot := ProgressLines(time.Millisecond, func(l string) { lines <- l }, func() { ends++ })
	done := onSnapshot(context.Background(), func() SnapshotProgress { return SnapshotProgress{Read: 10, Total: 100, Keys: 1} })
	if l := <-lines; !strings.HasPrefix(l, "snapshot: 10 B of 100 B (10%), 1 keys") {
		t.Errorf("line %q", l)
	}
	done()
	n := len(lines)
	time.Sleep(5 * time.Millisecond)
	if len(lines) != n || ends != 1 {
		t.Errorf("after done: %d more lines, %d ends", len(lines)-n, ends)
	}
}
