package test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/replicant/replicant/test/redistest"
)

// Faults of the spool on disk and of the target at shutdown. Each damaged
// spool must be found (the file and the byte named in one log line) and
// replaced by a full resync, with every counter exact on the target.

// freeze stops s with SIGSTOP: it holds its connections and answers
// nothing, as a hung host does. The returned func (also run at cleanup)
// lets it go on.
func freeze(t *testing.T, s *redistest.Server) (thaw func()) {
	t.Helper()
	if err := syscall.Kill(s.Pid(), syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	thaw = func() { syscall.Kill(s.Pid(), syscall.SIGCONT) }
	t.Cleanup(thaw)
	return thaw
}

// lastSegment returns the newest spool segment file under the state dir.
func lastSegment(t *testing.T, state string) string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(state, "spool", "*.seg"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no spool segment in %s: %v", state, err)
	}
	return names[len(names)-1] // named by zero-padded offset: sorted
}

// spoolAhead fills the spool while the target is frozen: the load goes on,
// and bytes of big values follow, far more than the applier holds in
// flight, so that the end of the spool is still unread.
func spoolAhead(t *testing.T, src *redistest.Server, state string, mb int) {
	t.Helper()
	ctx := context.Background()
	big := strings.Repeat("v", 64<<10)
	for i := 0; i < mb*16; i++ {
		if err := src.Client.Set(ctx, "spooled:"+strconv.Itoa(i), big, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	waitCondition(t, 30*time.Second, func() (bool, string) {
		fi, err := os.Stat(lastSegment(t, state))
		return err == nil && fi.Size() >= int64(mb)<<20, "the spool did not take the writes"
	})
}

// logLine returns the first line of out that holds s.
func logLine(out, s string) string {
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, s) {
			return line
		}
	}
	return ""
}

// assertExactCounters checks the load's counter on both sides, beyond the
// key-by-key comparison: each INCR landed once.
func assertExactCounters(t *testing.T, src, dst *redistest.Server) {
	t.Helper()
	ctx := context.Background()
	want, err := src.ClientDB(1).Get(ctx, "once:counter").Int64()
	if err != nil || want < 100 {
		t.Fatalf("source counter %d, %v: too few writes to prove anything", want, err)
	}
	if got, err := dst.ClientDB(1).Get(ctx, "once:counter").Int64(); err != nil || got != want {
		t.Fatalf("target counter %d (%v), source %d", got, err, want)
	}
}

// TestSpoolDamagedWhileRunning flips a byte of the spool that the applier
// has not read yet, while the target is frozen, 4 MiB before the end, so
// that it must be read from the file (the newest 1 MiB is also kept in
// memory, as appended, and taken from there): once the target is back,
// the applier finds the damage, logs it with the file and offset, and a
// full resync makes the target equal to the source.
func TestSpoolDamagedWhileRunning(t *testing.T) {
	state := t.TempDir()
	src, dst, r := syncPair(t, nil, nil, "--state-dir", state)
	l := startLoad(t, src, 41)
	time.Sleep(500 * time.Millisecond)
	thaw := freeze(t, dst)
	spoolAhead(t, src, state, 32)
	seg := lastSegment(t, state)
	f, err := os.OpenFile(seg, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := f.Stat()
	b := make([]byte, 1)
	at := fi.Size() - 4<<20
	if _, err := f.ReadAt(b, at); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x20
	if _, err := f.WriteAt(b, at); err != nil {
		t.Fatal(err)
	}
	f.Close()
	thaw()
	r.waitOutput(t, "spool: damaged; a full resync is needed", 60*time.Second)
	line := logLine(r.out.String(), "spool: damaged; a full resync is needed")
	if !strings.Contains(line, seg) || !strings.Contains(line, "checksum mismatch at byte") {
		t.Fatalf("the damage is not named with its file and offset: %s", line)
	}
	t.Log(line)
	time.Sleep(time.Second)
	l.check(t)
	assertEqualShifted(t, src, dst, 90*time.Second, faultMargin)
	assertExactCounters(t, src, dst)
	if full := infoInt(t, src, "sync_full"); full != 2 {
		t.Fatalf("sync_full = %d, want 2 (the first sync and the resync after the damage)", full)
	}
	if code := r.stop(t); code != 0 {
		t.Fatalf("exit status %d", code)
	}
	assertEqualAfterStop(t, src, dst, faultMargin)
}

// TestSpoolDamagedAcrossRestart: replicant is killed with unapplied bytes
// in its spool, the spool is damaged, and replicant is started again with
// the same --state-dir: it finds the damage when it opens the spool, says
// so, and does a full resync instead of resuming from a damaged stream.
func TestSpoolDamagedAcrossRestart(t *testing.T) {
	cases := []struct {
		name   string
		damage func(b []byte) []byte
		reason string
	}{
		{"truncated", func(b []byte) []byte { return b[:len(b)-7] }, "truncated inside a record"},
		{"zeroed", func(b []byte) []byte { clear(b[len(b)-600 : len(b)-500]); return b }, "at byte"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			state := t.TempDir()
			src, dst, r := syncPair(t, nil, nil, "--state-dir", state)
			l := startLoad(t, src, int64(42+i))
			time.Sleep(500 * time.Millisecond)
			thaw := freeze(t, dst)
			time.Sleep(time.Second) // the stream goes into the spool only
			r.cmd.Process.Kill()
			r.wait(t, 10*time.Second)
			seg := lastSegment(t, state)
			b, err := os.ReadFile(seg)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(seg, c.damage(b), 0o600); err != nil {
				t.Fatal(err)
			}
			thaw()
			r2 := startReplicant(t, "sync", "--source", url(src), "--target", url(dst), "--state-dir", state,
				"--retry-max", "1s", "--log-format", "json", "--expire-margin", faultMargin.String())
			r2.waitOutput(t, "spool: damaged or of an older format; discarding it, a full resync follows", 30*time.Second)
			line := logLine(r2.out.String(), "spool: damaged or of an older format")
			if !strings.Contains(line, seg) || !strings.Contains(line, c.reason) || !strings.Contains(line, "at byte") {
				t.Fatalf("the damage is not named with its file and offset: %s", line)
			}
			t.Log(line)
			time.Sleep(time.Second)
			l.check(t)
			assertEqualShifted(t, src, dst, 90*time.Second, faultMargin)
			assertExactCounters(t, src, dst)
			if full := infoInt(t, src, "sync_full"); full != 2 {
				t.Fatalf("sync_full = %d, want 2 (the first sync and the one after the damage)", full)
			}
			if code := r2.stop(t); code != 0 {
				t.Fatalf("exit status %d", code)
			}
			assertEqualAfterStop(t, src, dst, faultMargin)
		})
	}
}

// shutdownBound is how long replicant may take to exit after SIGTERM when
// the target answers nothing: 30 s applying what it read, then a few
// seconds to give up on the target.
const shutdownBound = 45 * time.Second

// TestStopWithTargetFrozen: SIGTERM while the target is frozen with
// batches in flight ends the process within shutdownBound, and the state
// it leaves lets the next start continue without a full sync.
func TestStopWithTargetFrozen(t *testing.T) {
	state := t.TempDir()
	// The stream is held back for the 30 s of the stop, the restart and
	// the catch-up of the spool and the source's backlog: the expire margin
	// covers all of it (a key the target expired early by its own clock
	// would miss the writes the source made to it before it expired there).
	const margin = 120 * time.Second
	src, dst, r := syncPair(t, nil, nil, "--state-dir", state, "--expire-margin", margin.String())
	l := startLoad(t, src, 44)
	time.Sleep(500 * time.Millisecond)
	thaw := freeze(t, dst)
	spoolAhead(t, src, state, 16) // more than the socket buffers hold: a Commit blocks
	start := time.Now()
	r.cmd.Process.Signal(syscall.SIGTERM)
	if code := r.wait(t, shutdownBound); code != 0 {
		t.Fatalf("exit status %d", code)
	}
	t.Logf("exited %v after SIGTERM", time.Since(start).Round(time.Second))
	thaw()
	r2 := startReplicant(t, "sync", "--source", url(src), "--target", url(dst), "--state-dir", state,
		"--retry-max", "1s", "--log-format", "json", "--expire-margin", margin.String())
	r2.waitOutput(t, "partial resync accepted", 30*time.Second)
	time.Sleep(time.Second)
	l.check(t)
	assertEqualShifted(t, src, dst, 60*time.Second, margin)
	assertExactCounters(t, src, dst)
	assertNoFullResync(t, src, 1)
	if code := r2.stop(t); code != 0 {
		t.Fatalf("exit status %d", code)
	}
	assertEqualAfterStop(t, src, dst, margin)
}

// TestStateDirModes: the state dir and the spool hold the source's data:
// only their owner may read them.
func TestStateDirModes(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state")
	src, _, r := syncPair(t, nil, nil, "--state-dir", state)
	if err := src.Client.Set(context.Background(), "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	waitCondition(t, 10*time.Second, func() (bool, string) {
		names, _ := filepath.Glob(filepath.Join(state, "spool", "*.seg"))
		return len(names) > 0, "no spool segment"
	})
	want := map[string]os.FileMode{
		state:                              0o700,
		filepath.Join(state, "state.json"): 0o600,
		filepath.Join(state, "spool"):      0o700,
		lastSegment(t, state):              0o600,
	}
	for path, mode := range want {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode().Perm(), mode)
		}
	}
	if code := r.stop(t); code != 0 {
		t.Fatalf("exit status %d", code)
	}
}
