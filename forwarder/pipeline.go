package forwarder

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/replicant/replicant/resp"
)

// send encodes args into the current chunk and records the entry. It waits
// first while the window is full.
func (f *Standalone) send(e entry, args [][]byte) error {
	if err := f.Err(); err != nil {
		return err
	}
	size := encodedSize(args)
	if err := f.reserve(size); err != nil {
		return err
	}
	ch, err := f.room(size)
	if err != nil {
		return err
	}
	b := resp.AppendCommand(ch.mem[:ch.n], args...)
	if len(b) != ch.n+size || &b[0] != &ch.mem[0] {
		err := fmt.Errorf("forwarder: internal error: command size %d, encoded %d", size, len(b)-ch.n)
		f.fail(err)
		return err
	}
	e.ch, e.start, e.end = ch, ch.n, len(b)
	ch.n = len(b)
	f.push(e)
	return nil
}

// push records an encoded entry in the ring.
func (f *Standalone) push(e entry) {
	f.mu.Lock()
	e.ch.refs++
	f.ring.push(e)
	n := int64(f.ring.n)
	f.mu.Unlock()
	f.stats.pending.Store(n)
	if n > f.stats.peak.Load() {
		f.stats.peak.Store(n) // only this goroutine raises it
	}
}

// reserve waits until a command of size bytes fits in the window. A single
// command larger than WindowBytes goes alone. Once it has to wait, it waits
// for a quarter of the window to free up, so that the caller and the reply
// reader do not wake each other for every reply.
func (f *Standalone) reserve(size int) error {
	f.mu.Lock()
	ok := f.fits(size, 0, 0)
	f.mu.Unlock()
	if ok {
		return nil
	}
	slack, byteSlack := len(f.ring.buf)/4, f.maxBytes/4
	return f.wait(context.Background(), func() bool { return f.fits(size, slack, byteSlack) })
}

// fits reports whether size more bytes fit in the window with slack
// entries and byteSlack bytes to spare (f.mu held).
func (f *Standalone) fits(size, slack, byteSlack int) bool {
	r := &f.ring
	return r.n == 0 || (r.n+slack < len(r.buf) && r.bytes+size+byteSlack <= f.maxBytes)
}

// wait flushes and waits for replies until ready (called with f.mu held,
// by this goroutine and by the reply reader) reports true, the connection
// fails or ctx is done.
func (f *Standalone) wait(ctx context.Context, ready func() bool) error {
	defer f.setReady(nil)
	for {
		if err := f.Err(); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("forwarder: target %s: waiting for replies: %w", f.addr, err)
		}
		f.mu.Lock()
		ok := ready()
		f.ready = ready
		f.mu.Unlock()
		if ok {
			return nil
		}
		if err := f.flushCtx(ctx); err != nil {
			return err
		}
		select {
		case <-f.wake:
		case <-f.dead:
			return f.Err()
		case <-ctx.Done():
			return fmt.Errorf("forwarder: target %s: waiting for replies: %w", f.addr, ctx.Err())
		}
	}
}

func (f *Standalone) setReady(ready func() bool) {
	f.mu.Lock()
	f.ready = ready
	f.mu.Unlock()
}

// room returns a chunk with size free bytes: the current one, or a new one
// after the current one is written out and sealed.
func (f *Standalone) room(size int) (*chunk, error) {
	if c := f.cur; c != nil {
		if len(c.mem)-c.n >= size {
			return c, nil
		}
		if err := f.Flush(); err != nil {
			return nil, err
		}
		f.seal(c)
	}
	f.cur = f.newChunk(size)
	return f.cur, nil
}

func (f *Standalone) newChunk(size int) *chunk {
	if size > chunkSize {
		return &chunk{mem: make([]byte, size)}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if n := len(f.free); n > 0 {
		c := f.free[n-1]
		f.free = f.free[:n-1]
		return c
	}
	return &chunk{mem: make([]byte, chunkSize)}
}

// seal marks c as full; it is recycled once every entry in it is answered.
func (f *Standalone) seal(c *chunk) {
	f.mu.Lock()
	c.sealed = true
	if c.refs == 0 {
		f.recycle(c)
	}
	f.mu.Unlock()
}

// recycle keeps c for reuse (f.mu held). Oversized chunks go to the GC.
func (f *Standalone) recycle(c *chunk) {
	if len(c.mem) != chunkSize || len(f.free) >= f.maxFree {
		return
	}
	c.n, c.written, c.refs, c.sealed = 0, 0, 0, false
	f.free = append(f.free, c)
}

// Flush writes the commands encoded and not yet written.
func (f *Standalone) Flush() error {
	if err := f.Err(); err != nil {
		return err
	}
	if err := f.flushStrings(); err != nil {
		return err
	}
	c := f.cur
	if c == nil || c.written == c.n {
		return nil
	}
	_, err := f.conn.Write(c.mem[c.written:c.n])
	if err != nil {
		f.fail(f.lost(err))
		return f.Err()
	}
	c.written = c.n
	return nil
}

// flushCtx is Flush with a write that ends when ctx is done. An interrupted
// write leaves a command half sent, so the connection is lost then.
func (f *Standalone) flushCtx(ctx context.Context) error {
	if ctx.Done() == nil {
		return f.Flush()
	}
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		f.conn.SetWriteDeadline(time.Unix(1, 0))
		close(fired)
	})
	err := f.Flush()
	if !stop() {
		<-fired
		f.conn.SetWriteDeadline(time.Time{})
	}
	return err
}

// Drain writes every buffered command and waits until all are answered, the
// connection fails or ctx is done.
func (f *Standalone) Drain(ctx context.Context) error {
	if err := f.flushStrings(); err != nil {
		return err
	}
	return f.wait(ctx, func() bool { return f.ring.n == 0 })
}

// lost wraps a read or write error as the loss of the connection.
func (f *Standalone) lost(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		err = fmt.Errorf("write interrupted: %w", err)
	}
	return fmt.Errorf("forwarder: target %s: connection lost: %w", f.addr, err)
}

// encodedSize returns the length of args encoded as a RESP array.
func encodedSize(args [][]byte) int {
	n := headerSize(len(args))
	for _, a := range args {
		n += headerSize(len(a)) + len(a) + 2
	}
	return n
}

// headerSize is the length of "*n\r\n" or "$n\r\n".
func headerSize(n int) int {
	d := 1
	for n >= 10 {
		n /= 10
		d++
	}
	return 1 + d + 2
}
