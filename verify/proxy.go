package verify

import (
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// go-redis opens every connection with HELLO, and twemproxy closes the
// connection on a command it does not know. A proxy's connections are
// wrapped so that HELLO is answered here with the error an old server
// gives, and go-redis goes on with RESP2 and AUTH.

var helloArg = []byte("$5\r\nhello\r\n")

const helloRefusal = "-ERR unknown command 'HELLO'\r\n"

// ProxyDialer wraps o's dialer (or a plain TCP/TLS one) so that go-redis
// can talk to a twemproxy: set it as o.Dialer, with o.Protocol 2 and
// o.DisableIndentity.
func ProxyDialer(o *redis.Options) func(context.Context, string, string) (net.Conn, error) {
	next := o.Dialer
	if next == nil {
		timeout := o.DialTimeout
		if timeout == 0 {
			timeout = 5 * time.Second
		}
		nd := &net.Dialer{Timeout: timeout, KeepAlive: 5 * time.Minute}
		next = nd.DialContext
		if o.TLSConfig != nil {
			td := &tls.Dialer{NetDialer: nd, Config: o.TLSConfig}
			next = td.DialContext
		}
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := next(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &noHello{Conn: c}, nil
	}
}

// isHello reports a write that is one HELLO command (go-redis sends it
// alone, before anything else on the connection).
func isHello(p []byte) bool {
	i := bytes.Index(p, []byte("\r\n"))
	if len(p) == 0 || p[0] != '*' || i < 0 {
		return false
	}
	rest := p[i+2:]
	return len(rest) >= len(helloArg) && bytes.EqualFold(rest[:len(helloArg)], helloArg)
}

// noHello swallows a HELLO write and answers it itself.
type noHello struct {
	net.Conn
	mu      sync.Mutex
	pending []byte // the refusal, until read
}

func (c *noHello) Write(p []byte) (int, error) {
	if isHello(p) {
		c.mu.Lock()
		c.pending = append(c.pending, helloRefusal...)
		c.mu.Unlock()
		return len(p), nil
	}
	return c.Conn.Write(p)
}

func (c *noHello) Read(p []byte) (int, error) {
	c.mu.Lock()
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		c.mu.Unlock()
		return n, nil
	}
	c.mu.Unlock()
	return c.Conn.Read(p)
}
