package resp

import (
	"bytes"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

// TestReadCommandAllocs: a command whole in the read buffer is parsed in
// place, with no allocation.
func TestReadCommandAllocs(t *testing.T) {
	one := "*3\r\n$3\r\nSET\r\n$5\r\nkey:1\r\n$5\r\nvalue\r\n"
	in := strings.Repeat(one, 200)
	r := NewReader(strings.NewReader(in), 64<<10)
	if _, _, err := r.ReadCommand(); err != nil { // fills the buffer
		t.Fatal(err)
	}
	bad := 0
	allocs := testing.AllocsPerRun(100, func() {
		args, size, err := r.ReadCommand()
		if err != nil || size != len(one) || string(args[1]) != "key:1" {
			bad++
		}
	})
	if bad > 0 {
		t.Fatalf("%d commands not as written", bad)
	}
	if allocs != 0 {
		t.Fatalf("%v allocations per command", allocs)
	}
}

// TestReadStatus: ReadStatus reads the same bytes as ReadReply and keeps
// the outcome; ReadHead leaves an aggregate's elements to the caller.
func TestReadStatus(t *testing.T) {
	in := "+OK\r\n-ERR bad thing\r\n:42\r\n:-7\r\n$3\r\nabc\r\n$-1\r\n*3\r\n$1\r\na\r\n*1\r\n-ERR inner\r\n:1\r\n*-1\r\n_\r\n%1\r\n+k\r\n+v\r\n!5\r\nERR x\r\n|1\r\n+a\r\n+b\r\n:5\r\n"
	r := NewReader(strings.NewReader(in), 64)
	var got []string
	for {
		rep, err := r.ReadStatus()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		s := string(rep.Kind) + rep.String()
		if rep.Err() != nil {
			s += "(error)"
		}
		got = append(got, s)
	}
	want := "+OK|-ERR bad thing(error)|:42|:-7|$|$(nil)|*3 elements|*(nil)|_(nil)|%2 elements|!ERR x(error)|:5"
	if strings.Join(got, "|") != want {
		t.Fatalf("got  %q\nwant %q", strings.Join(got, "|"), want)
	}
	if r.Count() != int64(len(in)) {
		t.Fatalf("count %d, want %d", r.Count(), len(in))
	}

	r = NewReader(strings.NewReader("*2\r\n+OK\r\n-ERR no\r\n+after\r\n"), 64)
	head, err := r.ReadHead()
	if err != nil || head.Kind != Array || head.Int != 2 {
		t.Fatalf("head %+v %v", head, err)
	}
	e1, _ := r.ReadStatus()
	e2, _ := r.ReadStatus()
	e3, _ := r.ReadStatus()
	if e1.Err() != nil || e2.Err() == nil || e2.Err().Error() != "ERR no" || string(e3.Str) != "after" {
		t.Fatalf("elements %+v %+v %+v", e1, e2, e3)
	}
}

// TestReadStatusAllocs: a success reply, and an array of them, cost no
// allocation; only an error's text is copied.
func TestReadStatusAllocs(t *testing.T) {
	one := "+QUEUED\r\n*4\r\n+OK\r\n:12\r\n$3\r\nabc\r\n*2\r\n$1\r\nx\r\n$-1\r\n"
	r := NewReader(strings.NewReader(strings.Repeat(one, 200)), 64<<10)
	bad := 0
	allocs := testing.AllocsPerRun(100, func() {
		q, err := r.ReadStatus()
		if err != nil || string(q.Str) != "QUEUED" {
			bad++
		}
		a, err := r.ReadStatus()
		if err != nil || a.Int != 4 {
			bad++
		}
	})
	if bad > 0 {
		t.Fatalf("%d replies not as written", bad)
	}
	if allocs != 0 {
		t.Fatalf("%v allocations per reply", allocs)
	}
}

// FuzzReadCommandInPlace: a command parsed in place from the buffer is
// read exactly as one read line by line (a one-byte reader never holds a
// whole command in the buffer).
func FuzzReadCommandInPlace(f *testing.F) {
	f.Add([]byte("*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n*1\r\n$4\r\nPING\r\n"))
	f.Add([]byte("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n*0\r\n"))
	f.Add([]byte("*1\r\n$01\r\nx\r\n*1\r\n$-1\r\n*01\r\n$1\r\nx\r\n*1\r\n$2\r\nxyz\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fast := NewReader(bytes.NewReader(data), 4096)
		slow := NewReader(iotest.OneByteReader(bytes.NewReader(data)), 4096)
		for _, r := range []*Reader{fast, slow} {
			r.MaxBulk, r.MaxArray = 1<<10, 64
		}
		for {
			a1, s1, err1 := fast.ReadCommand()
			a2, s2, err2 := slow.ReadCommand()
			if (err1 == nil) != (err2 == nil) {
				t.Fatalf("in place: %v, line by line: %v", err1, err2)
			}
			if err1 != nil {
				return
			}
			if s1 != s2 || !slices.EqualFunc(a1, a2, bytes.Equal) || fast.Count() != slow.Count() {
				t.Fatalf("in place %q (%d), line by line %q (%d)", a1, s1, a2, s2)
			}
		}
	})
}

// FuzzReadStatus: ReadStatus consumes exactly what ReadReply does and
// tells errors alike.
func FuzzReadStatus(f *testing.F) {
	f.Add([]byte("+OK\r\n*2\r\n$1\r\na\r\n:1\r\n%1\r\n+k\r\n+v\r\n-ERR x\r\n!3\r\nERR\r\n|1\r\n+a\r\n+b\r\n:1\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		full := NewReader(bytes.NewReader(data), 64)
		status := NewReader(bytes.NewReader(data), 64)
		for _, r := range []*Reader{full, status} {
			r.MaxBulk, r.MaxArray = 1<<10, 64
		}
		for {
			want, err1 := full.ReadReply()
			got, err2 := status.ReadStatus()
			if (err1 == nil) != (err2 == nil) {
				t.Fatalf("ReadReply: %v, ReadStatus: %v", err1, err2)
			}
			if err1 != nil {
				return
			}
			if full.Count() != status.Count() || want.Kind != got.Kind || want.IsNil != got.IsNil ||
				(want.Err() == nil) != (got.Err() == nil) || (want.Err() != nil && want.Err().Error() != got.Err().Error()) {
				t.Fatalf("ReadReply %+v, ReadStatus %+v", want, got)
			}
		}
	})
}

// TestAppendHeaderLengths: lengths of one, two and more digits encode as
// strconv does.
func TestAppendHeaderLengths(t *testing.T) {
	for _, n := range []int{0, 1, 9, 10, 42, 99, 100, 12345, -1} {
		want := "$" + strconv.Itoa(n) + "\r\n"
		if got := string(appendHeader(nil, '$', n)); got != want {
			t.Errorf("%d: %q, want %q", n, got, want)
		}
	}
}

func TestSkipSuccesses(t *testing.T) {
	in := "+OK\r\n+QUEUED\r\n:12\r\n-ERR no\r\n+QUEUED\r\n$3\r\nabc\r\n+QUEUED\r\n+QUE"
	rd := NewReader(strings.NewReader(in), 4096)
	rd.Buffered().Peek(len(in)) // the whole input in the buffer
	if k := rd.SkipSuccesses(2); k != 2 {
		t.Fatalf("SkipSuccesses(2) = %d, want 2", k)
	}
	if k := rd.SkipSuccesses(10); k != 1 {
		t.Fatalf("SkipSuccesses before an error = %d, want 1 (:12)", k)
	}
	if rep, err := rd.ReadStatus(); err != nil || rep.Kind != Error {
		t.Fatalf("after the successes: %v %v, want the error reply", rep, err)
	}
	if k := rd.SkipSuccesses(10); k != 1 {
		t.Fatalf("SkipSuccesses before a bulk string = %d, want 1", k)
	}
	if rep, err := rd.ReadStatus(); err != nil || rep.Kind != BulkString {
		t.Fatalf("after the successes: %v %v, want the bulk string", rep, err)
	}
	if k := rd.SkipSuccesses(10); k != 1 {
		t.Fatalf("SkipSuccesses before a partial line = %d, want 1", k)
	}
	if k := rd.SkipSuccesses(10); k != 0 {
		t.Fatalf("SkipSuccesses of a partial line = %d, want 0", k)
	}
	if want := int64(len(in) - len("+QUE")); rd.Count() != want {
		t.Fatalf("Count = %d, want %d", rd.Count(), want)
	}
}
