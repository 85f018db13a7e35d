package rdbstream

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"
)

// decodeTimeout decodes data, failing the test if it takes too long.
func decodeTimeout(t *testing.T, data []byte) ([]record, error) {
	t.Helper()
	type result struct {
		recs []record
		err  error
	}
	done := make(chan result, 1)
	go func() {
		recs, _, err := decodeAll(bytes.NewReader(data), Options{Now: epoch})
		done <- result{recs, err}
	}()
	select {
	case r := <-done:
		return r.recs, r.err
	case <-time.After(10 * time.Second):
		t.Fatalf("decoder hung on %d bytes", len(data))
		return nil, nil
	}
}

// TestCorruption flips and truncates every fixture at many seeded random
// offsets. Truncation must always fail with a *CorruptError; a flip must
// never panic or hang, and must fail when the file carries a checksum.
func TestCorruption(t *testing.T) {
	const tries = 500
	for i, path := range fixtures(t) {
		data := readFile(t, path)
		name := filepath.Base(path)
		checksummed := binary.LittleEndian.Uint64(data[len(data)-8:]) != 0 && data[len(data)-9] == opEOF &&
			(string(data[5:9]) >= "0005" || string(data[:6]) == "VALKEY")
		rng := rand.New(rand.NewPCG(uint64(i), 42))
		for try := 0; try < tries; try++ {
			// Truncate.
			n := rng.IntN(len(data))
			_, err := decodeTimeout(t, data[:n])
			var ce *CorruptError
			if !errors.As(err, &ce) || !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("%s cut at %d: err %v, want a truncation *CorruptError", name, n, err)
			} else if ce.Offset > int64(n) {
				t.Errorf("%s cut at %d: error offset %d beyond the input", name, n, ce.Offset)
			}

			// Flip one byte.
			bad := bytes.Clone(data)
			off := rng.IntN(len(bad))
			bad[off] ^= byte(1 + rng.IntN(255))
			_, err = decodeTimeout(t, bad)
			switch {
			case err != nil && !isCorrupt(err):
				t.Errorf("%s flip at %d: err %v is not a *CorruptError", name, off, err)
			case err == nil && checksummed:
				t.Errorf("%s flip at %d: no error despite the checksum", name, off)
			}
		}
	}
}
