package replicate

import "context"

// showProgress hands the snapshot's progress to Config.OnSnapshot until the
// returned function is called. While it shows it, the periodic status lines
// stand aside; without it they report the progress.
func (s *replica) showProgress(ctx context.Context) (stop func()) {
	if s.opts.OnSnapshot == nil {
		return func() {}
	}
	done := s.opts.OnSnapshot(ctx, s.snapshotProgress)
	if done == nil {
		return func() {}
	}
	s.status.barShown.Store(true)
	return func() {
		done()
		s.status.barShown.Store(false)
	}
}

// snapshotProgress reads where the snapshot stands.
func (s *replica) snapshotProgress() (f SnapshotProgress) {
	f.Total = -1
	if src := s.status.src.Load(); src != nil && src.FullResync() {
		f.Read, f.Total = src.SnapshotRead(), src.SnapshotSize()
	}
	if fwd := s.status.fwd.Load(); fwd != nil {
		f.Keys = fwd.Stats().Restored
	}
	return f
}
