package resp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadCommandOffsets(t *testing.T) {
	cmds := []string{
		"*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n",
		"*3\r\n$3\r\nSET\r\n$3\r\nk\x00y\r\n$4\r\n\r\n\r\n\r\n",
		"*1\r\n$4\r\nPING\r\n",
		"*0\r\n",
		"*2\r\n$3\r\nGET\r\n$0\r\n\r\n",
	}
	for _, wrap := range []func(io.Reader) io.Reader{func(r io.Reader) io.Reader { return r }, iotest.OneByteReader} {
		r := NewReader(wrap(strings.NewReader(strings.Join(cmds, ""))), 16)
		var off int64
		for i, want := range cmds {
			args, size, err := r.ReadCommand()
			if err != nil {
				t.Fatalf("command %d: %v", i, err)
			}
			if size != len(want) {
				t.Fatalf("command %d: size %d, want %d", i, size, len(want))
			}
			off += int64(size)
			if r.Count() != off {
				t.Fatalf("count %d, want %d", r.Count(), off)
			}
			if got := string(AppendCommand(nil, args...)); got != want {
				t.Fatalf("command %d re-encoded as %q, want %q", i, got, want)
			}
		}
		if _, _, err := r.ReadCommand(); err != io.EOF {
			t.Fatalf("at end: %v", err)
		}
	}
}

func TestReadCommandErrors(t *testing.T) {
	for _, in := range []string{
		"+OK\r\n", "*1\r\n+OK\r\n", "*1\r\n$3\r\nab", "*x\r\n", "*1\r\n$-1\r\n",
		"*1\r\n$3\r\nabcXY", "*1\n", "*2\r\n$1\r\na\r\n",
	} {
		r := NewReader(strings.NewReader(in), 64)
		if _, _, err := r.ReadCommand(); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
	r := NewReader(strings.NewReader("*1\r\n$999\r\n"), 64)
	r.MaxBulk = 10
	if _, _, err := r.ReadCommand(); !errors.Is(err, ErrProtocol) {
		t.Errorf("over MaxBulk: %v", err)
	}
}

// TestGarbageQuotedShort: garbage where a command or reply belongs gives
// an error that quotes a short part of it, cut with "…".
func TestGarbageQuotedShort(t *testing.T) {
	garbage := strings.Repeat("\x00\x9f\x01~", 300) + "\r\n"
	r := NewReader(strings.NewReader(garbage), 4096)
	_, _, cmdErr := r.ReadCommand()
	r = NewReader(strings.NewReader(garbage), 4096)
	_, replyErr := r.ReadReply()
	for _, err := range []error{cmdErr, replyErr} {
		t.Log(err)
		if err == nil || len(err.Error()) > 150 || !strings.HasSuffix(err.Error(), "…") {
			t.Errorf("error of %d bytes: %.300v", len(fmt.Sprint(err)), err)
		}
	}
}

func TestReadReply(t *testing.T) {
	in := "+OK\r\n-ERR bad thing\r\n:42\r\n$3\r\nabc\r\n$-1\r\n*2\r\n$1\r\na\r\n*1\r\n:1\r\n*-1\r\n_\r\n%1\r\n+k\r\n+v\r\n"
	r := NewReader(strings.NewReader(in), 64)
	var got []string
	for {
		rep, err := r.ReadReply()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(rep.Kind)+rep.String())
	}
	want := "+OK|-ERR bad thing|:42|$abc|$(nil)|*2 elements|*(nil)|_(nil)|%2 elements"
	if strings.Join(got, "|") != want {
		t.Fatalf("got %q", strings.Join(got, "|"))
	}
	if r.Count() != int64(len(in)) {
		t.Fatalf("count %d, want %d", r.Count(), len(in))
	}
	rep := Reply{Kind: Error, Str: []byte("MOVED 3999 127.0.0.1:6381")}
	var se *ServerError
	if !errors.As(rep.Err(), &se) || se.Prefix() != "MOVED" {
		t.Fatalf("err %v", rep.Err())
	}
}

func TestAppendCommandString(t *testing.T) {
	a := AppendCommandString(nil, "SET", "k", "")
	b := AppendCommand(nil, []byte("SET"), []byte("k"), []byte{})
	if !bytes.Equal(a, b) || string(a) != "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n" {
		t.Fatalf("%q vs %q", a, b)
	}
	if got := string(AppendBulkInt(nil, -12)); got != "$3\r\n-12\r\n" {
		t.Fatalf("%q", got)
	}
}

func FuzzReadCommand(f *testing.F) {
	f.Add([]byte("*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n*1\r\n$4\r\nPING\r\n"))
	f.Add([]byte("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data), 32)
		r.MaxBulk, r.MaxArray = 1<<16, 1<<10
		var total int64
		for {
			args, size, err := r.ReadCommand()
			if err != nil {
				break
			}
			total += int64(size)
			if enc := AppendCommand(nil, args...); len(enc) != size {
				t.Fatalf("size %d but re-encodes to %d bytes", size, len(enc))
			}
		}
		if total > int64(len(data)) {
			t.Fatalf("counted %d of %d bytes", total, len(data))
		}
	})
}

func FuzzReadReply(f *testing.F) {
	f.Add([]byte("+OK\r\n*2\r\n$1\r\na\r\n:1\r\n%1\r\n+k\r\n+v\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data), 32)
		r.MaxBulk, r.MaxArray = 1<<16, 1<<10
		for {
			if _, err := r.ReadReply(); err != nil {
				return
			}
		}
	})
}
