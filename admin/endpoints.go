package admin

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"time"
)

// Endpoints owns the listeners a sync serves beside its work: the admin
// endpoint, the metrics and Go's profiles. Each Start* binds its address
// and serves on a goroutine of its own; Close stops them all and waits
// for those goroutines.
type Endpoints struct {
	wg      sync.WaitGroup
	closers []func() error
}

// StartAdmin serves the admin endpoint (RESP) for p on addr and returns
// the address bound.
func (e *Endpoints) StartAdmin(addr string, opts Options, p Provider) (string, error) {
	srv, err := Listen(addr, opts, p)
	if err != nil {
		return "", err
	}
	e.serve(func() { srv.Serve() }, srv.Close)
	return srv.Addr(), nil
}

// StartMetrics serves /metrics and /healthz for p on addr and returns the
// address bound.
func (e *Endpoints) StartMetrics(addr string, p Provider) (string, error) {
	m, err := ListenMetrics(addr, p)
	if err != nil {
		return "", err
	}
	e.serve(func() { m.Serve() }, m.Close)
	return m.Addr(), nil
}

// StartPprof serves Go's runtime profiles (net/http/pprof) on addr, on a
// mux of its own: nothing else of the process is reachable there. It
// returns the address bound.
func (e *Endpoints) StartPprof(addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("pprof: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	e.serve(func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			ln.Close()
		}
	}, srv.Close)
	return ln.Addr().String(), nil
}

func (e *Endpoints) serve(run func(), stop func() error) {
	e.closers = append(e.closers, stop)
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		run()
	}()
}

// Close stops every listener started and waits for their goroutines.
func (e *Endpoints) Close() {
	for _, stop := range e.closers {
		stop()
	}
	e.closers = nil
	e.wg.Wait()
}
