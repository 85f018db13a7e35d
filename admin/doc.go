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
// Listen refuses to start without one (CheckAddr says why). Every client is
// bounded: the endpoint serves MaxClients at once, reads commands of a few
// KB before AUTH (64 KB after) and closes a client that sends more, gives
// a client AuthTimeout to authenticate, and answers a wrong AUTH late. The
// metrics endpoint has no password; IsLoopback tells a caller whether to
// warn about its address.
package admin
