package forwarder

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

func TestDialRefused(t *testing.T) {
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	_, err = Dial(context.Background(), Config{Addr: addr, Logger: zerolog.Nop()})
	if err == nil || err.Error() != "forwarder: target "+addr+": connection refused" ||
		!errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("Dial: %v", err)
	}
}

func TestDialAuth(t *testing.T) {
	dst := startRedis(t, "--requirepass", "secret")
	ctx := context.Background()
	if err := dst.rdb.Do(ctx, "ACL", "SETUSER", "fwd", "on", ">pw", "~*", "+@all").Err(); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		user, pass, wantErr string
	}{
		{"", "secret", ""},
		{"fwd", "pw", ""},
		{"", "wrong", "forwarder: target " + dst.addr + " rejected AUTH: WRONGPASS"},
		{"fwd", "secret", "rejected AUTH: WRONGPASS"},
		{"", "", "forwarder: target " + dst.addr + " rejected PING: NOAUTH"},
	}
	for _, c := range cases {
		f, err := Dial(ctx, Config{Addr: dst.addr, Username: c.user, Password: c.pass, ClientName: "replicant"})
		if c.wantErr == "" {
			if err != nil {
				t.Errorf("user %q: %v", c.user, err)
				continue
			}
			f.Close()
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.wantErr) {
			t.Errorf("user %q pass %q: got %v, want %q", c.user, c.pass, err, c.wantErr)
		}
	}
}

func TestDialContextCanceled(t *testing.T) {
	dst := startRedis(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Dial(ctx, Config{Addr: dst.addr}); err == nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("Dial: %v", err)
	}
}

func TestConnectionKilled(t *testing.T) {
	ctx := context.Background()
	dst := startRedis(t)
	f, _ := dialTest(t, dst, Config{})
	if err := f.Command(cmd("SET", "a", "1"), 1); err != nil {
		t.Fatal(err)
	}
	drain(t, f)
	if err := dst.rdb.ClientKillByFilter(ctx, "ADDR", f.conn.LocalAddr().String()).Err(); err != nil {
		t.Fatal(err)
	}
	waitEnded(t, f)
	err := f.Command(cmd("SET", "b", "2"), 2)
	want := "forwarder: target " + dst.addr + ": connection lost: "
	if err == nil || !strings.HasPrefix(err.Error(), want) || f.Err() != err {
		t.Fatalf("Command after kill: %v (Err %v)", err, f.Err())
	}
	for _, err := range []error{f.Flush(), f.Drain(ctx), f.Restore(0, []byte("k"), 0, nil), f.LoadFunction(nil)} {
		if err == nil {
			t.Fatal("a call after the loss succeeded")
		}
	}
	if f.Applied() != 1 {
		t.Fatalf("Applied %d", f.Applied())
	}
}

// waitEnded waits for the sticky error and the end of the reply reader.
func waitEnded(t *testing.T, f *Standalone) {
	t.Helper()
	select {
	case <-f.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the reply reader did not end")
	}
	if f.Err() == nil {
		t.Fatal("no sticky error")
	}
}

func TestServerStopsMidStream(t *testing.T) {
	dst := startRedis(t)
	f, _ := dialTest(t, dst, Config{Window: 64})
	errc := make(chan error, 1)
	go func() {
		for i := 1; ; i++ {
			if err := f.Command(cmd("SET", "k"+strconv.Itoa(i), "v"), int64(i)); err != nil {
				errc <- err
				return
			}
		}
	}()
	time.Sleep(50 * time.Millisecond)
	dst.stop()
	select {
	case err := <-errc:
		if !strings.Contains(err.Error(), "target "+dst.addr) {
			t.Fatalf("error does not name the target: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Command did not fail after the server stopped")
	}
	waitEnded(t, f)
}

func TestCloseUnblocksAndSticks(t *testing.T) {
	ctx := context.Background()
	dst := startRedis(t)
	f, _ := dialTest(t, dst, Config{Window: 2})
	if err := dst.rdb.Do(ctx, "CLIENT", "PAUSE", "2000", "ALL").Err(); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		for i := 1; ; i++ {
			if err := f.Command(cmd("SET", "k", "v"), int64(i)); err != nil {
				errc <- err
				return
			}
		}
	}()
	time.Sleep(100 * time.Millisecond) // the sender now waits for the window
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("blocked Command returned %v", err)
		}
	case <-time.After(time.Second):
		t.Fatal("Close did not unblock Command")
	}
	waitEnded(t, f)
	if err := f.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := f.Command(cmd("PING"), 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("Command after Close: %v", err)
	}
}
