package psync

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync/atomic"
)

const eofMarkLen = 40

// Snapshot reads the payload header and returns the RDB as a reader that
// ends (io.EOF) exactly at the end of the RDB. Size returns its length, or -1
// for a diskless payload whose length is not known in advance. The command
// stream can be read once the reader is at EOF; ReadCommand discards what the
// caller left unread.
func (c *Conn) Snapshot() (io.Reader, error) {
	if !c.full || c.payload != nil || c.streaming {
		return nil, fmt.Errorf("psync: no snapshot to read")
	}
	line, err := c.readLine()
	if err != nil {
		return nil, err
	}
	p, err := newPayloadReader(c.br, line)
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", c.cfg.Addr, err)
	}
	c.payload = p
	c.log.Info().Int64("bytes", p.size).Bool("diskless", p.mark != nil).Msg("receiving snapshot")
	return p, nil
}

// SnapshotSize returns the payload size in bytes, -1 when the master sends
// it diskless, 0 before Snapshot.
func (c *Conn) SnapshotSize() int64 {
	if c.payload == nil {
		return 0
	}
	return c.payload.size
}

// SnapshotRead returns the payload bytes received so far. Safe to call from
// any goroutine.
func (c *Conn) SnapshotRead() int64 {
	if p := c.payload; p != nil {
		return p.read.Load()
	}
	return 0
}

func newPayloadReader(br *bufio.Reader, line string) (*payloadReader, error) {
	switch {
	case strings.HasPrefix(line, "-"):
		return nil, fmt.Errorf("master aborted the snapshot: %s", printable(line[1:]))
	case strings.HasPrefix(line, "$EOF:"):
		mark := line[len("$EOF:"):]
		if len(mark) != eofMarkLen {
			return nil, fmt.Errorf("malformed diskless payload header %s", quote(line))
		}
		return &payloadReader{br: br, size: -1, mark: []byte(mark)}, nil
	case strings.HasPrefix(line, "$"):
		n, err := strconv.ParseInt(line[1:], 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("malformed payload header %s", quote(line))
		}
		return &payloadReader{br: br, size: n, left: n}, nil
	}
	return nil, fmt.Errorf("expected the snapshot payload, got %s", quote(line))
}

// payloadReader returns the RDB bytes and never reads past them. With a
// size it counts down; with an end marker it keeps the last bytes back until
// it knows they are not the start of the marker.
type payloadReader struct {
	br   *bufio.Reader
	size int64
	left int64
	mark []byte
	hold []byte // consumed from br, maybe the start of the marker
	out  []byte // consumed from br, known to be RDB, not yet returned
	buf  []byte // backing store of out
	done bool
	read atomic.Int64
}

func (p *payloadReader) Read(b []byte) (int, error) {
	if p.mark == nil {
		return p.readSized(b)
	}
	for len(p.out) == 0 && !p.done {
		if err := p.scan(); err != nil {
			return 0, err
		}
	}
	if len(p.out) == 0 {
		return 0, io.EOF
	}
	n := copy(b, p.out)
	p.out = p.out[n:]
	p.read.Add(int64(n))
	return n, nil
}

func (p *payloadReader) readSized(b []byte) (int, error) {
	if p.left == 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > p.left {
		b = b[:p.left]
	}
	n, err := p.br.Read(b)
	p.left -= int64(n)
	p.read.Add(int64(n))
	if err != nil {
		return n, p.lost(err)
	}
	return n, nil
}

// lost describes a link that ended inside the payload. A clean close
// (io.EOF) is named as such; a broken link keeps its cause.
func (p *payloadReader) lost(err error) error {
	where := fmt.Sprintf("%d bytes, before the end marker", p.read.Load())
	if p.mark == nil {
		where = fmt.Sprintf("%d of %d bytes", p.size-p.left, p.size)
	}
	if err == io.EOF {
		return fmt.Errorf("psync: read payload: %w: the master closed it after %s", ErrLinkLost, where)
	}
	return fmt.Errorf("psync: read payload: %w after %s: %w", ErrLinkLost, where, err)
}

// scan consumes what the bufio.Reader holds (reading more if it is empty),
// looks for the marker across the held bytes and the new ones, and moves
// everything that cannot belong to the marker to out.
func (p *payloadReader) scan() error {
	if _, err := p.br.Peek(1); err != nil {
		return p.lost(err)
	}
	buf, _ := p.br.Peek(p.br.Buffered())
	if i := p.markAcross(buf); i >= 0 {
		return p.finish(p.hold[:i], i+eofMarkLen-len(p.hold))
	}
	if i := bytes.Index(buf, p.mark); i >= 0 {
		p.buf = append(append(p.buf[:0], p.hold...), buf[:i]...)
		return p.finish(p.buf, i+eofMarkLen)
	}
	all := append(append(p.buf[:0], p.hold...), buf...)
	p.buf = all
	keep := min(len(all), eofMarkLen-1)
	p.hold = append(p.hold[:0], all[len(all)-keep:]...)
	p.out = all[:len(all)-keep]
	_, err := p.br.Discard(len(buf))
	return err
}

// markAcross returns where the marker starts within hold when it begins
// there and ends in buf, or -1.
func (p *payloadReader) markAcross(buf []byte) int {
	if len(p.hold) == 0 {
		return -1
	}
	w := append(append(make([]byte, 0, 2*eofMarkLen), p.hold...), buf[:min(len(buf), eofMarkLen-1)]...)
	if i := bytes.Index(w, p.mark); i >= 0 && i < len(p.hold) {
		return i
	}
	return -1
}

func (p *payloadReader) finish(rest []byte, consume int) error {
	p.out = rest
	p.hold = nil
	p.done = true
	_, err := p.br.Discard(consume)
	return err
}

// drain discards what the caller left of the payload.
func (p *payloadReader) drain() error {
	_, err := io.Copy(io.Discard, p)
	return err
}
