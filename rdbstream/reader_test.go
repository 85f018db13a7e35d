package rdbstream

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"testing"
	"testing/iotest"
	"time"
)

// TestSmallReads decodes every fixture through readers that return one
// byte, half the request, or data together with io.EOF, and expects the
// same entries as from a plain reader.
func TestSmallReads(t *testing.T) {
	wrappers := map[string]func(io.Reader) io.Reader{
		"OneByteReader": iotest.OneByteReader,
		"HalfReader":    iotest.HalfReader,
		"DataErrReader": iotest.DataErrReader,
	}
	for _, path := range fixtures(t) {
		data := readFile(t, path)
		want, _, err := decodeAll(bytes.NewReader(data), Options{Now: epoch})
		if err != nil {
			t.Fatal(err)
		}
		for name, wrap := range wrappers {
			got, d, err := decodeAll(wrap(bytes.NewReader(data)), Options{Now: epoch})
			if err != nil {
				t.Errorf("%s via %s: %v", filepath.Base(path), name, err)
				continue
			}
			if fmt.Sprint(got) != fmt.Sprint(want) || d.Offset() != int64(len(data)) {
				t.Errorf("%s via %s: entries differ", filepath.Base(path), name)
			}
		}
	}
}

// TestNoReadPastEnd feeds an RDB through a pipe that never closes: the
// decoder must finish without asking for a byte beyond the checksum.
func TestNoReadPastEnd(t *testing.T) {
	for _, path := range fixtures(t) {
		data := readFile(t, path)
		pr, pw := io.Pipe()
		go func() {
			// Small writes, so that reads end at arbitrary places.
			for b := data; len(b) > 0; {
				n := min(len(b), 7)
				if _, err := pw.Write(b[:n]); err != nil {
					return
				}
				b = b[n:]
			}
		}()
		done := make(chan error, 1)
		go func() {
			_, _, err := decodeAll(pr, Options{Now: epoch})
			done <- err
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s: %v", filepath.Base(path), err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("%s: decoder blocked reading past the end of the RDB", filepath.Base(path))
		}
		pw.CloseWithError(errors.New("test over"))
	}
}

// TestReadError checks that an error from the reader is returned as such,
// not as corruption, and is sticky.
func TestReadError(t *testing.T) {
	data := readFile(t, fixtures(t)[0])
	boom := errors.New("boom")
	r := io.MultiReader(bytes.NewReader(data[:len(data)/2]), iotest.ErrReader(boom))
	d := NewDecoder(r, Options{Now: epoch})
	var err error
	for err == nil {
		_, err = d.Next()
	}
	if !errors.Is(err, boom) || isCorrupt(err) {
		t.Fatalf("err %v, want the reader's error", err)
	}
	if _, err2 := d.Next(); err2 != err {
		t.Fatalf("second Next: %v, want the same error", err2)
	}
}

// stallReader returns (0, nil) forever.
type stallReader struct{}

func (stallReader) Read([]byte) (int, error) { return 0, nil }

func TestNoProgress(t *testing.T) {
	d := NewDecoder(stallReader{}, Options{})
	if _, err := d.Next(); !errors.Is(err, io.ErrNoProgress) {
		t.Fatalf("err %v, want io.ErrNoProgress", err)
	}
}

// TestDecodeAllocs checks that decoding does not allocate per entry once
// the buffers have grown.
func TestDecodeAllocs(t *testing.T) {
	data := populateRDB(20000, 0)
	d := NewDecoder(bytes.NewReader(data), Options{})
	for i := 0; i < 100; i++ {
		if _, err := d.Next(); err != nil {
			t.Fatal(err)
		}
	}
	allocs := testing.AllocsPerRun(10000, func() {
		if _, err := d.Next(); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per entry, want 0", allocs)
	}
}
