package admin

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// exchange connects to addr, writes in, and returns everything the server
// sends until it closes the connection. It fails the test if the
// connection is still open after 5 s.
func exchange(t *testing.T, addr, in string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	go c.Write([]byte(in)) // may fail once the server hangs up
	out, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("%.40q: the connection is still open; read %q", in, out)
	}
	return string(out)
}

func TestRequestLimits(t *testing.T) {
	ctx := context.Background()
	c := serve(t, newFake(), Options{Password: "pw"})
	addr := c.Options().Addr
	bulk := func(n int) string { return "$" + strconv.Itoa(n) + "\r\n" + strings.Repeat("x", n) + "\r\n" }
	auth := "*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n"
	for _, tc := range []struct{ name, in, want string }{
		{"a long line before AUTH", strings.Repeat("x", 1<<20), "-ERR resp: protocol error: inline command longer than 4096 bytes\r\n"},
		{"a long length line before AUTH", "*1\r\n$" + strings.Repeat("1", 5000), "-ERR resp: protocol error: line longer than 4096 bytes\r\n"},
		{"a 1 GB bulk header before AUTH", "*1\r\n$1000000000\r\n" + strings.Repeat("x", 1<<20), "-ERR resp: protocol error: length 1000000000 over the limit 512\r\n"},
		{"a 513-byte password", "*2\r\n$4\r\nAUTH\r\n" + bulk(513), "-ERR resp: protocol error: length 513 over the limit 512\r\n"},
		{"9 arguments before AUTH", "*9\r\n", "-ERR resp: protocol error: length 9 over the limit 8\r\n"},
		{"9 inline arguments before AUTH", "a b c d e f g h i\r\n", "-ERR resp: protocol error: 9 arguments, over the limit 8\r\n"},
		{"a 4 KB + 1 argument after AUTH", auth + "*2\r\n$4\r\nPING\r\n" + bulk(4097), "+OK\r\n-ERR resp: protocol error: length 4097 over the limit 4096\r\n"},
		{"17 arguments after AUTH", auth + "*17\r\n", "+OK\r\n-ERR resp: protocol error: length 17 over the limit 16\r\n"},
		{"a 4 KB argument after AUTH, then QUIT", auth + "*2\r\n$4\r\nPING\r\n" + bulk(4096) + "QUIT\r\n", "+OK\r\n" + bulk(4096) + "+OK\r\n"},
		{"8 arguments before AUTH, then QUIT", "HELLO 3 AUTH default nope SETNAME x\r\nQUIT\r\n", "-NOAUTH Authentication required.\r\n+OK\r\n"},
	} {
		if got := exchange(t, addr, tc.in); got != tc.want {
			t.Errorf("%s: got %.200q, want %.200q", tc.name, got, tc.want)
		}
	}
	good := redis.NewClient(&redis.Options{Addr: addr, Password: "pw", Protocol: 2, DisableIndentity: true})
	defer good.Close()
	if err := good.Ping(ctx).Err(); err != nil {
		t.Fatalf("a client with the password afterwards: %v", err)
	}
}

func TestInlineAndPipelined(t *testing.T) {
	addr := serve(t, newFake(), Options{}).Options().Addr
	in := "PING\r\nPING hello\n\r\n*1\r\n$4\r\nping\r\nNOSUCH\r\nQUIT\r\n"
	want := "+PONG\r\n$5\r\nhello\r\n+PONG\r\n-ERR unknown command 'NOSUCH'\r\n+OK\r\n"
	if got := exchange(t, addr, in); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestMaxClients(t *testing.T) {
	c := serve(t, newFake(), Options{MaxClients: 2})
	addr := c.Options().Addr
	var held []net.Conn
	for i := 0; i < 2; i++ {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		held = append(held, nc)
		nc.SetDeadline(time.Now().Add(5 * time.Second))
		nc.Write([]byte("PING\r\n"))
		if line, err := bufio.NewReader(nc).ReadString('\n'); line != "+PONG\r\n" {
			t.Fatalf("client %d: %q %v", i+1, line, err)
		}
	}
	if got := exchange(t, addr, "PING\r\n"); got != "-ERR max number of clients reached\r\n" {
		t.Fatalf("a third client: %q", got)
	}
	held[0].Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := exchange(t, addr, "PING\r\nQUIT\r\n")
		if got == "+PONG\r\n+OK\r\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a client after one left: %q", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestWrongPassDelay(t *testing.T) {
	ctx := context.Background()
	const delay = 200 * time.Millisecond
	addr := serve(t, newFake(), Options{Password: "pw", WrongPassDelay: delay}).Options().Addr
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := redis.NewClient(&redis.Options{Addr: addr, Password: "guess", Protocol: 2, DisableIndentity: true, MaxRetries: -1})
			defer c.Close()
			if err := c.Ping(ctx).Err(); err == nil || !strings.HasPrefix(err.Error(), "WRONGPASS") {
				t.Errorf("a wrong password: %v", err)
			}
		}()
	}
	wg.Wait()
	if d := time.Since(start); d < 2*delay {
		t.Fatalf("two wrong AUTHs answered within %v: not one delay after another", d)
	}
	start = time.Now()
	good := redis.NewClient(&redis.Options{Addr: addr, Password: "pw", Protocol: 2, DisableIndentity: true})
	defer good.Close()
	if err := good.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d >= delay {
		t.Fatalf("the right password took %v", d)
	}
}

func TestAuthTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	addr := serve(t, newFake(), Options{Password: "pw", AuthTimeout: timeout, WrongPassDelay: time.Millisecond}).Options().Addr
	// A wrong guess every 100 ms does not extend the time allowed.
	guesser, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer guesser.Close()
	start := time.Now()
	go func() {
		for time.Since(start) < 10*timeout {
			if _, err := guesser.Write([]byte("AUTH a\r\n")); err != nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	guesser.SetReadDeadline(time.Now().Add(10 * timeout))
	got, err := io.ReadAll(guesser)
	if errors.Is(err, syscall.ECONNRESET) {
		err = nil // closed while a guess was on its way: the server resets it
	}
	if d := time.Since(start); err != nil || d < timeout || d > 5*timeout {
		t.Fatalf("an unauthenticated client guessing was closed after %v (%v), want %v", d, err, timeout)
	}
	if !strings.HasPrefix(string(got), "-WRONGPASS") {
		t.Fatalf("answers: %q", got)
	}
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	r := bufio.NewReader(nc)
	nc.Write([]byte("AUTH pw\r\n"))
	time.Sleep(2 * timeout)
	nc.Write([]byte("PING\r\n"))
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	for _, want := range []string{"+OK\r\n", "+PONG\r\n"} {
		if line, err := r.ReadString('\n'); line != want {
			t.Fatalf("an authenticated client after %v: %q %v, want %q", 2*timeout, line, err, want)
		}
	}
}

func TestPasswordTooLong(t *testing.T) {
	if _, err := Listen("127.0.0.1:0", Options{Password: strings.Repeat("p", MaxPasswordLen+1)}, newFake()); err == nil {
		t.Fatal("a password over MaxPasswordLen accepted: no client could give it")
	}
}

// FuzzConn feeds one client's bytes to a server: whatever they are, it
// answers and closes without a panic or a hang.
func FuzzConn(f *testing.F) {
	for _, seed := range []string{
		"PING\r\n", "*1\r\n$4\r\nPING\r\n", "AUTH pw\r\nINFO\r\n", "*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n*1\r\n$4\r\nINFO\r\n",
		"AUTH pw\r\nCUTOVER TIMEOUT 1 KEEPSYNCING\r\n", "*1\r\n$1000000000\r\n", "*-1\r\n", "\r\n\n", "AUTH x y z\r\n",
	} {
		f.Add([]byte(seed))
	}
	s, err := Listen("127.0.0.1:0", Options{Password: "pw", WrongPassDelay: time.Microsecond}, still{})
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	f.Fuzz(func(t *testing.T, in []byte) {
		client, server := net.Pipe()
		done := make(chan struct{})
		go func() { s.serveConn(server); close(done) }()
		go func() { client.Write(in); client.Close() }()
		go io.Copy(io.Discard, client)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("%q: still served after the client left", in)
		}
	})
}

// still is a Provider that keeps nothing: a fuzzer calls it millions of times.
type still struct{}

func (still) Snapshot() Status { return Status{Shards: []Shard{{}}} }
func (still) Cutover(context.Context, time.Duration, bool) (CutoverResult, error) {
	return CutoverResult{}, nil
}
func (still) PauseApplying()  {}
func (still) ResumeApplying() {}
func (still) Shutdown()       {}
