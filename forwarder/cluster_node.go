package forwarder

import (
	"errors"
	"fmt"
	"net"

	"github.com/replicant/replicant/resp"
)

// clusterNode is the stream writer's pipelined connection to one master.
// Each part it carries is the groups of one batch whose slots that master
// serves, each group a MULTI ... EXEC of its own with the slot's
// checkpoint; a reader goroutine reads the replies part by part.
type clusterNode struct {
	addr  string
	conn  net.Conn
	rd    *resp.Reader
	parts chan *nodePart
	done  chan struct{}
	s     *ClusterStream
}

// nodePart is the encoded groups of one batch for one master.
type nodePart struct {
	buf    []byte
	groups []*slotGroup
	batch  *streamBatch
}

// slotGroup is the commands of one batch in one slot, in stream order.
// Encoded, it is MULTI, the commands, the checkpoint SETs, EXEC.
type slotGroup struct {
	slot   int
	buf    []byte  // the commands, encoded
	starts []int   // where each command starts in buf
	offs   []int64 // the stream offset just after each
	extra  int     // checkpoint SETs after the commands
	base   int     // where buf starts in the part's buffer
}

func (g *slotGroup) last() int64 { return g.offs[len(g.offs)-1] }

func (s *ClusterStream) startNode(conn net.Conn, rd *resp.Reader, addr string) *clusterNode {
	n := &clusterNode{addr: addr, conn: conn, rd: rd, parts: make(chan *nodePart, 64), done: make(chan struct{}), s: s}
	go n.readLoop()
	return n
}

// send writes a part; its replies are read by the reader, which also
// accounts for it when the connection fails.
func (n *clusterNode) send(p *nodePart) error {
	n.s.sending.Add(1)
	defer n.s.sending.Add(-1)
	n.s.inflight.Add(1)
	select {
	case n.parts <- p:
	case <-n.s.dead:
		p.batch.partFailed()
		p.batch.partDone()
		n.s.inflight.Done()
		return n.s.Err()
	}
	if _, err := n.conn.Write(p.buf); err != nil {
		n.s.fail(fmt.Errorf("forwarder: cluster target %s: connection lost: %w", n.addr, netCause(err)))
		return n.s.Err()
	}
	return nil
}

// readLoop reads the replies of each part. Once the writer has failed, it
// still reads the replies of every part already written, as long as the
// connection holds: the server applies what it has received, and the
// checkpoints may be read again only once it has (applying again from
// them while old parts still land would apply those twice). Then it
// closes the connection.
func (n *clusterNode) readLoop() {
	defer close(n.done)
	defer n.conn.Close()
	defer n.releaseUnread()
	for {
		var p *nodePart
		select {
		case p = <-n.parts:
		case <-n.s.dead:
			n.drain()
			return
		}
		err := n.readPart(p)
		if err != nil {
			p.batch.partFailed() // before fail: no waiter may take it for applied
			n.s.fail(err)
		}
		p.batch.partDone()
		n.s.inflight.Done()
		var ae *AbortError
		switch {
		case errors.As(err, &ae):
			n.drain() // the connection is sound: read what is in flight
			return
		case err != nil:
			return
		}
	}
}

// drain reads the replies of the parts written before the writer failed,
// and of those a Commit still writing adds, until none is left.
func (n *clusterNode) drain() {
	drainInFlight(n.parts, &n.s.sending, func(p *nodePart) error {
		err := n.readPart(p)
		p.batch.partFailed()
		p.batch.partDone()
		n.s.inflight.Done()
		return err
	})
}

// releaseUnread releases the waiters of parts whose replies were not read.
func (n *clusterNode) releaseUnread() {
	for {
		select {
		case p := <-n.parts:
			p.batch.partFailed()
			p.batch.partDone()
			n.s.inflight.Done()
		default:
			return
		}
	}
}

// readPart reads the replies of every group of a part. A group the server
// aborted does not stop it: the groups after it ran, and their replies
// follow. It returns the first error.
func (n *clusterNode) readPart(p *nodePart) error {
	var first error
	for _, g := range p.groups {
		err := n.readGroup(p, g)
		var ae *AbortError
		switch {
		case err == nil:
		case errors.As(err, &ae):
			if first == nil {
				first = err
			}
		default:
			return err // the connection: nothing more to read
		}
	}
	return first
}

// readGroup reads MULTI's reply, one per queued command, then EXEC's,
// keeping only the outcome of each (as Txn.readBatch does): the error
// replies, nothing for a success.
func (n *clusterNode) readGroup(p *nodePart, g *slotGroup) error {
	var queued []queuedError // the error replies to the queued commands
	nq := len(g.offs) + g.extra
	for i := -1; i < nq; i++ {
		if k := n.rd.SkipSuccesses(nq - i); k > 0 { // MULTI's +OK, then +QUEUED each
			i += k - 1
			continue
		}
		rep, err := n.rd.ReadStatus()
		if err != nil {
			return n.lost(err)
		}
		switch {
		case !isError(&rep):
		case i < 0:
			return fmt.Errorf("forwarder: cluster target %s: MULTI refused: %w", n.addr, rep.Err())
		default:
			queued = append(queued, queuedError{i, rep})
		}
	}
	exec, err := n.rd.ReadHead()
	if err != nil {
		return n.lost(err)
	}
	if exec.Kind == resp.Array && !exec.IsNil {
		return n.results(p, g, int(exec.Int))
	}
	if exec.Aggregate() && !exec.IsNil { // not EXEC's: read it to stay in step
		for range exec.Int {
			if _, err := n.rd.ReadStatus(); err != nil {
				return n.lost(err)
			}
		}
	}
	return n.aborted(p, g, queued, &exec)
}

func (n *clusterNode) lost(err error) error {
	return fmt.Errorf("forwarder: cluster target %s: connection lost: %w", n.addr, netCause(err))
}

// results reads the count replies of EXEC's array, and counts and logs
// the outcome of each of the group's commands (the first len(g.offs)).
func (n *clusterNode) results(p *nodePart, g *slotGroup, count int) error {
	var applied int64
	for i := 0; i < count; i++ {
		if k := n.rd.SkipSuccesses(count - i); k > 0 {
			applied += int64(max(0, min(i+k, len(g.offs))-i))
			i += k - 1
			continue
		}
		rep, err := n.rd.ReadStatus()
		if err != nil {
			return n.lost(err)
		}
		if i >= len(g.offs) {
			continue
		}
		if !isError(&rep) {
			applied++
			continue
		}
		n.s.errors.Add(1)
		n.s.log.Warn().Str("cmd", n.label(p, g, i).String()).Str("error", rep.Err().Error()).
			Int64("offset", g.offs[i]).Msg("target refused a command")
	}
	n.s.commands.Add(applied)
	return nil
}

func (n *clusterNode) label(p *nodePart, g *slotGroup, i int) label {
	end := len(g.buf)
	if i+1 < len(g.starts) {
		end = g.starts[i+1]
	}
	return labelOf(g.buf[g.starts[i]:end])
}

// aborted builds the error of a group the target discarded (EXECABORT):
// a redirection or a passing cause makes the writer reconnect and apply
// again from the checkpoints; commands refused for good are named.
func (n *clusterNode) aborted(p *nodePart, g *slotGroup, queued []queuedError, exec *resp.Reply) error {
	ae := &AbortError{Transient: true, Refused: map[int64]string{}}
	for _, q := range queued {
		i, err := q.i, q.rep.Err()
		var se *resp.ServerError
		if !errors.As(err, &se) {
			continue
		}
		code := se.Prefix()
		if code == "MOVED" || code == "ASK" {
			ae.Redirect = true
		}
		if i >= len(g.offs) || code == "MOVED" || code == "ASK" || transient(code) {
			continue
		}
		ae.Transient = false
		ae.Refused[g.offs[i]] = n.label(p, g, i).String() + ": " + err.Error()
	}
	if exec.Err() == nil && exec.IsNil {
		return fmt.Errorf("forwarder: cluster target %s: EXEC returned nil", n.addr)
	}
	if ae.Redirect {
		ae.Transient = true
		ae.Refused = map[int64]string{}
		n.s.log.Info().Int("slot", g.slot).Str("target", n.addr).Msg("the slot moved; reading the slot map again")
	} else {
		n.s.log.Warn().Str("exec", exec.String()).Str("target", n.addr).Msg(ae.Error())
	}
	return ae
}
