// Package resp reads and writes the Redis serialization protocol (RESP2, with
// the RESP3 reply types a server may still send) and counts every byte it
// reads, so that a replication stream's offset is the byte count.
//
// It is the one leaf package that psync and forwarder share: psync reads the
// master's command stream with Reader.ReadCommand, forwarder encodes commands
// with AppendCommand and reads the target's answers with Reader.ReadReply.
//
//	r := resp.NewReader(conn, 64<<10)
//	args, size, err := r.ReadCommand()  // args alias r's buffer until the next call
//	buf = resp.AppendCommand(buf[:0], []byte("SET"), key, value)
//
// Limits (MaxBulk, MaxArray) bound what one value may make the reader hold.
package resp
