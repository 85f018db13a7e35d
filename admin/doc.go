// Package admin serves a running replicant to its operator: a RESP endpoint
// that redis-cli can talk to (PING, INFO, CUTOVER, PAUSE, RESUME, SHUTDOWN,
// AUTH) and an HTTP endpoint with Prometheus metrics at /metrics and a
// health check at /healthz.
//
// admin knows nothing of how a sync works: it reads figures from a
// Provider and forwards requests to it.
//
//	srv, err := admin.Listen("127.0.0.1:6390", admin.Options{Password: pw}, p)
//	if err != nil { ... }
//	go srv.Serve()
//	defer srv.Close()
//
//	m, err := admin.ListenMetrics("127.0.0.1:9121", p)
//	if err != nil { ... }
//	go m.Serve()
//	defer m.Close()
//
// A RESP endpoint on an address other than loopback must have a password:
// Listen refuses to start without one (CheckAddr says why).
package admin
