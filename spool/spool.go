package spool

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// ErrFull is returned by Append when the retained bytes would pass MaxBytes.
var ErrFull = errors.New("spool: full")

// ErrClosed is returned by a Reader after the Spool is closed.
var ErrClosed = errors.New("spool: closed")

// Options bound a Spool.
type Options struct {
	MaxBytes     int64 // most stream bytes retained (on disk, 16 more per record); default 4 GiB
	SegmentBytes int64 // bytes per segment file; default 64 MiB
	// MemoryTail is how many of the newest bytes are also kept in memory,
	// for Readers at the end to take without reading the file back (it
	// holds what it appended); default 1 MiB, -1 none.
	MemoryTail int
}

type segment struct {
	start int64 // stream offset of the first byte
	size  int64 // stream bytes it holds
	fsize int64 // bytes of the file: header, record headers and stream bytes
	path  string
	id    uint64 // tells a segment from an earlier one of the same name
}

// Spool is safe for one writer and any number of readers.
type Spool struct {
	dir  string
	opts Options

	mu     sync.Mutex
	segs   []segment
	start  int64 // offset of the first retained byte
	end    int64 // offset just past the last byte
	file   *os.File
	wbuf   []byte // one record, encoded
	werr   error  // sticky: a write failed
	ids    uint64
	grew   chan struct{} // closed and replaced on every Append
	closed bool
	recent []byte // the newest bytes of the stream, ending at end (MemoryTail)
}

const segSuffix = ".seg"

// Open opens (creating) the spool in dir and loads the segments found there,
// verifying the last one whole. A damaged spool, or one written by an older
// version, fails with an error wrapping ErrCorrupt: the caller removes dir
// and starts over.
func Open(dir string, opts Options) (*Spool, error) {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = 4 << 30
	}
	if opts.SegmentBytes <= 0 {
		opts.SegmentBytes = 64 << 20
	}
	opts.SegmentBytes = min(opts.SegmentBytes, opts.MaxBytes)
	if opts.MemoryTail == 0 {
		opts.MemoryTail = 1 << 20
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil { // it holds the data
		return nil, fmt.Errorf("spool: %w", err)
	}
	s := &Spool{dir: dir, opts: opts, grew: make(chan struct{})}
	if err := s.load(); err != nil {
		return nil, err
	}
	return s, nil
}

// load reads the segment list. A segment before the last holds the stream
// up to the next one's start, which its records are checked against as
// they are read; the last is read whole, to find where the stream ends.
func (s *Spool) load() error {
	names, err := filepath.Glob(filepath.Join(s.dir, "*"+segSuffix))
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	for _, p := range names {
		start, err := strconv.ParseInt(strings.TrimSuffix(filepath.Base(p), segSuffix), 10, 64)
		if err != nil {
			continue
		}
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		s.segs = append(s.segs, segment{start: start, fsize: fi.Size(), path: p, id: s.newID()})
	}
	sort.Slice(s.segs, func(i, j int) bool { return s.segs[i].start < s.segs[j].start })
	for i := range s.segs {
		seg := &s.segs[i]
		if i == len(s.segs)-1 {
			if err := loadLast(seg); err != nil {
				return err
			}
			break
		}
		seg.size = s.segs[i+1].start - seg.start
		if err := checkHeader(*seg); err != nil {
			return err
		}
		if seg.size <= 0 || seg.size > seg.fsize-segHeaderLen {
			return corrupt(seg.path, seg.fsize, seg.start, "file too short for the stream up to the next segment, %s", s.segs[i+1].path)
		}
	}
	if n := len(s.segs); n > 0 {
		s.start, s.end = s.segs[0].start, s.segs[n-1].start+s.segs[n-1].size
	}
	return nil
}

// checkHeader reads and verifies the header of seg's file.
func checkHeader(seg segment) error {
	sr, err := openSegReader(seg)
	if err != nil {
		return err
	}
	return sr.close()
}

// loadLast verifies every record of the last segment and sets the stream
// bytes it holds. An Append cut short by a crash (records that say more
// follow, and none does) is cut off: it is as if it never happened.
func loadLast(seg *segment) error {
	sr, err := openSegReader(*seg)
	if err != nil {
		return err
	}
	defer sr.close()
	whole, fwhole := seg.start, int64(segHeaderLen)
	for {
		_, more, err := sr.record(seg.fsize)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if !more {
			whole, fwhole = sr.next, sr.fpos
		}
	}
	if fwhole < seg.fsize {
		if err := os.Truncate(seg.path, fwhole); err != nil {
			return fmt.Errorf("spool: cut an unfinished append: %w", err)
		}
	}
	seg.size, seg.fsize = whole-seg.start, fwhole
	return nil
}

func (s *Spool) newID() uint64 {
	s.ids++
	return s.ids
}

// Start returns the offset of the first retained byte.
func (s *Spool) Start() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.start
}

// End returns the offset just past the last appended byte.
func (s *Spool) End() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.end
}

// Size returns the bytes retained.
func (s *Spool) Size() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.end - s.start
}

// Reset drops every segment and makes offset the new start and end.
func (s *Spool) Reset(offset int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closeFile()
	for _, seg := range s.segs {
		if err := os.Remove(seg.path); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("spool: %w", err)
		}
	}
	s.segs, s.start, s.end, s.werr = nil, offset, offset, nil
	s.recent = s.recent[:0]
	s.wake()
	return nil
}

// Append adds p at the end. It fails with ErrFull, storing nothing, when
// the retained bytes would pass MaxBytes. After a failed write every
// Append fails with the same error, until Reset.
func (s *Spool) Append(p []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.werr != nil {
		return s.werr
	}
	if s.end-s.start+int64(len(p)) > s.opts.MaxBytes {
		return fmt.Errorf("%w: %d bytes retained, limit %d", ErrFull, s.end-s.start, s.opts.MaxBytes)
	}
	if len(p) == 0 {
		return nil
	}
	f, err := s.tail()
	if err != nil {
		return err
	}
	seg := &s.segs[len(s.segs)-1]
	end, fsize, all := s.end, seg.fsize, p
	for len(p) > 0 {
		n := min(len(p), maxRecord)
		s.wbuf = appendRecord(s.wbuf[:0], end, p[:n], n < len(p))
		if _, err := f.Write(s.wbuf); err != nil {
			return s.failWrite(seg, err)
		}
		end, fsize, p = end+int64(n), fsize+int64(len(s.wbuf)), p[n:]
	}
	seg.size += end - s.end
	seg.fsize, s.end = fsize, end
	s.keepRecent(all)
	s.wake()
	return nil
}

// keepRecent adds p, about to be appended, to the memory tail. A tail
// that would pass MemoryTail starts again with p alone: a Reader behind
// it reads the file, as any Reader further back does.
func (s *Spool) keepRecent(p []byte) {
	if len(s.recent)+len(p) > s.opts.MemoryTail {
		s.recent = s.recent[:0]
	}
	if len(p) <= s.opts.MemoryTail {
		s.recent = append(s.recent, p...)
	}
}

// fromRecent copies into p what the memory tail holds from offset on.
func (s *Spool) fromRecent(p []byte, offset int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := offset - (s.end - int64(len(s.recent)))
	if s.closed || offset < s.start || i < 0 || i >= int64(len(s.recent)) {
		return 0
	}
	return copy(p, s.recent[i:])
}

// failWrite cuts what a failed Append wrote and makes the error sticky.
func (s *Spool) failWrite(seg *segment, err error) error {
	s.werr = fmt.Errorf("spool: write %s: %w", seg.path, err)
	if terr := s.file.Truncate(seg.fsize); terr != nil {
		s.werr = fmt.Errorf("%w (and cutting the part written: %v)", s.werr, terr)
	}
	s.closeFile()
	return s.werr
}

// tail returns the open last segment, starting a new one when the last
// holds SegmentBytes already. An Append goes whole into one segment, so
// that what a crash cuts short is in the last one.
func (s *Spool) tail() (*os.File, error) {
	n := len(s.segs)
	if n > 0 && s.segs[n-1].size < s.opts.SegmentBytes {
		if s.file == nil {
			f, err := os.OpenFile(s.segs[n-1].path, os.O_WRONLY|os.O_APPEND, 0o600)
			if err != nil {
				return nil, fmt.Errorf("spool: %w", err)
			}
			s.file = f
		}
		return s.file, nil
	}
	s.closeFile()
	path := filepath.Join(s.dir, fmt.Sprintf("%020d%s", s.end, segSuffix))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	if _, err := f.Write(appendSegHeader(nil, s.end)); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("spool: write %s: %w", path, err)
	}
	s.file = f
	s.segs = append(s.segs, segment{start: s.end, fsize: segHeaderLen, path: path, id: s.newID()})
	return f, nil
}

func (s *Spool) closeFile() {
	if s.file != nil {
		s.file.Close()
		s.file = nil
	}
}

func (s *Spool) wake() {
	close(s.grew)
	s.grew = make(chan struct{})
}

// Trim drops the segments that end at or before offset. The last segment
// is kept.
func (s *Spool) Trim(offset int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.segs) > 1 && s.segs[0].start+s.segs[0].size <= offset {
		if err := os.Remove(s.segs[0].path); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("spool: %w", err)
		}
		s.segs = s.segs[1:]
		s.start = s.segs[0].start
	}
	return nil
}

// Close ends every Reader's wait and closes the files.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		s.closeFile()
		s.wake()
	}
	return nil
}
