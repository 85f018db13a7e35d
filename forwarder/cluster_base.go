package forwarder

import (
	"context"
	"sync"
	"sync/atomic"
)

// baseWriter keeps the base checkpoint of a ClusterStream: as batches are
// confirmed it writes the newest one, skipping those a newer one makes
// moot, on its own connections and goroutine.
type baseWriter struct {
	s   *ClusterStream
	run *clusterRunner

	mu        sync.Mutex
	cond      *sync.Cond
	next      Checkpoint
	nextSeq   int64
	doneSeq   int64
	closed    bool
	confirmed atomic.Int64 // the offset of the newest checkpoint written
	done      chan struct{}
}

func newBaseWriter(s *ClusterStream, run *clusterRunner) *baseWriter {
	w := &baseWriter{s: s, run: run, done: make(chan struct{})}
	w.cond = sync.NewCond(&w.mu)
	go w.loop()
	return w
}

// want asks for cp to be written; seq orders the requests.
func (w *baseWriter) want(cp Checkpoint, seq int64) {
	w.mu.Lock()
	w.next, w.nextSeq = cp, seq
	w.mu.Unlock()
	w.cond.Broadcast()
}

func (w *baseWriter) loop() {
	defer close(w.done)
	for {
		w.mu.Lock()
		for !w.closed && w.nextSeq <= w.doneSeq {
			w.cond.Wait()
		}
		if w.closed {
			w.mu.Unlock()
			return
		}
		cp, seq := w.next, w.nextSeq
		w.mu.Unlock()
		if err := w.write(context.Background(), w.run, cp.String()); err != nil {
			w.s.fail(err)
			w.wake()
			return
		}
		w.confirmed.Store(cp.Offset)
		w.mu.Lock()
		w.doneSeq = seq
		w.mu.Unlock()
		w.cond.Broadcast()
	}
}

func (w *baseWriter) write(ctx context.Context, r *clusterRunner, val string) error {
	key := []byte(w.s.cfg.CheckpointKey)
	rep, err := r.Run(ctx, key, []byte("SET"), key, []byte(val))
	if err == nil {
		err = rep.Err()
	}
	return err
}

// waitFor waits until the request seq (or a newer one) is written.
func (w *baseWriter) waitFor(ctx context.Context, seq int64) error {
	stop := context.AfterFunc(ctx, w.wake)
	defer stop()
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.doneSeq < seq {
		if err := w.s.Err(); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		w.cond.Wait()
	}
	return w.s.Err()
}

// writeNow writes val at once, from the caller's goroutine, once every
// request before seq is written.
func (w *baseWriter) writeNow(ctx context.Context, r *clusterRunner, val string, off, seq int64) error {
	if err := w.waitFor(ctx, seq-1); err != nil {
		return err
	}
	if err := w.write(ctx, r, val); err != nil {
		w.s.fail(err)
		return err
	}
	w.confirmed.Store(off)
	w.mu.Lock()
	w.doneSeq, w.nextSeq = seq, max(w.nextSeq, seq)
	w.mu.Unlock()
	w.cond.Broadcast()
	return nil
}

func (w *baseWriter) wake() {
	w.mu.Lock()
	w.cond.Broadcast()
	w.mu.Unlock()
}

func (w *baseWriter) close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.cond.Broadcast()
	<-w.done
	w.run.close()
}
