package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/rs/zerolog"

	"github.com/replicant/replicant/admin"
)

// listenEndpoints starts the admin and metrics endpoints of --admin and
// --metrics, serving p.
func listenEndpoints(o syncOptions, p admin.Provider, log zerolog.Logger) (func(), error) {
	var closers []func() error
	closeAll := func() {
		for _, c := range closers {
			c()
		}
	}
	if o.Admin != "" {
		srv, err := admin.Listen(o.Admin, admin.Options{Password: o.AdminPassword}, p)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("--admin: %w", err)
		}
		closers = append(closers, srv.Close)
		go srv.Serve()
		log.Info().Str("addr", srv.Addr()).Msg("admin endpoint listening (redis-cli -p PORT INFO)")
	}
	if o.Metrics != "" {
		m, err := admin.ListenMetrics(o.Metrics, p)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("--metrics: %w", err)
		}
		closers = append(closers, m.Close)
		go m.Serve()
		log.Info().Str("addr", m.Addr()).Msg("metrics listening (/metrics, /healthz)")
		if loop, _ := admin.IsLoopback(m.Addr()); !loop {
			log.Warn().Str("addr", m.Addr()).Msg("--metrics is not on a loopback address and has no password: anyone who can reach it reads the sync's figures and addresses")
		}
	}
	if o.Pprof != "" {
		srv, addr, err := listenPprof(o.Pprof)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("--pprof: %w", err)
		}
		closers = append(closers, srv.Close)
		log.Info().Str("addr", addr).Msg("profiles listening (/debug/pprof/)")
		if loop, _ := admin.IsLoopback(addr); !loop {
			log.Warn().Str("addr", addr).Msg("--pprof is not on a loopback address and has no password: anyone who can reach it can profile the process")
		}
	}
	return closeAll, nil
}

// listenPprof serves Go's runtime profiles (net/http/pprof) on addr, on a
// mux of its own: nothing else of the process is reachable there.
func listenPprof(addr string) (*http.Server, string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return srv, ln.Addr().String(), nil
}
