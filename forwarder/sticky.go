package forwarder

import "sync/atomic"

// sticky is a writer's sticky error, embedded by Txn, ClusterStream and
// Standalone: the first error set is the one every later call returns,
// and dead is closed once it is set. Any goroutine may use it.
type sticky struct {
	err  atomic.Pointer[error]
	dead chan struct{}
}

func newSticky() sticky { return sticky{dead: make(chan struct{})} }

// set keeps err and closes dead, unless an error was set before; it
// reports whether err was the first.
func (s *sticky) set(err error) bool {
	if !s.err.CompareAndSwap(nil, &err) {
		return false
	}
	close(s.dead)
	return true
}

// Err returns the sticky error: nil while the writer is healthy.
func (s *sticky) Err() error {
	if p := s.err.Load(); p != nil {
		return *p
	}
	return nil
}

// Dead is closed once the writer has failed.
func (s *sticky) Dead() <-chan struct{} { return s.dead }
