package forwarder

// This file holds the in-flight bookkeeping: the encode buffers (chunks) and
// the ring of commands sent and not yet answered. The shape follows
// etcd-io/raft's tracker/inflights.go: a fixed ring that bounds
// unacknowledged work.
//
// Every command is encoded once, into a chunk, and stays there until the
// target answers it. So the bytes of every unanswered command are still at
// hand, and an error reply is logged with the command's name and key parsed
// back from them. Nothing is ever resent from the ring: after a lost
// connection the writer fails, and the caller goes on from what the target
// confirms (the checkpoint of the live stream, or a new snapshot).

// noOffset marks an entry that is not part of the live stream.
const noOffset = -1

// kind says how to account for the reply to an entry.
type kind uint8

const (
	kindRestore      kind = iota // RESTORE of the snapshot phase
	kindFunction                 // FUNCTION LOAD
	kindSelect                   // SELECT, injected before a RESTORE or from the stream
	kindCommand                  // any other live command
	kindMulti                    // MULTI
	kindExec                     // EXEC
	kindDiscard                  // DISCARD
	kindStrings                  // MSET or SET of SetString, in the snapshot phase
	kindRewrite                  // a command rebuilding a snapshot key (Rewrite)
	kindRewriteFirst             // the first of them: its success counts the key
)

// entry is one command encoded and not yet answered.
type entry struct {
	ch     *chunk
	start  int   // the command is ch.mem[start:end]
	end    int   //
	offset int64 // stream offset just after the command; noOffset for none
	kind   kind
	hold   bool // MULTI or queued inside it: its reply does not make it applied
}

func (e *entry) bytes() []byte { return e.ch.mem[e.start:e.end] }

// chunk is one encode buffer. mem never changes once made; n and written
// belong to the caller's goroutine; refs and sealed are guarded by
// Standalone.mu.
type chunk struct {
	mem     []byte
	n       int  // bytes encoded
	written int  // bytes written to the socket
	refs    int  // entries in the ring that point here
	sealed  bool // no more commands go here; free it when refs drops to 0
}

// ring is a FIFO of entries with a fixed capacity (the window).
type ring struct {
	buf   []entry
	head  int
	n     int
	bytes int // sum of the entries' encoded sizes
}

func newRing(capacity int) ring { return ring{buf: make([]entry, capacity)} }

func (r *ring) full() bool { return r.n == len(r.buf) }

// push appends e; the caller checked that the ring is not full.
func (r *ring) push(e entry) {
	r.buf[(r.head+r.n)%len(r.buf)] = e
	r.n++
	r.bytes += e.end - e.start
}

// pop removes and returns the oldest entry; the caller checked r.n > 0.
func (r *ring) pop() entry {
	e := r.buf[r.head]
	r.buf[r.head] = entry{}
	r.head = (r.head + 1) % len(r.buf)
	r.n--
	r.bytes -= e.end - e.start
	return e
}

// last returns the newest entry, or nil when the ring is empty.
func (r *ring) last() *entry {
	if r.n == 0 {
		return nil
	}
	return &r.buf[(r.head+r.n-1)%len(r.buf)]
}
