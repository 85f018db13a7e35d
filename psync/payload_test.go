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

func TestTruncatedPayloads(t *testing.T) {
	for _, header := range []string{"$EOF:" + testMark, "$100"} {
		br := bufio.NewReader(strings.NewReader("short"))
		p, err := newPayloadReader(br, header)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadAll(p); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("%s: got %v, want unexpected EOF", header, err)
		}
	}
}

func TestPayloadHeaders(t *testing.T) {
	for _, bad := range []string{"-ERR fork failed", "$EOF:short", "$-5", "$abc", "+OK"} {
		if _, err := newPayloadReader(bufio.NewReader(strings.NewReader("")), bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
