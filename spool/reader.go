package spool

import (
	"context"
	"fmt"
	"io"
	"os"
)

// Reader reads the spool from an offset on, waiting at the end for more.
// Every byte it returns is from a record whose checksum it verified; on
// damage it returns a *CorruptError, and the same error from then on.
type Reader struct {
	s      *Spool
	ctx    context.Context
	pos    int64
	sr     *segReader // the segment being read, nil before the first Read
	rec    []byte     // the payload of the last record read
	recOff int64      // the stream offset of rec[0]
	err    error      // sticky: damage found
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
	n, located := 0, false
	for n < len(p) {
		n += r.fromRecord(p[n:])
		if n == len(p) || r.err != nil {
			break
		}
		if located && r.pos < r.sr.seg.start+r.sr.seg.size {
			// The next record is in the part of the segment this Read
			// found written: no need to ask the Spool again.
			if err := r.advance(r.sr.seg); err != nil {
				return n, r.failed(err, n)
			}
			continue
		}
		if k := r.s.fromRecent(p[n:], r.pos); k > 0 {
			n += k // bytes this process appended: no need to read them back
			r.pos += int64(k)
			continue
		}
		seg, grew, err := r.locate()
		if err != nil {
			return n, r.failed(err, n)
		}
		if seg != nil {
			if err := r.advance(*seg); err != nil {
				return n, r.failed(err, n)
			}
			located = true
			continue
		}
		if n > 0 {
			break // what there is, without waiting for more
		}
		select {
		case <-grew:
		case <-r.ctx.Done():
			return 0, r.ctx.Err()
		}
	}
	if n == 0 && r.err != nil {
		return 0, r.err
	}
	return n, nil
}

// failed keeps a *CorruptError for every later Read, and returns err
// unless n bytes were read first: the next Read returns it then.
func (r *Reader) failed(err error, n int) error {
	if _, ok := err.(*CorruptError); ok {
		r.err = err
	}
	if n > 0 {
		return nil
	}
	return err
}

// fromRecord copies what the last record read holds from pos on.
func (r *Reader) fromRecord(p []byte) int {
	i := r.pos - r.recOff
	if i < 0 || i >= int64(len(r.rec)) {
		return 0
	}
	n := copy(p, r.rec[i:])
	r.pos += int64(n)
	return n
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

// advance reads the records of seg, from where the Reader is in it (or its
// start), up to the one holding pos.
func (r *Reader) advance(seg segment) error {
	if r.sr == nil || r.sr.seg.id != seg.id || r.sr.next > r.pos {
		r.Close()
		sr, err := openSegReader(seg)
		if err != nil {
			return err
		}
		r.sr = sr
	}
	sr := r.sr
	sr.seg = seg // the newest sizes
	end := seg.start + seg.size
	for {
		rec, _, err := sr.record(seg.fsize)
		if err == io.EOF {
			return corrupt(seg.path, sr.fpos, sr.next, "file ends at stream offset %d, short of %d", sr.next, end)
		}
		if err != nil {
			return err
		}
		if sr.next > end {
			return corrupt(seg.path, sr.fpos, sr.next, "a record runs past the segment's end, stream offset %d", end)
		}
		r.rec, r.recOff = rec, sr.next-int64(len(rec))
		if r.pos < sr.next {
			return nil
		}
	}
}

// Close releases the Reader's file.
func (r *Reader) Close() error {
	r.rec = nil
	if r.sr != nil {
		err := r.sr.close()
		r.sr = nil
		return err
	}
	return nil
}

// readAhead is what a segReader reads at once: at least a whole record.
const readAhead = 2 * (recHeaderLen + maxRecord)

// segReader reads and verifies the records of one segment file in order.
type segReader struct {
	seg  segment
	f    *os.File
	fpos int64 // file offset of the next record
	next int64 // stream offset of the next record
	buf  []byte
	bpos int64 // file offset of buf[0]
}

// openSegReader opens seg's file and verifies its header.
func openSegReader(seg segment) (*segReader, error) {
	f, err := os.Open(seg.path)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	sr := &segReader{seg: seg, f: f, fpos: segHeaderLen, next: seg.start}
	h := make([]byte, segHeaderLen)
	n, err := f.ReadAt(h, 0)
	if err != nil && err != io.EOF {
		f.Close()
		return nil, fmt.Errorf("spool: read %s: %w", seg.path, err)
	}
	if err := checkSegHeader(seg.path, h[:n], seg.start); err != nil {
		f.Close()
		return nil, err
	}
	return sr, nil
}

// record reads and verifies the record at fpos, in the file's first limit
// bytes, and moves past it. It returns io.EOF when fpos is at limit. The
// payload is valid until the next call.
func (sr *segReader) record(limit int64) (payload []byte, more bool, err error) {
	if sr.fpos >= limit {
		return nil, false, io.EOF
	}
	h, err := sr.bytes(recHeaderLen, limit)
	if err != nil {
		return nil, false, err
	}
	n, more, err := recordHeader(sr.seg.path, sr.fpos, h, sr.next)
	if err != nil {
		return nil, false, err
	}
	rec, err := sr.bytes(recHeaderLen+n, limit)
	if err != nil {
		return nil, false, err
	}
	if err := checkRecord(sr.seg.path, sr.fpos, sr.next, rec); err != nil {
		return nil, false, err
	}
	sr.fpos += int64(len(rec))
	sr.next += int64(n)
	return rec[recHeaderLen:], more, nil
}

// bytes returns the n bytes at fpos, reading ahead up to limit.
func (sr *segReader) bytes(n int, limit int64) ([]byte, error) {
	at := sr.fpos
	if at+int64(n) > limit {
		return nil, corrupt(sr.seg.path, at, sr.next, "truncated inside a record (the file ends at byte %d)", limit)
	}
	if i := at - sr.bpos; i >= 0 && i+int64(n) <= int64(len(sr.buf)) {
		return sr.buf[i : i+int64(n)], nil
	}
	if sr.buf == nil {
		sr.buf = make([]byte, readAhead)
	}
	got, err := sr.f.ReadAt(sr.buf[:min(int64(cap(sr.buf)), limit-at)], at)
	sr.buf, sr.bpos = sr.buf[:got], at
	if got < n {
		if err == nil || err == io.EOF {
			return nil, corrupt(sr.seg.path, at+int64(got), sr.next, "truncated inside a record (the file ends at byte %d)", at+int64(got))
		}
		return nil, fmt.Errorf("spool: read %s: %w", sr.seg.path, err)
	}
	return sr.buf[:n], nil
}

func (sr *segReader) close() error { return sr.f.Close() }
