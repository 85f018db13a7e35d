package main

import (
	"fmt"

	"github.com/rs/zerolog"

	"github.com/replicant/replicant/admin"
)

// listenEndpoints starts the listeners of --admin, --metrics and --pprof,
// serving p; the function returned stops them and waits for them.
func listenEndpoints(o syncOptions, p admin.Provider, log zerolog.Logger) (func(), error) {
	e := &admin.Endpoints{}
	if o.Admin != "" {
		addr, err := e.StartAdmin(o.Admin, admin.Options{Password: o.AdminPassword}, p)
		if err != nil {
			e.Close()
			return nil, fmt.Errorf("--admin: %w", err)
		}
		log.Info().Str("addr", addr).Msg("admin endpoint listening (redis-cli -p PORT INFO)")
	}
	for _, l := range []struct{ flag, addr, listening, exposes string }{
		{"--metrics", o.Metrics, "metrics listening (/metrics, /healthz)", "reads the sync's figures and addresses"},
		{"--pprof", o.Pprof, "profiles listening (/debug/pprof/)", "can profile the process"},
	} {
		if l.addr == "" {
			continue
		}
		start := func() (string, error) { return e.StartPprof(l.addr) }
		if l.flag == "--metrics" {
			start = func() (string, error) { return e.StartMetrics(l.addr, p) }
		}
		addr, err := start()
		if err != nil {
			e.Close()
			return nil, fmt.Errorf("%s: %w", l.flag, err)
		}
		log.Info().Str("addr", addr).Msg(l.listening)
		if loop, _ := admin.IsLoopback(addr); !loop {
			log.Warn().Str("addr", addr).Msgf("%s is not on a loopback address and has no password: anyone who can reach it %s", l.flag, l.exposes)
		}
	}
	return e.Close, nil
}
