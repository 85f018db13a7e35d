package spool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fill appends the chunks to a new spool in dir and returns it with the
// bytes appended.
func fill(t testing.TB, dir string, opts Options, chunks ...[]byte) (*Spool, []byte) {
	t.Helper()
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	var all []byte
	for _, c := range chunks {
		if err := s.Append(c); err != nil {
			t.Fatal(err)
		}
		all = append(all, c...)
	}
	return s, all
}

// chunk is n bytes of a pattern that tells one offset from another.
func chunk(tag byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = tag + byte(i%7)
	}
	return b
}

// readAll reads from offset to the spool's end, or to the first error.
func readAll(s *Spool, from int64) ([]byte, error) {
	r := s.NewReader(context.Background(), from)
	defer r.Close()
	var got []byte
	buf := make([]byte, 1000)
	for r.Offset() < s.End() {
		n, err := r.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			return got, err
		}
	}
	return got, nil
}

func segFiles(t *testing.T, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*"+segSuffix))
	if err != nil || len(names) == 0 {
		t.Fatalf("no segments in %s: %v", dir, err)
	}
	return names
}

// wantCorrupt checks that err is a *CorruptError naming path and offset.
func wantCorrupt(t *testing.T, err error, path string, offset int64, reason string) {
	t.Helper()
	var ce *CorruptError
	if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) {
		t.Fatalf("got %v, want a *CorruptError", err)
	}
	if ce.Path != path || ce.Offset != offset || !strings.Contains(ce.Reason, reason) {
		t.Fatalf("got %q (path %s, offset %d), want %s at %d: %q", err, ce.Path, ce.Offset, path, offset, reason)
	}
	if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, fmt.Sprint(offset)) {
		t.Fatalf("the message does not name the file and offset: %s", msg)
	}
}

// damage rewrites the bytes at off of path with fn's result.
func damage(t *testing.T, path string, fn func(b []byte) []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, fn(b), 0o600); err != nil {
		t.Fatal(err)
	}
}

// onDisk keeps no bytes in memory: every Reader reads the files.
var onDisk = Options{MemoryTail: -1}

// Three records of 100 bytes in one segment: the second starts at byte
// segHeaderLen + recHeaderLen + 100 of the file.
const rec2 = segHeaderLen + recHeaderLen + 100

// TestReaderDetectsDamage damages the file under a live spool: the Reader
// returns every byte before the damaged record, then a *CorruptError
// naming the file and the record's offset in it.
func TestReaderDetectsDamage(t *testing.T) {
	cases := []struct {
		name   string
		fn     func(b []byte) []byte
		offset int64
		reason string
	}{
		{"flipped payload byte", func(b []byte) []byte { b[rec2+recHeaderLen+40] ^= 0x10; return b }, rec2, "checksum"},
		{"flipped length bit", func(b []byte) []byte { b[rec2+8] ^= 0x01; return b }, rec2, "checksum"},
		{"flipped offset byte", func(b []byte) []byte { b[rec2] ^= 0x01; return b }, rec2, "names stream offset"},
		{"zeroed bytes", func(b []byte) []byte { clear(b[rec2+10 : rec2+60]); return b }, rec2, "checksum"},
		{"zeroed header", func(b []byte) []byte { clear(b[rec2 : rec2+recHeaderLen]); return b }, rec2, "names stream offset"},
		{"truncated inside a record", func(b []byte) []byte { return b[:rec2+recHeaderLen+50] }, rec2 + recHeaderLen + 50, "truncated"},
		{"truncated inside a header", func(b []byte) []byte { return b[:rec2+5] }, rec2 + 5, "truncated"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			s, all := fill(t, dir, onDisk, chunk('a', 100), chunk('b', 100), chunk('c', 100))
			defer s.Close()
			path := segFiles(t, dir)[0]
			damage(t, path, c.fn)
			got, err := readAll(s, 0)
			wantCorrupt(t, err, path, c.offset, c.reason)
			if !bytes.Equal(got, all[:100]) {
				t.Fatalf("read %d bytes before the damage, want the 100 of the sound record", len(got))
			}
			if _, err2 := s.NewReader(context.Background(), 150).Read(make([]byte, 10)); !errors.Is(err2, ErrCorrupt) {
				t.Fatalf("a reader from inside the damaged record: %v", err2)
			}
		})
	}
}

// TestOpenDetectsDamage damages the last segment of a closed spool: Open
// reads it whole and fails.
func TestOpenDetectsDamage(t *testing.T) {
	cases := []struct {
		name   string
		fn     func(b []byte) []byte
		offset int64
		reason string
	}{
		{"flipped byte", func(b []byte) []byte { b[rec2+recHeaderLen+99] ^= 0x80; return b }, rec2, "checksum"},
		{"zeroed tail", func(b []byte) []byte { clear(b[rec2:]); return b }, rec2, "names stream offset"},
		{"truncated", func(b []byte) []byte { return b[:len(b)-1] }, 2*rec2 - segHeaderLen, "truncated"},
		{"zeroed file", func(b []byte) []byte { clear(b); return b }, 0, "no spool segment header"},
		{"flipped header", func(b []byte) []byte { b[10] ^= 1; return b }, 0, "header checksum"},
		{"appended garbage", func(b []byte) []byte { return append(b, "*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n"...) }, 3*rec2 - 2*segHeaderLen, "names stream offset"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			s, _ := fill(t, dir, Options{}, chunk('a', 100), chunk('b', 100), chunk('c', 100))
			s.Close()
			path := segFiles(t, dir)[0]
			damage(t, path, c.fn)
			_, err := Open(dir, Options{})
			wantCorrupt(t, err, path, c.offset, c.reason)
		})
	}
}

// TestOldFormat: a segment of the format before records (the raw stream)
// is never read as stream bytes.
func TestOldFormat(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, fmt.Sprintf("%020d%s", 5000, segSuffix))
	if err := os.WriteFile(path, []byte("*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*2\r\n$4\r\nINCR\r\n$1\r\nk\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open(dir, Options{})
	wantCorrupt(t, err, path, 0, "older replicant")
}

// TestEarlierSegmentDamage: a segment before the last is checked as it
// is read, against the start of the next: cut at a record boundary, or
// followed by a gap, it is found all the same.
func TestEarlierSegmentDamage(t *testing.T) {
	open := func(t *testing.T) (string, []string) {
		dir := t.TempDir()
		var chunks [][]byte
		for i := 0; i < 20; i++ { // segment 0-200: 20 records of 10 bytes
			chunks = append(chunks, chunk('a', 10))
		}
		chunks = append(chunks, chunk('b', 100), chunk('c', 100), chunk('d', 100)) // 200-400, 400-500
		s, _ := fill(t, dir, Options{SegmentBytes: 200}, chunks...)
		s.Close()
		return dir, segFiles(t, dir)
	}
	read := func(t *testing.T, dir string, from int64) ([]byte, error) {
		s, err := Open(dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		return readAll(s, from)
	}
	const small = recHeaderLen + 10
	t.Run("cut at a record boundary", func(t *testing.T) {
		dir, segs := open(t)
		damage(t, segs[0], func(b []byte) []byte { return b[:segHeaderLen+15*small] })
		got, err := read(t, dir, 0)
		wantCorrupt(t, err, segs[0], segHeaderLen+15*small, "file ends at stream offset 150, short of 200")
		if len(got) != 150 {
			t.Fatalf("read %d bytes, want 150", len(got))
		}
	})
	t.Run("flipped byte", func(t *testing.T) {
		dir, segs := open(t)
		damage(t, segs[1], func(b []byte) []byte { b[rec2+20] ^= 4; return b })
		_, err := read(t, dir, 250)
		wantCorrupt(t, err, segs[1], rec2, "checksum")
	})
	t.Run("gap", func(t *testing.T) {
		dir, segs := open(t)
		if err := os.Remove(segs[1]); err != nil {
			t.Fatal(err)
		}
		_, err := read(t, dir, 0)
		wantCorrupt(t, err, segs[0], segHeaderLen+20*small, "short of 400")
	})
	t.Run("too short", func(t *testing.T) {
		dir, segs := open(t)
		damage(t, segs[1], func(b []byte) []byte { return b[:rec2] })
		_, err := Open(dir, Options{})
		wantCorrupt(t, err, segs[1], rec2, "too short for the stream up to the next segment")
	})
}

// TestEveryByteMatters flips each bit of a small spool, zeroes each
// 8-byte run and cuts the file at each length: each change is found
// (Open or a full read fails with ErrCorrupt), or the spool reads as a
// prefix of what was appended that ends where an Append ended (a cut
// there is a shorter spool, as a crash leaves one).
func TestEveryByteMatters(t *testing.T) {
	dir := t.TempDir()
	s, all := fill(t, dir, Options{}, chunk('a', 30), chunk('b', 1), chunk('c', 45))
	s.Close()
	path := segFiles(t, dir)[0]
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, b []byte) {
		t.Helper()
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := Open(dir, Options{})
		if errors.Is(err, ErrCorrupt) {
			return
		}
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		defer s.Close()
		got, err := readAll(s, s.Start())
		switch {
		case errors.Is(err, ErrCorrupt):
		case err != nil:
			t.Fatalf("%s: %v", what, err)
		case len(b) == len(orig) && !bytes.Equal(b, orig):
			t.Fatalf("%s: not found, %d bytes read", what, len(got))
		case !bytes.Equal(got, all[:len(got)]) || !slices.Contains([]int{0, 30, 31, len(all)}, len(got)):
			t.Fatalf("%s: read %q, not what was appended", what, got)
		}
	}
	for i := range orig {
		for bit := 0; bit < 8; bit++ {
			b := bytes.Clone(orig)
			b[i] ^= 1 << bit
			check(fmt.Sprintf("bit %d of byte %d flipped", bit, i), b)
		}
		b := bytes.Clone(orig)
		clear(b[i:min(i+8, len(b))])
		check(fmt.Sprintf("bytes %d-%d zeroed", i, i+8), b)
		check(fmt.Sprintf("cut at %d", i), bytes.Clone(orig[:i]))
	}
}

// TestUnfinishedAppendCut: an Append of several records that a crash cut
// short, between two records, is dropped whole at Open: the spool ends
// where the Append began, never inside it.
func TestUnfinishedAppendCut(t *testing.T) {
	dir := t.TempDir()
	big := chunk('x', 2*maxRecord+10) // three records
	s, _ := fill(t, dir, Options{}, chunk('a', 100), big)
	s.Close()
	path := segFiles(t, dir)[0]
	cut := int64(rec2 + recHeaderLen + maxRecord) // after the Append's first record
	if err := os.Truncate(path, cut); err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.End() != 100 {
		t.Fatalf("end %d, want 100: the unfinished Append is kept", s.End())
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() != rec2 {
		t.Fatalf("file not cut back to the last whole Append: %v %v", fi.Size(), err)
	}
	if err := s.Append(chunk('z', 10)); err != nil {
		t.Fatal(err)
	}
	got, err := readAll(s, 0)
	if err != nil || !bytes.Equal(got, append(chunk('a', 100), chunk('z', 10)...)) {
		t.Fatalf("after the cut: %q %v", got, err)
	}
}

// TestBigAppendRoundTrip: an Append larger than a record is split into
// records and read back whole, from any offset.
func TestBigAppendRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s, all := fill(t, dir, Options{SegmentBytes: 1 << 20}, chunk('a', 10), chunk('b', 3*maxRecord+5), chunk('c', 7))
	defer s.Close()
	for _, from := range []int64{0, 10, maxRecord, maxRecord + 10, int64(len(all)) - 3} {
		got, err := readAll(s, from)
		if err != nil || !bytes.Equal(got, all[from:]) {
			t.Fatalf("from %d: %d bytes, %v", from, len(got), err)
		}
	}
	s.Close()
	s2, err := Open(dir, Options{SegmentBytes: 1 << 20})
	if err != nil || s2.End() != int64(len(all)) {
		t.Fatalf("reopened: end %d, %v", s2.End(), err)
	}
}

// TestModes: the spool holds the data, so only its owner reads it.
func TestModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "spool")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s, _ := fill(t, dir, Options{}, chunk('a', 10))
	defer s.Close()
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("dir mode %v, %v; want 0700", fi.Mode().Perm(), err)
	}
	for _, p := range segFiles(t, dir) {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s mode %v, %v; want 0600", p, fi.Mode().Perm(), err)
		}
	}
}

// FuzzOpen: whatever a segment file holds, Open and a full read never
// panic or hang, and never return bytes the spool did not append.
func FuzzOpen(f *testing.F) {
	var seg []byte
	seg = appendSegHeader(seg, 0)
	seg = appendRecord(seg, 0, []byte("*1\r\n$4\r\nPING\r\n"), false)
	seg = appendRecord(seg, 14, []byte("*2\r\n$4\r\nINCR\r\n$1\r\nk\r\n"), true)
	f.Add(seg)
	f.Add(seg[:30])
	f.Add([]byte("*1\r\n$4\r\nPING\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%020d%s", 0, segSuffix)), b, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := Open(dir, Options{})
		if err != nil {
			return
		}
		defer s.Close()
		got, err := readAll(s, 0)
		if err == nil && !bytes.Equal(got, validPrefix(b)) {
			t.Fatalf("read %q from a file whose records hold %q", got, validPrefix(b))
		}
	})
}

// validPrefix decodes the records of a segment file of stream offset 0
// up to the end of the last whole Append, independently of segReader.
func validPrefix(b []byte) []byte {
	if len(b) < segHeaderLen || checkSegHeader("", b[:segHeaderLen], 0) != nil {
		return nil
	}
	var out, whole []byte
	for p := b[segHeaderLen:]; len(p) >= recHeaderLen; {
		n, more, err := recordHeader("", 0, p[:recHeaderLen], int64(len(out)))
		if err != nil || len(p) < recHeaderLen+n || checkRecord("", 0, 0, p[:recHeaderLen+n]) != nil {
			break
		}
		out = append(out, p[recHeaderLen:recHeaderLen+n]...)
		if !more {
			whole = out
		}
		p = p[recHeaderLen+n:]
	}
	return whole
}

// TestConcurrentAppendRead reads the live end while it is appended to,
// across segments and records of every size, as the applier does: from
// the memory tail, from the files, and switching between them as the tail
// starts again.
func TestConcurrentAppendRead(t *testing.T) {
	for _, tail := range []int{0, 5000, -1} {
		t.Run(fmt.Sprintf("tail=%d", tail), func(t *testing.T) { testConcurrentAppendRead(t, tail) })
	}
}

func testConcurrentAppendRead(t *testing.T, tail int) {
	s, err := Open(t.TempDir(), Options{SegmentBytes: 64 << 10, MemoryTail: tail})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var want []byte
	for i := 0; i < 600; i++ {
		n := 1 + (i*7919)%3000
		if i%100 == 7 {
			n = maxRecord + 1000 // two records
		}
		want = append(want, chunk(byte(i), n)...)
	}
	done := make(chan error, 1)
	go func() {
		r := s.NewReader(context.Background(), 0)
		defer r.Close()
		got := make([]byte, len(want))
		_, err := io.ReadFull(r, got)
		if err == nil && !bytes.Equal(got, want) {
			err = errors.New("read other bytes than appended")
		}
		done <- err
	}()
	for p := want; len(p) > 0; {
		n := 1 + (len(p)*31)%3000
		if len(p)%13 == 0 {
			n = maxRecord + 1000
		}
		n = min(n, len(p))
		if err := s.Append(p[:n]); err != nil {
			t.Fatal(err)
		}
		p = p[n:]
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestMemoryTail: Readers near the end take the newest bytes from memory,
// as appended, without reading the file back; a Reader further back reads
// the file and checks it; a trimmed or reset offset is not served.
func TestMemoryTail(t *testing.T) {
	dir := t.TempDir()
	s, all := fill(t, dir, Options{MemoryTail: 150}, chunk('a', 100), chunk('b', 100), chunk('c', 100))
	path := segFiles(t, dir)[0]
	rec3 := rec2 + recHeaderLen + 100
	damage(t, path, func(b []byte) []byte { b[rec3+recHeaderLen+10] ^= 0x10; return b })
	got, err := readAll(s, 200)
	if err != nil || !bytes.Equal(got, all[200:]) {
		t.Fatalf("from the memory tail: %d bytes, %v; want the 100 appended last", len(got), err)
	}
	damage(t, path, func(b []byte) []byte { b[rec2+recHeaderLen+10] ^= 0x10; return b })
	got, err = readAll(s, 0)
	wantCorrupt(t, err, path, rec2, "checksum")
	if !bytes.Equal(got, all[:100]) {
		t.Fatalf("read %d bytes before the damage on disk, want 100", len(got))
	}
	if err := s.Reset(300); err != nil {
		t.Fatal(err)
	}
	if n := s.fromRecent(make([]byte, 10), 250); n != 0 {
		t.Fatalf("after Reset the tail still serves %d bytes", n)
	}
	s.Close()
	if _, err := Open(dir, Options{}); err != nil {
		t.Fatalf("open after Reset: %v", err)
	}
}
