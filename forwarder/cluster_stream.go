package forwarder

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/replicant/replicant/resp"
)

// ClusterStream applies the live stream to a Redis Cluster exactly once
// per slot. A MULTI cannot span slots, so each batch is cut into one group
// per slot, sent to the slot's master as
//
//	MULTI, the slot's commands, SET <key>:{<slot tag>} <offset>, EXEC
//
// where the offset is the stream offset after the group's last command.
// The base checkpoint <key> says where to apply again from; it is written
// once every group before it is confirmed, so it lags a little. Applying
// again from it skips, slot by slot, what the slot's checkpoint says is
// there: nothing twice, nothing missed, through crashes, outages and
// slots that move (MOVED or ASK abort a group whole; the writer then
// fails with a Redirect AbortError, and the caller dials again, with a
// fresh slot map, and applies from the checkpoints).
//
// Commands whose keys span slots are split per slot where that keeps
// their meaning (DEL, UNLINK, TOUCH, MSET, MSETNX) and emulated where it
// does not (emulate.go): those, FLUSHALL and FLUSHDB (sent to every
// master) and FUNCTION and SCRIPT (loaded on every master) are applied
// one at a time once everything before them is confirmed. An emulated
// command interrupted by a crash may be applied again.
type ClusterStream struct {
	cfg   ClusterConfig
	log   zerolog.Logger
	slots shardMap
	nodes map[string]*clusterNode
	marks []string       // the checkpoint key of each shard
	run   *clusterRunner // the committing goroutine's
	table *commandTable  // what the first master's COMMAND says; nil if refused
	base  *baseWriter

	checkpoint Checkpoint
	found      bool
	valid      bool
	slotDone   map[int]int64 // slot checkpoints past the base one

	db        int
	cur       *streamBatch
	inMulti   bool
	multiSlot int
	warnedTxn bool
	inflight  sync.WaitGroup // parts sent and not yet answered
	sending   atomic.Int32   // Commit is writing a part
	batches   chan *streamBatch
	seq       int64 // batches committed

	commands atomic.Int64
	errors   atomic.Int64

	sticky // the error that ended it
	done   chan struct{}
}

var _ StreamWriter = (*ClusterStream)(nil)

// closeWait bounds how long Close waits for the replies of what is in
// flight before it drops the connections.
const closeWait = 30 * time.Second

// streamBatch is one batch: steps of slot groups, cut by barriers.
type streamBatch struct {
	cp      Checkpoint
	seq     int64
	size    int // encoded bytes of its groups
	steps   []*step
	pending atomic.Int32 // parts not yet answered
	failed  atomic.Bool  // a part was not applied: the batch is not
	sent    chan struct{}
	doneCh  chan struct{}
}

// step is either groups (one per slot, in order of first use) or one
// barrier command applied alone.
type step struct {
	groups  map[int]*slotGroup
	order   []int
	barrier [][]byte
	off     int64
}

// partFailed marks a part that was not applied, or may not have been;
// partDone must follow.
func (b *streamBatch) partFailed() { b.failed.Store(true) }

func (b *streamBatch) partDone() {
	if b.pending.Add(-1) == 0 {
		close(b.doneCh)
	}
}

// DialClusterStream reads the slot map, the checkpoints, and connects to
// every master.
func DialClusterStream(ctx context.Context, cfg ClusterConfig) (*ClusterStream, error) {
	cfg.Config = cfg.Config.withDefaults()
	m, err := loadShardMap(ctx, cfg)
	if err != nil {
		return nil, err
	}
	marks, err := shardKeys(m, cfg.CheckpointKey)
	if err != nil {
		return nil, err
	}
	s := &ClusterStream{marks: marks,
		cfg: cfg, slots: m, nodes: map[string]*clusterNode{}, slotDone: map[int]int64{},
		log:     cfg.Logger.With().Str("target", "cluster").Logger(),
		batches: make(chan *streamBatch, 16),
		sticky:  newSticky(), done: make(chan struct{}),
	}
	s.run = newClusterRunner(cfg, m)
	if err := s.readCheckpoints(ctx); err != nil {
		s.run.close()
		return nil, err
	}
	for _, addr := range m.masterAddrs() {
		c := cfg.Config
		c.Addr = addr
		conn, rd, err := connect(ctx, c)
		if err == nil && s.table == nil {
			s.table, err = readCommandTable(conn, rd, addr)
		}
		if err != nil {
			s.Close()
			return nil, err
		}
		s.nodes[addr] = s.startNode(conn, rd, addr)
	}
	s.base = newBaseWriter(s, newClusterRunner(cfg, m))
	go s.complete()
	return s, nil
}

// shardKeys names the checkpoint key of every shard: <key>:{<slot tag>}
// in a cluster, a <key>:N that lands on the server in a pool.
func shardKeys(m shardMap, key string) ([]string, error) {
	keys := make([]string, m.shardCount())
	for shard := range keys {
		k, err := m.keyOn(key, shard)
		if err != nil {
			return nil, err
		}
		keys[shard] = k
	}
	return keys, nil
}

func (s *ClusterStream) slotKey(slot int) string { return s.marks[slot] }

// slotKeys names the checkpoint key of every shard, in shard order.
func (s *ClusterStream) slotKeys() [][]byte {
	keys := make([][]byte, len(s.marks))
	for slot, k := range s.marks {
		keys[slot] = []byte(k)
	}
	return keys
}

// readCheckpoints reads the base checkpoint and, from every master, the
// slot checkpoints past it.
func (s *ClusterStream) readCheckpoints(ctx context.Context) error {
	rep, err := s.run.Run(ctx, []byte(s.cfg.CheckpointKey), []byte("GET"), []byte(s.cfg.CheckpointKey))
	if err == nil {
		err = rep.Err()
	}
	if err != nil {
		return fmt.Errorf("forwarder: cluster target: read checkpoint: %w", err)
	}
	if !rep.IsNil {
		s.found = true
		s.checkpoint, s.valid = ParseCheckpoint(string(rep.Str))
	}
	if !s.valid {
		return nil
	}
	return s.readSlotCheckpoints(ctx)
}

// readSlotCheckpoints reads the checkpoint of every slot, by name rather
// than by SCAN, so that one moving between masters (a reshard) is not
// missed: a missed one would apply that slot's commands twice.
func (s *ClusterStream) readSlotCheckpoints(ctx context.Context) error {
	reps, err := s.run.eachKey(ctx, "GET", s.slotKeys())
	if err != nil {
		return fmt.Errorf("forwarder: cluster target: read slot checkpoints: %w", err)
	}
	for slot, rep := range reps {
		if err := rep.Err(); err != nil {
			return fmt.Errorf("forwarder: cluster target: read checkpoint of slot %d: %w", slot, err)
		}
		if rep.IsNil {
			continue
		}
		off, err := strconv.ParseInt(string(rep.Str), 10, 64)
		if err == nil && off > s.checkpoint.Offset {
			s.slotDone[slot] = off
		}
	}
	return nil
}

// Checkpoint is the base checkpoint read at dial.
func (s *ClusterStream) Checkpoint() (cp Checkpoint, found, ok bool) {
	return s.checkpoint, s.found, s.valid
}

// SetApplied sets the offset Applied reports before any batch.
func (s *ClusterStream) SetApplied(off int64) { s.base.confirmed.Store(off) }

// Applied is the offset of the newest base checkpoint written: every
// command before it is on the target.
func (s *ClusterStream) Applied() int64 { return s.base.confirmed.Load() }

// Counts returns the commands applied and those the target refused.
func (s *ClusterStream) Counts() (applied, refused int64) {
	return s.commands.Load(), s.errors.Load()
}

// Begin starts a batch whose first command runs in db.
func (s *ClusterStream) Begin(db int) {
	s.db = db
	s.cur = &streamBatch{sent: make(chan struct{}), doneCh: make(chan struct{})}
}

// Size returns the encoded bytes of the current batch's groups.
func (s *ClusterStream) Size() int { return s.cur.size }

// fail sets the sticky error: the node readers read what is in flight,
// then close.
func (s *ClusterStream) fail(err error) {
	if s.set(err) && s.base != nil {
		s.base.wake()
	}
}

// Close ends every connection and waits for the readers.
func (s *ClusterStream) Close() error {
	s.fail(fmt.Errorf("forwarder: cluster target: %w", ErrClosed))
	timeout := time.After(closeWait)
	for _, n := range s.nodes {
		select {
		case <-n.done:
		case <-timeout: // a server that does not answer: stop waiting
			n.conn.Close()
			<-n.done
		}
	}
	if s.base != nil {
		<-s.done
		s.base.close()
	}
	s.run.close()
	return nil
}

// addToSlot appends a command to its slot's group in the batch's last
// step, unless the slot's checkpoint says it is applied already.
func (s *ClusterStream) addToSlot(slot int, args [][]byte, endOffset int64) {
	if done, ok := s.slotDone[slot]; ok && endOffset <= done {
		return
	}
	b := s.cur
	var st *step
	if n := len(b.steps); n > 0 && b.steps[n-1].barrier == nil {
		st = b.steps[n-1]
	} else {
		st = &step{groups: map[int]*slotGroup{}}
		b.steps = append(b.steps, st)
	}
	g := st.groups[slot]
	if g == nil {
		g = &slotGroup{slot: slot}
		st.groups[slot] = g
		st.order = append(st.order, slot)
	}
	g.starts = append(g.starts, len(g.buf))
	g.offs = append(g.offs, endOffset)
	before := len(g.buf)
	g.buf = resp.AppendCommand(g.buf, args...)
	b.size += len(g.buf) - before
}

// addBarrier appends a command applied alone, after everything before it.
func (s *ClusterStream) addBarrier(args [][]byte, endOffset int64) {
	cp := make([][]byte, len(args))
	for i, a := range args {
		cp[i] = append([]byte(nil), a...)
	}
	s.cur.steps = append(s.cur.steps, &step{barrier: cp, off: endOffset})
}

// Commit sends the batch: groups pipelined to their masters, barriers
// alone once what is before them is confirmed. With a marker (a snapshot
// begins), the slot checkpoints are removed and the base one holds the
// marker once everything is confirmed.
func (s *ClusterStream) Commit(cp Checkpoint, marker string) error {
	b := s.cur
	s.cur = nil
	b.cp = cp
	s.seq++
	b.seq = s.seq
	b.pending.Store(1) // Commit's own share, released when all is sent
	ctx := context.Background()
	for _, st := range b.steps {
		var err error
		if st.barrier != nil {
			err = s.applyBarrier(ctx, st)
		} else {
			err = s.sendGroups(b, st)
		}
		if err != nil {
			s.fail(err)
			return err
		}
	}
	if marker != "" {
		return s.commitMarker(ctx, b, marker)
	}
	b.partDone()
	select {
	case s.batches <- b:
		return nil
	case <-s.dead:
		return s.Err()
	}
}

// sendGroups encodes one part per master and writes it.
func (s *ClusterStream) sendGroups(b *streamBatch, st *step) error {
	parts := map[string]*nodePart{}
	for _, slot := range st.order {
		g := st.groups[slot]
		addr := s.slots.ownerOf(slot)
		n := s.nodes[addr]
		if n == nil {
			return fmt.Errorf("forwarder: cluster target: no master serves slot %d: %w", slot, &AbortError{Transient: true, Redirect: true})
		}
		p := parts[addr]
		if p == nil {
			p = &nodePart{batch: b}
			parts[addr] = p
		}
		p.buf = resp.AppendCommandString(p.buf, "MULTI")
		g.base = len(p.buf)
		p.buf = append(p.buf, g.buf...)
		p.buf = resp.AppendCommandString(p.buf, "SET", s.slotKey(slot), strconv.FormatInt(g.last(), 10))
		g.extra = 1
		p.buf = resp.AppendCommandString(p.buf, "EXEC")
		p.groups = append(p.groups, g)
	}
	for _, addr := range s.slots.masterAddrs() {
		if p := parts[addr]; p != nil {
			b.pending.Add(1)
			if err := s.nodes[addr].send(p); err != nil {
				return err
			}
		}
	}
	return nil
}

// waitSent waits until every part sent so far is answered.
func (s *ClusterStream) waitSent(ctx context.Context) error {
	return waitIdle(ctx, &s.inflight, s.dead, s.Err)
}

// commitMarker writes the marker as the base checkpoint after removing the
// slot checkpoints, once everything sent is confirmed.
func (s *ClusterStream) commitMarker(ctx context.Context, b *streamBatch, marker string) error {
	b.partDone()
	if err := s.waitSent(ctx); err != nil {
		return err
	}
	if _, err := s.run.eachKey(ctx, "DEL", s.slotKeys()); err != nil {
		s.fail(err)
		return err
	}
	clear(s.slotDone)
	return s.base.writeNow(ctx, s.run, marker, b.cp.Offset, b.seq)
}

// complete advances the base checkpoint as batches are confirmed, in
// order.
func (s *ClusterStream) complete() {
	defer close(s.done)
	for {
		select {
		case b := <-s.batches:
			select {
			case <-b.doneCh:
			case <-s.dead:
				return
			}
			if b.failed.Load() {
				return // the base checkpoint must not pass it
			}
			s.base.want(b.cp, b.seq)
		case <-s.dead:
			return
		}
	}
}

// Drain waits until the base checkpoint names the last batch committed.
func (s *ClusterStream) Drain(ctx context.Context) error {
	return s.base.waitFor(ctx, s.seq)
}
