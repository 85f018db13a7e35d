package main

import (
	"fmt"

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
	return closeAll, nil
}
