package psync

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

const testMark = "0123456789abcdef0123456789abcdef01234567"

// readPayload frames data as the master would and reads it back through a
// payloadReader, returning the payload and what the bufio.Reader still holds.
func readPayload(t *testing.T, header string, body, after []byte, wrap func(io.Reader) io.Reader) ([]byte, []byte) {
	t.Helper()
	wire := append([]byte(nil), body...)
	if strings.HasPrefix(header, "$EOF:") {
		wire = append(wire, testMark...)
	}
	wire = append(wire, after...)
	br := bufio.NewReaderSize(wrap(bytes.NewReader(wire)), 16)
	p, err := newPayloadReader(br, header)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(p)
	if err != nil {
		t.Fatalf("read payload: %v", err)
	}
	rest, _ := io.ReadAll(br)
	return got, rest
}

func identity(r io.Reader) io.Reader { return r }

func TestEOFMarkerSplitAtEveryPosition(t *testing.T) {
	after := []byte("*1\r\n$4\r\nPING\r\n")
	for size := 0; size < 100; size++ {
		body := bytes.Repeat([]byte("x"), size)
		for _, wrap := range []func(io.Reader) io.Reader{identity, iotest.OneByteReader, iotest.HalfReader, iotest.DataErrReader} {
			got, rest := readPayload(t, "$EOF:"+testMark, body, after, wrap)
			if !bytes.Equal(got, body) {
				t.Fatalf("size %d: payload %q, want %q", size, got, body)
			}
			if !bytes.Equal(rest, after) {
				t.Fatalf("size %d: left %q for the stream, want %q", size, rest, after)
			}
		}
	}
}

func TestEOFMarkerLookalikes(t *testing.T) {
	// A body holding most of the marker, then the marker.
	body := []byte("ab" + testMark[:39] + "cd" + testMark[:20])
	got, rest := readPayload(t, "$EOF:"+testMark, body, []byte("tail"), iotest.OneByteReader)
	if !bytes.Equal(got, body) || string(rest) != "tail" {
		t.Fatalf("payload %q rest %q", got, rest)
	}
}

func TestSizedPayloadStopsAtLength(t *testing.T) {
	body := []byte("REDIS0010 some rdb bytes")
	after := []byte("*1\r\n$4\r\nPING\r\n")
	got, rest := readPayload(t, "$24", body, after, iotest.OneByteReader)
	if !bytes.Equal(got, body) || !bytes.Equal(rest, after) {
		t.Fatalf("payload %q rest %q", got, rest)
	}
}

// TestTruncatedPayloads: a payload cut before its declared length or its
// end marker is a lost link, not the end of the RDB: the error wraps
// ErrLinkLost, and is not io.EOF or io.ErrUnexpectedEOF, which a decoder
// would take for a truncated file.
func TestTruncatedPayloads(t *testing.T) {
	for _, header := range []string{"$EOF:" + testMark, "$100"} {
		for name, src := range map[string]io.Reader{
			"closed": strings.NewReader("short"),
			"broken": io.MultiReader(strings.NewReader("short"), iotest.ErrReader(errors.New("connection reset by peer"))),
		} {
			br := bufio.NewReader(src)
			p, err := newPayloadReader(br, header)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(p)
			if !errors.Is(err, ErrLinkLost) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
				t.Fatalf("%s %s: got %v, want ErrLinkLost", header, name, err)
			}
			if header == "$100" && (string(got) != "short" || !strings.Contains(err.Error(), "5 of 100")) {
				t.Fatalf("%s %s: read %q, error %v", header, name, got, err)
			}
		}
	}
}

func TestPayloadHeaders(t *testing.T) {
	for _, bad := range []string{"-ERR fork failed", "$EOF:short", "$-5", "$abc", "+OK", "$" + strings.Repeat("\x01", 1000)} {
		_, err := newPayloadReader(bufio.NewReader(strings.NewReader("")), bad)
		if err == nil {
			t.Errorf("%.20q: no error", bad)
		} else if len(err.Error()) > 200 {
			t.Errorf("%.20q: error of %d bytes: %.300s", bad, len(err.Error()), err)
		}
	}
}
