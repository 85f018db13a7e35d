package twemproxy

import (
	"bufio"
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/replicant/replicant/test/redistest"
)

// writeVectors regenerates testdata/nutcracker_routes.txt from where the
// real nutcracker put the keys:
//
//	go test ./twemproxy -run TestRouterMatchesNutcracker -write-vectors
var writeVectors = flag.Bool("write-vectors", false, "rewrite "+vectorsFile+" from the real nutcracker's placement")

const (
	vectorsFile   = "testdata/nutcracker_routes.txt"
	vectorsPerRun = 60 // keys of each named case saved as vectors
	keysPerCase   = 10000
)

// namedLayout is the pool of the named cases: weights 3, 1, 2 and names
// whose nutcracker order (shorter first: "b", "alpha", "gamma-node")
// differs from the file's, so a router that kept the file's order for
// modula, or got a weight wrong for ketama, fails.
var namedLayout = []struct {
	name   string
	weight int
}{{"gamma-node", 3}, {"b", 1}, {"alpha", 2}}

// backendPool is three redis-server backends shared by every case.
type backendPool struct {
	servers []*redistest.Server
	byAddr  map[string]int
}

func startBackends(t *testing.T) *backendPool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p := &backendPool{byAddr: map[string]int{}}
	for i := range 3 {
		s, err := redistest.Start(ctx, redistest.Options{Args: []string{"--save", "", "--appendonly", "no"}})
		if err != nil {
			t.Fatalf("start redis-server: %v", err)
		}
		t.Cleanup(func() { s.Stop() })
		p.servers = append(p.servers, s)
		p.byAddr[s.Addr] = i
	}
	return p
}

// serverLines are the pool's servers entries: named with namedLayout's
// weights, or by address with weights 3, 1, 2.
func (p *backendPool) serverLines(named bool) []string {
	var lines []string
	for i, s := range p.servers {
		l := fmt.Sprintf("%s:%d", s.Addr, namedLayout[i].weight)
		if named {
			l += " " + namedLayout[i].name
		}
		lines = append(lines, l)
	}
	return lines
}

// testKeys returns n distinct keys, the same on every run: plain names,
// binary keys full of bytes from 0x80 (nutcracker reads some of them as
// signed chars), printable noise, and every length from 1 to 40.
func testKeys(n int) [][]byte {
	rng := rand.New(rand.NewPCG(11, 2026))
	seen := map[string]bool{}
	var keys [][]byte
	for i := 0; len(keys) < n; i++ {
		var k []byte
		switch i % 5 {
		case 0:
			k = fmt.Appendf(nil, "key:%d", i)
		case 1, 4:
			k = make([]byte, 1+i%40)
			for j := range k {
				k[j] = byte(rng.IntN(256))
			}
		case 2:
			k = make([]byte, 1+rng.IntN(64))
			for j := range k {
				k[j] = byte(' ' + rng.IntN(95))
			}
		case 3:
			k = fmt.Appendf(nil, "user:%08x:profile", rng.Uint32())
		}
		if !seen[string(k)] {
			seen[string(k)] = true
			keys = append(keys, k)
		}
	}
	return keys
}

// routeCase is one pool configuration written through a real nutcracker.
type routeCase struct {
	hash, dist, tag string
	named           bool
	keys            [][]byte
}

func (c routeCase) String() string {
	s := c.hash + "/" + c.dist
	if c.named {
		s += "/named"
	} else {
		s += "/by-address"
	}
	if c.tag != "" {
		s += "/tag" + c.tag
	}
	return s
}

// placement writes c.keys through a nutcracker of c's pool and returns the
// router built from that nutcracker's own config file and, per key, the
// backend the key landed on.
func (p *backendPool) placement(t *testing.T, c routeCase) (*Router, map[string]int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, s := range p.servers {
		if err := s.Client.FlushAll(ctx).Err(); err != nil {
			t.Fatalf("flushall %s: %v", s.Addr, err)
		}
	}
	n, err := redistest.StartNutcracker(ctx, p.servers, redistest.NutcrackerOptions{
		Hash: c.hash, Distribution: c.dist, HashTag: c.tag, Servers: p.serverLines(c.named),
	})
	if err != nil {
		t.Fatalf("start nutcracker: %v", err) // a missing nutcracker fails, never skips
	}
	defer n.Stop()
	cfg, err := LoadConfig(n.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := cfg.Pool("")
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRouter(pool)
	if err != nil {
		t.Fatal(err)
	}
	const batch = 2000
	for i := 0; i < len(c.keys); i += batch {
		pipe := n.Client.Pipeline()
		for _, k := range c.keys[i:min(i+batch, len(c.keys))] {
			pipe.Set(ctx, string(k), "v", 0)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatalf("%s: write through nutcracker: %v\n%s", c, err, n.LogTail(10))
		}
	}
	where := map[string]int{}
	for i, s := range p.servers {
		keys, err := s.Client.Keys(ctx, "*").Result()
		if err != nil {
			t.Fatalf("keys on %s: %v", s.Addr, err)
		}
		for _, k := range keys {
			if prev, dup := where[k]; dup {
				t.Fatalf("%s: key %q on backends %d and %d", c, k, prev, i)
			}
			where[k] = i
		}
	}
	if len(where) != len(c.keys) {
		t.Fatalf("%s: %d keys on the backends, %d written", c, len(where), len(c.keys))
	}
	return r, where
}

// check compares the router with nutcracker's placement: every key must be
// on the backend the router names.
func (p *backendPool) check(t *testing.T, c routeCase, r *Router, where map[string]int) {
	t.Helper()
	bad := 0
	for _, k := range c.keys {
		want := p.byAddr[r.Server(k).Addr]
		if got := where[string(k)]; got != want {
			if bad < 5 {
				t.Errorf("%s: key %q: nutcracker put it on backend %d, the router names %d (%s)", c, k, got, want, r.Server(k).Ident)
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d keys placed differently", c, bad, len(c.keys))
	}
}

// TestRouterMatchesNutcracker writes 10,000 keys through a real nutcracker
// for every hash function × {ketama, modula} × {named servers, servers by
// address}, with weights 3, 1, 2, and checks that each key sits on the
// backend the Router names; then pools with hash tags.
func TestRouterMatchesNutcracker(t *testing.T) {
	start := time.Now()
	p := startBackends(t)
	keys := testKeys(keysPerCase)
	var vectors []string
	for _, h := range Hashes {
		for _, dist := range []string{DistKetama, DistModula} {
			for _, named := range []bool{true, false} {
				c := routeCase{hash: h, dist: dist, named: named, keys: keys}
				r, where := p.placement(t, c)
				p.check(t, c, r, where)
				if named {
					for _, k := range keys[:vectorsPerRun] {
						vectors = append(vectors, fmt.Sprintf("%s %s - %x %s", h, dist, k, namedLayout[where[string(k)]].name))
					}
				}
			}
		}
	}
	tagKeys := hashTagKeys()
	for _, c := range []routeCase{
		{hash: HashFNV1a_64, dist: DistKetama, tag: "{}", named: true, keys: tagKeys},
		{hash: HashMurmur, dist: DistModula, tag: "{}", named: true, keys: tagKeys},
		{hash: HashCRC16, dist: DistKetama, tag: "::", named: true, keys: tagKeys},
	} {
		r, where := p.placement(t, c)
		p.check(t, c, r, where)
		checkTagsTogether(t, c, where)
		for _, k := range tagKeys[:vectorsPerRun] {
			vectors = append(vectors, fmt.Sprintf("%s %s %s %x %s", c.hash, c.dist, c.tag, k, namedLayout[where[string(k)]].name))
		}
	}
	if *writeVectors && !t.Failed() {
		saveVectors(t, vectors)
	}
	t.Logf("%d cases of %d keys in %v", len(Hashes)*4+3, keysPerCase, time.Since(start).Round(time.Millisecond))
}

// hashTagKeys are keys sharing tags ("{user1000}:a", "x{user1000}y"), keys
// whose tag is empty ("{}x") or unclosed ("{x"), and keys whose part between
// the second pair of characters would differ (for the "::" tag:
// "a:t7:b" and "c:t7:d:e").
func hashTagKeys() [][]byte {
	var keys [][]byte
	for i := range keysPerCase / 10 {
		keys = append(keys,
			fmt.Appendf(nil, "{user%d}:a", i),
			fmt.Appendf(nil, "x{user%d}y", i),
			fmt.Appendf(nil, "{user%d}}{other}", i),
			fmt.Appendf(nil, "{}%d", i),
			fmt.Appendf(nil, "{x%d", i),
			fmt.Appendf(nil, "}%d{", i),
			fmt.Appendf(nil, "a:t%d:b", i),
			fmt.Appendf(nil, "c:t%d:d:e", i),
			fmt.Appendf(nil, "::%d", i),
			fmt.Appendf(nil, "plain%d", i),
		)
	}
	return keys
}

// checkTagsTogether checks, from nutcracker's placement alone, that keys
// whose tagged part is the same sit on one backend.
func checkTagsTogether(t *testing.T, c routeCase, where map[string]int) {
	t.Helper()
	tag := []byte(c.tag)
	group := map[string]int{}
	for _, k := range c.keys {
		part := string(hashedPart(k, tag))
		if part == string(k) {
			continue
		}
		if b, ok := group[part]; ok && b != where[string(k)] {
			t.Errorf("%s: key %q (tag %q) on backend %d, another of its tag on %d", c, k, part, where[string(k)], b)
		}
		group[part] = where[string(k)]
	}
	if len(group) < keysPerCase/10 {
		t.Errorf("%s: only %d tags seen", c, len(group))
	}
}

func saveVectors(t *testing.T, vectors []string) {
	t.Helper()
	var b strings.Builder
	b.WriteString(`# Where a real nutcracker 0.5.0 (Debian 0.5.0+dfsg-2) put each key, written by
#   go test ./twemproxy -run TestRouterMatchesNutcracker -write-vectors
# The pool's servers: weights 3, 1, 2 named gamma-node, b, alpha (see namedLayout).
# Fields: hash distribution hash_tag ("-" for none) key (hex) server name.
`)
	for _, v := range vectors {
		b.WriteString(v + "\n")
	}
	if err := os.WriteFile(filepath.FromSlash(vectorsFile), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %d vectors to %s", len(vectors), vectorsFile)
}

// readVectors parses vectorsFile.
func readVectors(t *testing.T) []routeVector {
	t.Helper()
	f, err := os.Open(filepath.FromSlash(vectorsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var vs []routeVector
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fs := strings.Fields(line)
		if len(fs) != 5 {
			t.Fatalf("bad vector line %q", line)
		}
		k, err := hex.DecodeString(fs[3])
		if err != nil {
			t.Fatalf("bad key in %q: %v", line, err)
		}
		v := routeVector{hash: fs[0], dist: fs[1], tag: fs[2], key: k, server: fs[4]}
		if v.tag == "-" {
			v.tag = ""
		}
		vs = append(vs, v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return vs
}

type routeVector struct {
	hash, dist, tag string
	key             []byte
	server          string
}
