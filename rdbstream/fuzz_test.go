package rdbstream

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// FuzzDecoder feeds arbitrary bytes to the decoder: it must not panic or
// hang, must return a *CorruptError for bad input, and every payload it
// returns must be well framed and decode again to itself.
func FuzzDecoder(f *testing.F) {
	// Small fixtures only: minimizing a new input as large as the biggest
	// ones (100 KB) takes the fuzzer minutes. The types found only in
	// large fixtures get small synthetic seeds below.
	for _, path := range fixtures(f) {
		if data := readFile(f, path); len(data) <= 8<<10 {
			f.Add(data)
		}
	}
	s := appendRDBString(nil, "s")
	f.Add(rdbFile("REDIS0006", kv(typeList, "l", cat([]byte{0x02}, s, []byte{0xc0, 0x05}))))
	f.Add(rdbFile("REDIS0006", kv(typeZset, "z", cat([]byte{0x02}, s, []byte{3, '1', '.', '5'}, s, []byte{254}))))
	f.Add(rdbFile("REDIS0006", kv(typeHash, "h", cat([]byte{0x01}, s, []byte{0xc3, 5, 30}, lzf30a))))
	f.Add(rdbFile("REDIS0009", kv(typeZset2, "z", cat([]byte{0x01}, s, le64(1)))))
	f.Add(rdbFile("REDIS0011", kv(typeString, "k", appendRDBString(nil, "v"))))
	f.Add(rdbFile("VALKEY080", kv(typeHash22, "h", []byte{0x01, 0x01, 'f', 0x01, 'v', 1, 2, 3, 4, 5, 6, 7, 8})))
	f.Add(rdbFile("REDIS0012", kv(typeModule2, "m", []byte{0x01, moduleOpDouble, 1, 2, 3, 4, 5, 6, 7, 8, moduleOpEOF})))
	f.Fuzz(func(t *testing.T, data []byte) {
		type result struct {
			recs []record
			d    *Decoder
			err  error
		}
		done := make(chan result, 1)
		go func() {
			recs, d, err := decodeAll(bytes.NewReader(data), Options{Now: epoch})
			done <- result{recs, d, err}
		}()
		var res result
		select {
		case res = <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("decoder hung")
		}
		recs, d, err := res.recs, res.d, res.err
		if err != nil {
			var ce *CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("err %v is not a *CorruptError", err)
			}
			if ce.Offset < 0 || ce.Offset > int64(len(data)) {
				t.Fatalf("error offset %d outside the %d-byte input", ce.Offset, len(data))
			}
		}
		if d.Offset() > int64(len(data)) {
			t.Fatalf("Offset() %d beyond the %d-byte input", d.Offset(), len(data))
		}
		for _, r := range recs {
			if r.Kind != KindKey {
				continue
			}
			checkPayload(t, r, d.Version())
			// The payload's value, wrapped in a new RDB, decodes to the
			// same payload.
			again, _, err := decodeAll(bytes.NewReader(wrapPayload(r, string(data[:9]))), Options{Now: epoch})
			if err != nil || len(again) != 1 || !bytes.Equal(again[0].Payload, r.Payload) || again[0].Key != r.Key {
				t.Fatalf("key %q: payload does not decode to itself: %v", r.Key, err)
			}
		}
	})
}
