package rdbstream

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hdt3213/rdb/crc64jones"
)

// record is a copy of an Entry that outlives Next.
type record struct {
	Kind     Kind
	DB       int
	Key      string
	Type     byte
	ExpireAt int64
	Idle     int64
	Freq     int
	Payload  []byte
	Code     string
}

func copyEntry(e *Entry) record {
	return record{
		Kind: e.Kind, DB: e.DB, Key: string(e.Key), Type: e.Type,
		ExpireAt: e.ExpireAt, Idle: e.Idle, Freq: e.Freq,
		Payload: bytes.Clone(e.Payload), Code: string(e.Code),
	}
}

// decodeAll decodes r to the end and returns every entry.
func decodeAll(r io.Reader, opts Options) ([]record, *Decoder, error) {
	d := NewDecoder(r, opts)
	var out []record
	for {
		e, err := d.Next()
		if err == io.EOF {
			return out, d, nil
		}
		if err != nil {
			return out, d, err
		}
		out = append(out, copyEntry(e))
	}
}

// epoch is a clock under which no key has expired.
func epoch() time.Time { return time.Unix(0, 0) }

var (
	fixturesOnce sync.Once
	fixturesDir  string
	fixturesErr  error
)

// fixtures returns the paths of the RDB files shipped with hdt3213/rdb.
func fixtures(tb testing.TB) []string {
	tb.Helper()
	fixturesOnce.Do(func() {
		out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/hdt3213/rdb").Output()
		if err != nil {
			fixturesErr = err
			return
		}
		fixturesDir = filepath.Join(strings.TrimSpace(string(out)), "cases")
	})
	if fixturesErr != nil {
		tb.Fatalf("locate hdt3213/rdb: %v", fixturesErr)
	}
	paths, err := filepath.Glob(filepath.Join(fixturesDir, "*.rdb"))
	if err != nil || len(paths) == 0 {
		tb.Fatalf("no fixtures in %s: %v", fixturesDir, err)
	}
	return paths
}

func readFile(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// checkPayload verifies a payload's framing: type byte, version and CRC.
func checkPayload(tb testing.TB, rec record, version int) {
	tb.Helper()
	p := rec.Payload
	if len(p) < 11 {
		tb.Fatalf("key %q: payload of %d bytes", rec.Key, len(p))
	}
	if p[0] != rec.Type {
		tb.Errorf("key %q: payload type %d, entry type %d", rec.Key, p[0], rec.Type)
	}
	if v := binary.LittleEndian.Uint16(p[len(p)-10:]); int(v) != version {
		tb.Errorf("key %q: payload version %d, want %d", rec.Key, v, version)
	}
	h := crc64jones.New()
	h.Write(p[:len(p)-8])
	if got, want := binary.LittleEndian.Uint64(p[len(p)-8:]), h.Sum64(); got != want {
		tb.Errorf("key %q: payload crc %016x, want %016x", rec.Key, got, want)
	}
}

// appendRDBLen appends n in RDB length encoding.
func appendRDBLen(b []byte, n uint64) []byte {
	switch {
	case n < 1<<6:
		return append(b, byte(n))
	case n < 1<<14:
		return append(b, byte(n>>8)|0x40, byte(n))
	case n <= 1<<32-1:
		return binary.BigEndian.AppendUint32(append(b, 0x80), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(b, 0x81), n)
}

// appendRDBString appends s as a plain RDB string.
func appendRDBString(b []byte, s string) []byte {
	return append(appendRDBLen(b, uint64(len(s))), s...)
}

// wrapPayload builds a one-key RDB from a payload, so that another decoder
// can read the value back.
func wrapPayload(rec record, magic string) []byte {
	b := []byte(magic)
	b = appendRDBLen(append(b, opSelectDB), uint64(rec.DB))
	if rec.ExpireAt != 0 {
		b = append(b, opExpireTimeMs)
		b = binary.LittleEndian.AppendUint64(b, uint64(rec.ExpireAt))
	}
	b = append(b, rec.Type)
	b = appendRDBString(b, rec.Key)
	b = append(b, rec.Payload[1:len(rec.Payload)-10]...)
	b = append(b, opEOF)
	return append(b, 0, 0, 0, 0, 0, 0, 0, 0)
}
