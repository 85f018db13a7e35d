// Package twemproxy reads nutcracker's (twemproxy's) own configuration and
// names, for any key, the server of a pool that nutcracker 0.5 sends it
// to, so that a writer can reach the pool's servers directly and put every
// key where the proxy will look for it.
//
// # Use
//
//	cfg, err := twemproxy.LoadConfig("nutcracker.yml")
//	pool, err := cfg.Pool("alpha")      // or cfg.Pool("") for the only pool
//	r, err := twemproxy.NewRouter(pool) // ErrRandom for distribution random
//	srv := r.Server([]byte("user:{42}:name"))
//	// srv.Addr, srv.Name, srv.Index (its place in pool.Servers)
//
// ParseConfig refuses what nutcracker refuses at start (an unknown
// directive, no listen, a hash tag that is not two characters, a server
// without port or with weight 0, two servers of one name) and fills in its
// defaults: hash fnv1a_64, distribution ketama, redis_db 0.
//
// # How nutcracker routes a key
//
// Hash tag. With hash_tag "ab", nutcracker looks for the first 'a' in the
// key and the first 'b' after it; when both are found and at least one byte
// lies between them, only those bytes are hashed, else the whole key. So
// with "{}", "{user1}:a" and "x{user1}" hash "user1", while "{}user1" and
// "{user1" hash as they are.
//
// Hash. The pool's hash function maps those bytes to 32 bits:
// one_at_a_time, md5 (the first four digest bytes, little-endian), crc16,
// crc32 (libmemcached's: bits 16..30 of the IEEE CRC), crc32a (the IEEE
// CRC-32), fnv1_64 (the low 32 bits of 64-bit FNV-1), fnv1a_64 (FNV-1a in
// 32-bit arithmetic with the 64-bit constants cut to 32 bits), fnv1_32,
// fnv1a_32, hsieh (SuperFastHash), murmur (MurmurHash2 seeded with
// 0xdeadbeef*len) and jenkins (lookup3's hashlittle, initial value 13).
// nutcracker reads the key through a signed char in one_at_a_time, the four
// fnv functions and the 3-byte tail of hsieh, so bytes from 0x80 count as
// negative numbers there; this package does the same. The crc16 of 0.5.0
// runs the CRC-16/XMODEM step on a 32-bit register that is never cut back
// to 16 bits: its low 16 bits are the XMODEM CRC, the bits above are
// leftovers that still place keys.
//
// Server order. At start nutcracker sorts a pool's servers by name,
// shorter names first, then bytewise. A server's name is the one written
// after its weight ("127.0.0.1:6379:1 cache-1"), else "host:port" ("host"
// alone on port 11211; a Unix socket path followed by ':'). Modula and
// ketama's ties follow this order, not the file's.
//
// Modula. Each server, in that order, takes as many consecutive entries of
// a table as its weight; a key goes to entry hash % total weight.
//
// Ketama. Each server gets floor(weight/total * 40 * nservers) groups of
// four points on a 32-bit ring (computed in single precision, as nutcracker
// does): group n is the MD5 digest of "<name>-<n>", read as four
// little-endian words. A key goes to the server of the first point at or
// after its hash, wrapping past the last point to the first. Because crc32
// yields only 15 bits, a ketama pool hashed with crc32 puts nearly every key
// on one server: that is nutcracker's behaviour too, and mirrored here.
//
// Random. nutcracker sends each request to a random server; no router can
// mirror that, and NewRouter refuses it with ErrRandom.
//
// A pool with a single server sends every key to it without hashing.
//
// # Limits
//
// The router places keys as nutcracker does with every server live. With
// auto_eject_hosts true (Pool.AutoEjectHosts), nutcracker rebuilds its ring
// without a server it has ejected and sends that server's keys elsewhere
// until it returns; a direct writer must instead wait for the server.
//
// # Proof
//
// TestRouterMatchesNutcracker starts three redis-server backends and, for
// each of the twelve hash functions × ketama and modula × servers named or
// placed by address (weights 3, 1, 2), writes 10,000 keys through a real
// nutcracker and checks each key sits on the backend the Router names; then
// pools with hash tags "{}" and "::". testdata/nutcracker_routes.txt keeps
// some of those placements so that TestRouterVectors checks them without a
// nutcracker.
package twemproxy
