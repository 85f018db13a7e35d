// Package psync is the replica side of the Redis replication protocol.
//
// Dial connects to a master, authenticates, announces the replica's
// capabilities and asks for a full or partial resynchronization (PSYNC, or
// SYNC on a master too old to know PSYNC). After a full resync, Snapshot
// returns the RDB payload as an io.Reader that ends exactly where the RDB
// ends, whether the master sent it with a length ("$<len>") or with a
// diskless end marker ("$EOF:<mark>"). ReadCommand then returns the live
// command stream one command at a time, each with the replication offset
// just after it; every byte counts, PING and REPLCONF GETACK included.
//
// While streaming, the Conn sends "REPLCONF ACK <offset>" every second and
// at once when the master asks with REPLCONF GETACK. The offset it reports is
// the one Config.Applied returns, so that WAIT on the master means "applied
// on the target", not merely "received".
//
// psync knows nothing of RDB contents or of targets:
//
//	c, err := psync.Dial(ctx, psync.Config{Addr: "127.0.0.1:6379"})
//	if err != nil { ... }          // errors.Is(err, psync.ErrRetryLater) means try again later
//	defer c.Close()
//	if c.FullResync() {
//		rdb, err := c.Snapshot()  // decode rdb until io.EOF
//		...
//	}
//	for {
//		args, end, err := c.ReadCommand()
//		...
//	}
package psync
