package psync

import (
	"fmt"
	"strconv"
	"strings"
)

// psync asks for a resync and reads the master's answer.
func (c *Conn) psync() error {
	id, off := "?", "-1"
	if c.cfg.ReplID != "" {
		id, off = c.cfg.ReplID, strconv.FormatInt(c.cfg.Offset+1, 10)
	}
	c.log.Info().Str("replid", id).Str("offset", off).
		Msg("PSYNC sent; a diskless master answers after repl-diskless-sync-delay")
	reply, err := c.call("PSYNC", id, off)
	if err != nil {
		return err
	}
	switch {
	case strings.HasPrefix(reply, "+FULLRESYNC"):
		return c.fullResync(reply)
	case strings.HasPrefix(reply, "+CONTINUE"):
		c.partialResync(reply)
		return nil
	case unknownCommand(reply):
		c.log.Info().Str("reply", reply).Msg("master does not know PSYNC: falling back to SYNC")
		return c.legacySync()
	case strings.HasPrefix(reply, "-"):
		return c.refused("PSYNC", reply)
	}
	return fmt.Errorf("source %s: unexpected answer to PSYNC: %s", c.cfg.Addr, quote(reply))
}

// unknownCommand reports whether an error reply says the command is
// unknown: the answer of a master older than 2.8 to PSYNC ("-ERR unknown
// command 'PSYNC'", "-ERR unknown command `PSYNC`, with args beginning
// with: ..." from 6.2). Only that one means SYNC is worth trying: any other
// error would make every retry a full sync.
func unknownCommand(reply string) bool {
	return strings.HasPrefix(reply, "-ERR") && strings.Contains(strings.ToLower(reply), "unknown command")
}

func (c *Conn) fullResync(reply string) error {
	f := strings.Fields(reply)
	if len(f) != 3 {
		return fmt.Errorf("source %s: malformed FULLRESYNC: %s", c.cfg.Addr, quote(reply))
	}
	off, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil || off < 0 {
		return fmt.Errorf("source %s: malformed FULLRESYNC offset: %s", c.cfg.Addr, quote(reply))
	}
	c.full, c.replID, c.start = true, f[1], off
	c.received.Store(off)
	c.log.Info().Str("replid", c.replID).Int64("offset", off).Msg("full resync")
	return nil
}

func (c *Conn) partialResync(reply string) {
	c.replID = c.cfg.ReplID
	if f := strings.Fields(reply); len(f) == 2 {
		c.replID = f[1] // psync2: the master's id changed, the offsets go on
	}
	c.start = c.cfg.Offset
	c.received.Store(c.start)
	c.streaming = true
	c.startAcks()
	c.log.Info().Str("replid", c.replID).Int64("offset", c.start).Msg("partial resync accepted")
}

// legacySync asks a pre-2.8 master for SYNC: the payload follows at once,
// and the stream has no replication id and no offsets the master knows.
func (c *Conn) legacySync() error {
	if err := c.write([]byte("*1\r\n$4\r\nSYNC\r\n")); err != nil {
		return err
	}
	c.full, c.legacy, c.replID, c.start = true, true, "", 0
	return nil
}

// FullResync reports whether the master is sending a snapshot first.
func (c *Conn) FullResync() bool { return c.full }

// Legacy reports whether the link uses SYNC: no partial resync is possible
// and no ACKs are sent.
func (c *Conn) Legacy() bool { return c.legacy }

// ReplID returns the master's replication id ("" for SYNC).
func (c *Conn) ReplID() string { return c.replID }

// StartOffset returns the offset at which the command stream begins.
func (c *Conn) StartOffset() int64 { return c.start }

// Received returns the offset just after the last command read. Safe to call
// from any goroutine.
func (c *Conn) Received() int64 { return c.received.Load() }
