package spool

import (
	"errors"
	"fmt"
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
	MaxBytes     int64 // most bytes retained; default 4 GiB
	SegmentBytes int64 // bytes per segment file; default 64 MiB
}

type segment struct {
	start int64 // stream offset of the first byte
	size  int64
	path  string
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
	grew   chan struct{} // closed and replaced on every Append
	closed bool
}

const segSuffix = ".seg"

// Open opens (creating) the spool in dir and loads the segments found there.
func Open(dir string, opts Options) (*Spool, error) {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = 4 << 30
	}
	if opts.SegmentBytes <= 0 {
		opts.SegmentBytes = 64 << 20
	}
	opts.SegmentBytes = min(opts.SegmentBytes, opts.MaxBytes)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	s := &Spool{dir: dir, opts: opts, grew: make(chan struct{})}
	if err := s.load(); err != nil {
		return nil, err
	}
	return s, nil
}

// load reads the segment list, keeping the contiguous run from the first.
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
		s.segs = append(s.segs, segment{start: start, size: fi.Size(), path: p})
	}
	sort.Slice(s.segs, func(i, j int) bool { return s.segs[i].start < s.segs[j].start })
	for i := 1; i < len(s.segs); i++ {
		if s.segs[i].start != s.segs[i-1].start+s.segs[i-1].size {
			return fmt.Errorf("spool: %s does not follow %s: remove the state dir to start over",
				s.segs[i].path, s.segs[i-1].path)
		}
	}
	if n := len(s.segs); n > 0 {
		s.start, s.end = s.segs[0].start, s.segs[n-1].start+s.segs[n-1].size
	}
	return nil
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
	s.segs, s.start, s.end = nil, offset, offset
	s.wake()
	return nil
}

// Append adds p at the end. It fails with ErrFull, storing nothing, when
// the retained bytes would pass MaxBytes.
func (s *Spool) Append(p []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.end-s.start+int64(len(p)) > s.opts.MaxBytes {
		return fmt.Errorf("%w: %d bytes retained, limit %d", ErrFull, s.end-s.start, s.opts.MaxBytes)
	}
	for len(p) > 0 {
		f, room, err := s.tail()
		if err != nil {
			return err
		}
		n := int(min(room, int64(len(p))))
		if _, err := f.Write(p[:n]); err != nil {
			return fmt.Errorf("spool: write: %w", err)
		}
		s.segs[len(s.segs)-1].size += int64(n)
		s.end += int64(n)
		p = p[n:]
	}
	s.wake()
	return nil
}

// tail returns the open last segment and the room left in it, starting a
// new segment when the last is full.
func (s *Spool) tail() (*os.File, int64, error) {
	n := len(s.segs)
	if n > 0 && s.segs[n-1].size < s.opts.SegmentBytes {
		if s.file == nil {
			f, err := os.OpenFile(s.segs[n-1].path, os.O_WRONLY|os.O_APPEND, 0o644)
			if err != nil {
				return nil, 0, fmt.Errorf("spool: %w", err)
			}
			s.file = f
		}
		return s.file, s.opts.SegmentBytes - s.segs[n-1].size, nil
	}
	s.closeFile()
	path := filepath.Join(s.dir, fmt.Sprintf("%020d%s", s.end, segSuffix))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, 0, fmt.Errorf("spool: %w", err)
	}
	s.file = f
	s.segs = append(s.segs, segment{start: s.end, path: path})
	return f, s.opts.SegmentBytes, nil
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
