// Package test holds replicant's black-box integration tests. They build the
// replicant binary, start real redis-server processes on free loopback
// ports (with test/redistest), run "replicant sync" against them and compare
// the whole datasets, key by key and by DEBUG DIGEST.
//
// A missing redis-server is a failure, never a skip: "make test" installs it.
package test
