package rdbstream

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// bufSize is the size of the Decoder's read buffer.
const bufSize = 256 << 10

// maxEmptyReads bounds consecutive (0, nil) reads before giving up, as
// bufio.Reader does.
const maxEmptyReads = 100

// maxStringLen bounds one string length read from the input. Redis strings
// are far smaller (512 MiB by default); a larger length means corruption.
const maxStringLen = 1 << 40

// lzfMaxRatio bounds the expansion of LZF data: a 3-byte back reference
// yields at most 264 bytes.
const lzfMaxRatio = 88

// flushCRC folds the bytes consumed since the last flush into the
// whole-file checksum.
func (d *Decoder) flushCRC() {
	if d.crcFrom < d.r {
		d.crc = crcUpdate(d.crc, d.buf[d.crcFrom:d.r])
	}
	d.crcFrom = d.r
}

// flushCapture appends the bytes consumed since the last flush to the
// payload when a value is being captured.
func (d *Decoder) flushCapture() error {
	if d.capturing && d.capFrom < d.r {
		d.payload = append(d.payload, d.buf[d.capFrom:d.r]...)
		if d.opts.MaxPayload > 0 && int64(len(d.payload)) > d.opts.MaxPayload {
			return d.corrupt(d.Offset(), fmt.Errorf("%w: payload over %d bytes", ErrTooLarge, d.opts.MaxPayload))
		}
	}
	d.capFrom = d.r
	return nil
}

// fill reads from the source until at least n (<= bufSize) unread bytes
// are buffered. It issues one Read at a time and only when bytes are
// needed, so it never waits for data beyond what the caller asks for.
// Errors from the source are returned as they are (io.EOF included).
func (d *Decoder) fill(n int) error {
	for d.w-d.r < n {
		if d.rerr != nil {
			return d.rerr
		}
		if d.r > 0 {
			d.flushCRC()
			if err := d.flushCapture(); err != nil {
				return err
			}
			copy(d.buf, d.buf[d.r:d.w])
			d.base += int64(d.r)
			d.w -= d.r
			d.r, d.crcFrom, d.capFrom = 0, 0, 0
		}
		m, err := d.src.Read(d.buf[d.w:])
		if m < 0 || m > len(d.buf)-d.w {
			m, err = 0, fmt.Errorf("invalid Read count %d", m)
		}
		d.w += m
		switch {
		case err != nil:
			d.rerr = err
		case m == 0:
			if d.empty++; d.empty >= maxEmptyReads {
				d.rerr = io.ErrNoProgress
			}
		default:
			d.empty = 0
		}
	}
	return nil
}

// readByte consumes one byte.
func (d *Decoder) readByte() (byte, error) {
	if d.r >= d.w {
		if err := d.fill(1); err != nil {
			return 0, err
		}
	}
	b := d.buf[d.r]
	d.r++
	return b, nil
}

// readN consumes n (<= bufSize) bytes and returns them. The slice points
// into the buffer and is valid until the next read.
func (d *Decoder) readN(n int) ([]byte, error) {
	if d.w-d.r < n {
		if err := d.fill(n); err != nil {
			return nil, err
		}
	}
	p := d.buf[d.r : d.r+n]
	d.r += n
	return p, nil
}

// skip consumes n bytes.
func (d *Decoder) skip(n uint64) error {
	for {
		avail := uint64(d.w - d.r)
		if n <= avail {
			d.r += int(n)
			return nil
		}
		n -= avail
		d.r = d.w
		if err := d.fill(1); err != nil {
			return err
		}
	}
}

// appendN consumes n bytes and appends them to dst. Memory grows only as
// bytes arrive, so a corrupt length cannot force a large allocation.
func (d *Decoder) appendN(dst []byte, n uint64) ([]byte, error) {
	for {
		avail := uint64(d.w - d.r)
		if n <= avail {
			dst = append(dst, d.buf[d.r:d.r+int(n)]...)
			d.r += int(n)
			return dst, nil
		}
		dst = append(dst, d.buf[d.r:d.w]...)
		n -= avail
		d.r = d.w
		if err := d.fill(1); err != nil {
			return dst, err
		}
	}
}

// readLen reads an RDB length. When the first two bits are 11 the value
// is a special string encoding: enc is true and n holds the low six bits.
func (d *Decoder) readLen() (n uint64, enc bool, err error) {
	b, err := d.readByte()
	if err != nil {
		return 0, false, err
	}
	switch b >> 6 {
	case 0:
		return uint64(b & 0x3f), false, nil
	case 1:
		b2, err := d.readByte()
		return uint64(b&0x3f)<<8 | uint64(b2), false, err
	case 3:
		return uint64(b & 0x3f), true, nil
	}
	switch b {
	case 0x80:
		p, err := d.readN(4)
		if err != nil {
			return 0, false, err
		}
		return uint64(binary.BigEndian.Uint32(p)), false, nil
	case 0x81:
		p, err := d.readN(8)
		if err != nil {
			return 0, false, err
		}
		return binary.BigEndian.Uint64(p), false, nil
	}
	return 0, false, d.corrupt(d.Offset()-1, fmt.Errorf("bad length encoding 0x%02x", b))
}

// plainLen reads a length that must not be a special encoding.
func (d *Decoder) plainLen() (uint64, error) {
	off := d.Offset()
	n, enc, err := d.readLen()
	if err == nil && enc {
		err = d.corrupt(off, fmt.Errorf("special encoding %d where a length belongs", n))
	}
	return n, err
}

// lens reads and discards k lengths.
func (d *Decoder) lens(k int) error {
	for ; k > 0; k-- {
		if _, err := d.plainLen(); err != nil {
			return err
		}
	}
	return nil
}

// stringHead reads the header of a string. For a plain string it returns
// the byte count that follows (lzf false, clen the length). For an integer
// encoding it returns the raw integer size. For LZF it returns the
// compressed and uncompressed lengths.
func (d *Decoder) stringHead() (clen, ulen uint64, kind byte, err error) {
	off := d.Offset()
	n, enc, err := d.readLen()
	if err != nil {
		return 0, 0, 0, err
	}
	if !enc {
		if n > maxStringLen {
			return 0, 0, 0, d.corrupt(off, fmt.Errorf("%w: string length %d", ErrTooLarge, n))
		}
		return n, n, strPlain, nil
	}
	switch n {
	case 0:
		return 1, 0, strInt, nil
	case 1:
		return 2, 0, strInt, nil
	case 2:
		return 4, 0, strInt, nil
	case 3:
		if clen, err = d.plainLen(); err != nil {
			return 0, 0, 0, err
		}
		if ulen, err = d.plainLen(); err != nil {
			return 0, 0, 0, err
		}
		if clen == 0 || ulen == 0 || clen > maxStringLen || ulen > maxStringLen || (ulen+lzfMaxRatio-1)/lzfMaxRatio > clen {
			return 0, 0, 0, d.corrupt(off, fmt.Errorf("bad LZF lengths %d/%d", clen, ulen))
		}
		return clen, ulen, strLZF, nil
	}
	return 0, 0, 0, d.corrupt(off, fmt.Errorf("unknown string encoding %d", n))
}

// String kinds returned by stringHead.
const (
	strPlain byte = iota
	strInt
	strLZF
)

// walkString consumes one string without decoding it.
func (d *Decoder) walkString() error {
	clen, _, _, err := d.stringHead()
	if err != nil {
		return err
	}
	return d.skip(clen)
}

// readString consumes one string and appends its decoded bytes to dst.
// limit bounds the decoded length.
func (d *Decoder) readString(dst []byte, limit int64) ([]byte, error) {
	off := d.Offset()
	clen, ulen, kind, err := d.stringHead()
	if err != nil {
		return dst, err
	}
	if limit > 0 && int64(ulen) > limit {
		return dst, d.corrupt(off, fmt.Errorf("%w: string of %d bytes over limit %d", ErrTooLarge, ulen, limit))
	}
	switch kind {
	case strPlain:
		return d.appendN(dst, clen)
	case strInt:
		p, err := d.readN(int(clen))
		if err != nil {
			return dst, err
		}
		var v int64
		switch clen {
		case 1:
			v = int64(int8(p[0]))
		case 2:
			v = int64(int16(binary.LittleEndian.Uint16(p)))
		default:
			v = int64(int32(binary.LittleEndian.Uint32(p)))
		}
		return strconv.AppendInt(dst, v, 10), nil
	}
	d.lzf, err = d.appendN(d.lzf[:0], clen)
	if err != nil {
		return dst, err
	}
	start := len(dst)
	dst = append(dst, make([]byte, ulen)...)
	if err := lzfDecompress(d.lzf, dst[start:]); err != nil {
		return dst[:start], d.corrupt(off, err)
	}
	return dst, nil
}

// lzfDecompress expands the LZF data in into out, which must be exactly
// the uncompressed length. It checks every bound, so corrupt input yields
// an error, never a panic.
func lzfDecompress(in, out []byte) error {
	ip, op := 0, 0
	for ip < len(in) {
		ctrl := int(in[ip])
		ip++
		if ctrl < 32 {
			n := ctrl + 1
			if ip+n > len(in) || op+n > len(out) {
				return errLZF
			}
			copy(out[op:], in[ip:ip+n])
			ip += n
			op += n
			continue
		}
		n := ctrl >> 5
		if n == 7 {
			if ip >= len(in) {
				return errLZF
			}
			n += int(in[ip])
			ip++
		}
		if ip >= len(in) {
			return errLZF
		}
		ref := op - (ctrl&0x1f)<<8 - int(in[ip]) - 1
		ip++
		n += 2
		if ref < 0 || op+n > len(out) {
			return errLZF
		}
		// The reference may overlap what it writes: the output from ref on
		// then repeats with period op-ref, so each copy may take everything
		// from ref up to where the last one ended, doubling each time.
		for i := 0; i < n; {
			i += copy(out[op+i:op+n], out[ref:op+i])
		}
		op += n
	}
	if op != len(out) {
		return errLZF
	}
	return nil
}

var errLZF = errors.New("invalid LZF data")
