package spool

import (
	"context"
	"fmt"
	"io"
	"os"
)

// Reader reads the spool from an offset on, waiting at the end for more.
type Reader struct {
	s    *Spool
	ctx  context.Context
	pos  int64
	file *os.File
	fpos int64 // offset of file's first byte, when file is open
}

// NewReader returns a Reader positioned at offset. Reads fail when offset is
// no longer retained. Read blocks at the end until more is appended, ctx
// ends, or the Spool is closed.
func (s *Spool) NewReader(ctx context.Context, offset int64) *Reader {
	return &Reader{s: s, ctx: ctx, pos: offset}
}

// Offset returns the offset of the next byte Read returns.
func (r *Reader) Offset() int64 { return r.pos }

// Available returns how many bytes can be read without waiting.
func (r *Reader) Available() int64 { return max(0, r.s.End()-r.pos) }

func (r *Reader) Read(p []byte) (int, error) {
	for {
		seg, grew, err := r.locate()
		if err != nil {
			return 0, err
		}
		if seg != nil {
			return r.readSegment(*seg, p)
		}
		select {
		case <-grew:
		case <-r.ctx.Done():
			return 0, r.ctx.Err()
		}
	}
}

// locate finds the segment holding pos, or returns the channel to wait on
// when pos is at the end.
func (r *Reader) locate() (*segment, chan struct{}, error) {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, nil, ErrClosed
	}
	if r.pos < s.start || r.pos > s.end {
		return nil, nil, fmt.Errorf("spool: offset %d is not retained (spool holds %d to %d)", r.pos, s.start, s.end)
	}
	for i := range s.segs {
		seg := s.segs[i]
		if r.pos >= seg.start && r.pos < seg.start+seg.size {
			return &seg, nil, nil
		}
	}
	return nil, s.grew, nil
}

func (r *Reader) readSegment(seg segment, p []byte) (int, error) {
	if r.file == nil || r.fpos != seg.start {
		r.Close()
		f, err := os.Open(seg.path)
		if err != nil {
			return 0, fmt.Errorf("spool: %w", err)
		}
		r.file, r.fpos = f, seg.start
	}
	want := min(int64(len(p)), seg.start+seg.size-r.pos)
	n, err := r.file.ReadAt(p[:want], r.pos-seg.start)
	r.pos += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	if err != nil {
		return n, fmt.Errorf("spool: read: %w", err)
	}
	return n, nil
}

// Close releases the Reader's file.
func (r *Reader) Close() error {
	if r.file != nil {
		err := r.file.Close()
		r.file = nil
		return err
	}
	return nil
}
