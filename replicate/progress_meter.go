package replicate

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/replicant/replicant/verify"
)

// ProgressMeter turns successive readings of a snapshot's progress (the
// function Config.OnSnapshot is given) into one line, with the rates over
// the last readings and the time left, as cmd/replicant's progress bar on
// a terminal shows it:
//
//	snapshot: 2.0 MiB of 10.0 MiB (20%), 4000 keys, 2k keys/s, ETA 8s, 2s
//	snapshot: 1.5 KiB received, 10 keys, 10 keys/s, 1s (diskless: the size is unknown)
//
// The zero value is ready; set Start to the snapshot's start for the last
// figure. Not safe for concurrent use.
type ProgressMeter struct {
	Start   time.Time        // when the snapshot began
	samples []progressSample // oldest first, at most MeterReadings
}

type progressSample struct {
	at time.Time
	p  SnapshotProgress
}

// MeterReadings is how many readings a ProgressMeter's rates are taken
// over: 5 s when read every 200 ms, as cmd/replicant does.
const MeterReadings = 25

// Line records the reading p taken at now and describes it.
func (m *ProgressMeter) Line(now time.Time, p SnapshotProgress) string {
	m.samples = append(m.samples, progressSample{now, p})
	if len(m.samples) > MeterReadings {
		m.samples = m.samples[1:]
	}
	var keysRate, bytesRate float64
	if first := m.samples[0]; len(m.samples) > 1 {
		secs := now.Sub(first.at).Seconds()
		keysRate = float64(p.Keys-first.p.Keys) / secs
		bytesRate = float64(p.Read-first.p.Read) / secs
	}
	var b strings.Builder
	b.WriteString("snapshot: ")
	if p.Total > 0 {
		fmt.Fprintf(&b, "%s of %s (%d%%)", fmtBytes(p.Read), fmtBytes(p.Total), min(100, p.Read*100/p.Total))
	} else {
		fmt.Fprintf(&b, "%s received", fmtBytes(p.Read))
	}
	fmt.Fprintf(&b, ", %d keys, %s keys/s", p.Keys, verify.FormatRate(keysRate))
	switch {
	case p.Total > 0 && p.Read >= p.Total:
		b.WriteString(", ETA 0s")
	case p.Total > 0 && bytesRate > 0:
		eta := time.Duration(float64(p.Total-p.Read) / bytesRate * float64(time.Second))
		fmt.Fprintf(&b, ", ETA %s", eta.Round(time.Second))
	}
	fmt.Fprintf(&b, ", %s", now.Sub(m.Start).Round(time.Second))
	return b.String()
}

// ProgressLines returns a Config.OnSnapshot that, while a snapshot lasts,
// reads its progress every interval and hands show a ProgressMeter's line,
// from one goroutine, which the function it returns stops and waits for;
// then it calls end, if not nil (cmd/replicant redraws its progress bar
// with show and removes it with end).
func ProgressLines(every time.Duration, show func(line string), end func()) func(context.Context, func() SnapshotProgress) (done func()) {
	return func(ctx context.Context, read func() SnapshotProgress) func() {
		ctx, cancel := context.WithCancel(ctx)
		stopped := make(chan struct{})
		go func() {
			defer close(stopped)
			t := time.NewTicker(every)
			defer t.Stop()
			m := ProgressMeter{Start: time.Now()}
			for {
				select {
				case <-ctx.Done():
					return
				case now := <-t.C:
					show(m.Line(now, read()))
				}
			}
		}()
		return func() {
			cancel()
			<-stopped
			if end != nil {
				end()
			}
		}
	}
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
