package psync

import (
	"bytes"
	"fmt"
	"strconv"
	"time"

	"github.com/replicant/replicant/resp"
)

// ReadCommand returns the next command of the replication stream and the
// offset just after it. The arguments alias the Conn's buffer and are valid
// until the next call. A REPLCONF GETACK is answered at once and returned
// too, so that the caller can count its bytes as applied.
func (c *Conn) ReadCommand() (args [][]byte, endOffset int64, err error) {
	if !c.streaming {
		if err := c.beginStream(); err != nil {
			return nil, 0, err
		}
	}
	args, size, err := c.rd.ReadCommand()
	if err != nil {
		return nil, 0, c.readErr(err)
	}
	end := c.received.Add(int64(size))
	if err := c.ackIfAsked(args); err != nil {
		return nil, 0, err
	}
	return args, end, nil
}

// ackIfAsked answers a REPLCONF GETACK.
func (c *Conn) ackIfAsked(args [][]byte) error {
	if isGetAck(args) && !c.legacy {
		return c.sendAck()
	}
	return nil
}

// AppendCommand reads the next command of the stream as ReadCommand does
// and appends its bytes, as received, to dst: what a spool keeps.
func (c *Conn) AppendCommand(dst []byte) (out []byte, endOffset int64, err error) {
	if !c.streaming {
		if err := c.beginStream(); err != nil {
			return dst, 0, err
		}
	}
	args, out, size, err := c.rd.AppendCommand(dst)
	if err != nil {
		return dst, 0, c.readErr(err)
	}
	return out, c.received.Add(int64(size)), c.ackIfAsked(args)
}

// Buffered returns how many bytes of the stream are already read from the
// socket and waiting: zero means the next ReadCommand may block.
func (c *Conn) Buffered() int { return c.br.Buffered() }

func (c *Conn) readErr(err error) error {
	select {
	case <-c.closed:
		return ErrClosed
	default:
	}
	return fmt.Errorf("source %s: replication stream: %w", c.cfg.Addr, err)
}

// beginStream finishes the snapshot (discarding what the caller left), sends
// the first ACK and starts the ACK ticker.
func (c *Conn) beginStream() error {
	if c.full {
		if c.payload == nil {
			return fmt.Errorf("psync: read the snapshot before the command stream")
		}
		if err := c.payload.drain(); err != nil {
			return c.readErr(err)
		}
	}
	c.streaming = true
	if c.legacy {
		return nil
	}
	// A diskless master sends nothing until it hears this first ACK.
	if err := c.sendAck(); err != nil {
		return err
	}
	c.startAcks()
	return nil
}

func isGetAck(args [][]byte) bool {
	return len(args) >= 2 && bytes.EqualFold(args[0], []byte("REPLCONF")) &&
		bytes.EqualFold(args[1], []byte("GETACK"))
}

func (c *Conn) ackOffset() int64 {
	if c.cfg.Applied != nil {
		return c.cfg.Applied()
	}
	return c.received.Load()
}

func (c *Conn) sendAck() error {
	off := strconv.FormatInt(c.ackOffset(), 10)
	return c.write(resp.AppendCommandString(nil, "REPLCONF", "ACK", off))
}

func (c *Conn) startAcks() {
	c.acking.Store(true)
	go func() {
		defer close(c.ackDone)
		t := time.NewTicker(c.cfg.AckInterval)
		defer t.Stop()
		for {
			select {
			case <-c.closed:
				return
			case <-t.C:
				if err := c.sendAck(); err != nil {
					c.log.Debug().Err(err).Msg("ACK not sent")
					return // the reader sees the broken link too
				}
			}
		}
	}()
}

// Close ends the link and stops the ACK ticker. A blocked ReadCommand
// returns ErrClosed.
func (c *Conn) Close() error {
	var err error
	c.closeOnce.Do(func() {
		close(c.closed)
		err = c.conn.Close()
		if c.acking.Load() {
			<-c.ackDone
		}
	})
	return err
}
