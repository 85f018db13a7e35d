package twemproxy

import (
	"errors"
	"fmt"
	"testing"
)

// fakeServers returns n servers on made-up addresses, weight 1, no names.
func fakeServers(n int) []Server {
	var ss []Server
	for i := range n {
		s, err := ParseServer(fmt.Sprintf("10.0.0.%d:6379:1", i+1))
		if err != nil {
			panic(err)
		}
		s.Index = i
		ss = append(ss, s)
	}
	return ss
}

// namedPool is the pool of the saved vectors: namedLayout's names and
// weights on made-up addresses (named servers are placed by name only).
func namedPool(hash, dist, tag string) *Pool {
	p := &Pool{Name: "vectors", Listen: "127.0.0.1:22121", Hash: hash, Distribution: dist, HashTag: tag}
	for i, l := range namedLayout {
		s, err := ParseServer(fmt.Sprintf("192.0.2.%d:%d:%d %s", i+1, 7000+i, l.weight, l.name))
		if err != nil {
			panic(err)
		}
		s.Index = i
		p.Servers = append(p.Servers, s)
	}
	return p
}

// TestRouterVectors replays where a real nutcracker put keys (saved by
// TestRouterMatchesNutcracker -write-vectors) without running one.
func TestRouterVectors(t *testing.T) {
	vs := readVectors(t)
	if len(vs) < len(Hashes)*2*vectorsPerRun {
		t.Fatalf("only %d vectors in %s", len(vs), vectorsFile)
	}
	routers := map[string]*Router{}
	seen := map[string]bool{}
	for _, v := range vs {
		id := v.hash + " " + v.dist + " " + v.tag
		r := routers[id]
		if r == nil {
			var err error
			if r, err = NewRouter(namedPool(v.hash, v.dist, v.tag)); err != nil {
				t.Fatal(err)
			}
			routers[id] = r
		}
		seen[v.hash+" "+v.dist] = true
		if got := r.Server(v.key).Name; got != v.server {
			t.Errorf("%s: key %q: router names %s, nutcracker put it on %s", id, v.key, got, v.server)
		}
	}
	for _, h := range Hashes {
		for _, d := range []string{DistKetama, DistModula} {
			if !seen[h+" "+d] {
				t.Errorf("no vectors for %s %s", h, d)
			}
		}
	}
}

func TestHashedPart(t *testing.T) {
	for _, c := range []struct{ tag, key, want string }{
		{"", "{a}b", "{a}b"},
		{"{}", "{user1}:a", "user1"},
		{"{}", "x{user1}y{z}", "user1"},
		{"{}", "{}user1", "{}user1"}, // empty tag: the whole key
		{"{}", "{user1", "{user1"},   // no closing character
		{"{}", "}user1{", "}user1{"}, // closing before opening
		{"{}", "{{a}}", "{a"},        // the first '}' after the first '{'
		{"{}", "a{}{b}", "a{}{b}"},   // the first pair is empty: no second look
		{"::", "a:t7:b", "t7"},       // the same character twice
		{"::", "a::b", "a::b"},       // nothing between
		{"$$", "$", "$"},             // one character
		{"ab", "xaYYbZZ", "YY"},      // any two characters
		{"{}", "\xff{\x80}", "\x80"}, // binary
		{"{}", "", ""},               // empty key
		{"{}", "{x}", "x"},           // the whole key is a tag
		{"{}", "{ab}c}", "ab"},       // stops at the first closing one
		{"{}", "pre{}mid{x}post", "pre{}mid{x}post"},
	} {
		var tag []byte
		if c.tag != "" {
			tag = []byte(c.tag)
		}
		if got := string(hashedPart([]byte(c.key), tag)); got != c.want {
			t.Errorf("tag %q key %q: hashed %q, want %q", c.tag, c.key, got, c.want)
		}
	}
}

func TestKetamaGroups(t *testing.T) {
	for _, c := range []struct{ w, total, n, want int }{
		{1, 3, 3, 40}, // equal weights: 160 points each
		{3, 6, 3, 60}, // weights 3, 1, 2
		{1, 6, 3, 20},
		{2, 6, 3, 40},
		{1, 1, 1, 40},
		{1, 7, 3, 17},  // 17.14...
		{5, 7, 3, 85},  // 85.71...
		{1, 3, 2, 26},  // 26.66...
		{1, 100, 2, 0}, // 0.8: no points at all
	} {
		if got := ketamaGroups(c.w, c.total, c.n); got != c.want {
			t.Errorf("ketamaGroups(%d, %d, %d) = %d, want %d", c.w, c.total, c.n, got, c.want)
		}
	}
}

func TestServerOrder(t *testing.T) {
	p := namedPool(HashMD5, DistModula, "")
	got := serverOrder(p.Servers)
	// "b" (1 byte), "alpha" (5), "gamma-node" (10): shorter first.
	want := []int{1, 2, 0}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("order %v, want %v", got, want)
	}
	ss := []Server{{Ident: "bb"}, {Ident: "ab"}, {Ident: "c"}}
	if got := fmt.Sprint(serverOrder(ss)); got != "[2 1 0]" {
		t.Fatalf("order %v, want [2 1 0]", got)
	}
}

func TestModulaWeights(t *testing.T) {
	r, err := NewRouter(namedPool(HashCRC32a, DistModula, ""))
	if err != nil {
		t.Fatal(err)
	}
	// b (weight 1), alpha (2), gamma-node (3): entries 0 | 1 2 | 3 4 5.
	want := []int{1, 2, 2, 0, 0, 0}
	if r.total != 6 {
		t.Fatalf("total %d, want 6", r.total)
	}
	for entry, w := range want {
		if got := r.dist[r.search(uint32(entry)+1)].server; got != w {
			t.Errorf("entry %d: server %d, want %d", entry, got, w)
		}
	}
	big := fakeServers(2)
	big[0].Weight, big[1].Weight = 999999999, 999999999
	if _, err := NewRouter(&Pool{Name: "big", Hash: HashMD5, Distribution: DistModula, Servers: big}); err != nil {
		t.Errorf("weights of 999999999: %v", err)
	}
	many := fakeServers(5)
	for i := range many {
		many[i].Weight = 999999999
	}
	if _, err := NewRouter(&Pool{Name: "many", Hash: HashMD5, Distribution: DistModula, Servers: many}); err == nil {
		t.Error("weights over 2^32 accepted")
	}
}

func TestKetamaContinuum(t *testing.T) {
	r, err := NewRouter(namedPool(HashMD5, DistKetama, ""))
	if err != nil {
		t.Fatal(err)
	}
	count := map[int]int{}
	for i, p := range r.dist {
		count[p.server]++
		if i > 0 && r.dist[i-1].value > p.value {
			t.Fatalf("continuum not sorted at %d", i)
		}
	}
	// Weights 3, 1, 2 of 6 over 3 servers: 240, 80 and 160 points.
	if count[0] != 240 || count[1] != 80 || count[2] != 160 {
		t.Fatalf("points per server %v, want 240/80/160", count)
	}
}

func TestRouterDefaults(t *testing.T) {
	a, err := NewRouter(&Pool{Name: "defaults", Servers: namedPool("", "", "").Servers})
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewRouter(namedPool(DefaultHash, DefaultDistribution, ""))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range testKeys(500) {
		if a.Index(k) != b.Index(k) {
			t.Fatalf("key %q: %d with empty hash and distribution, %d with the defaults", k, a.Index(k), b.Index(k))
		}
	}
}

func TestRouterRefusesRandom(t *testing.T) {
	_, err := NewRouter(&Pool{Name: "p", Hash: HashMD5, Distribution: DistRandom, Servers: fakeServers(2)})
	if !errors.Is(err, ErrRandom) {
		t.Fatalf("got %v, want ErrRandom", err)
	}
}

func TestRouterErrors(t *testing.T) {
	for _, p := range []*Pool{
		{Name: "nohash", Hash: "sha1", Distribution: DistKetama, Servers: fakeServers(2)},
		{Name: "nodist", Hash: HashMD5, Distribution: "rendezvous", Servers: fakeServers(2)},
		{Name: "noservers", Hash: HashMD5, Distribution: DistKetama},
		{Name: "badtag", Hash: HashMD5, Distribution: DistKetama, HashTag: "{", Servers: fakeServers(2)},
		{Name: "longname", Hash: HashMD5, Distribution: DistKetama, Servers: []Server{{Ident: string(make([]byte, 90)), Weight: 1}, {Ident: "x", Weight: 1}}},
	} {
		if _, err := NewRouter(p); err == nil {
			t.Errorf("pool %s: no error", p.Name)
		}
	}
}

func TestRouterSingleServer(t *testing.T) {
	for _, d := range []string{DistKetama, DistModula} {
		r, err := NewRouter(&Pool{Name: "one", Hash: HashMurmur, Distribution: d, Servers: fakeServers(1)})
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"a", "b", "{x}", ""} {
			if i := r.IndexString(k); i != 0 {
				t.Errorf("%s: key %q on %d", d, k, i)
			}
		}
	}
}

// TestRouterSpread checks that every server gets keys in proportion to its
// weight (roughly), for each hash and distribution.
func TestRouterSpread(t *testing.T) {
	keys := testKeys(6000)
	for _, h := range Hashes {
		for _, d := range []string{DistKetama, DistModula} {
			r, err := NewRouter(namedPool(h, d, ""))
			if err != nil {
				t.Fatal(err)
			}
			count := make([]int, 3)
			for _, k := range keys {
				count[r.Index(k)]++
			}
			if h == HashCRC32 && d == DistKetama {
				// crc32 yields 15 bits: every key hashes below the
				// ring's first point or so, onto one server, in
				// nutcracker as here.
				if used := countNonZero(count); used != 1 {
					t.Errorf("crc32/ketama: keys on %d servers %v, want 1", used, count)
				}
				continue
			}
			for i, l := range namedLayout {
				if count[i] == 0 {
					t.Errorf("%s/%s: no key on %s (weight %d)", h, d, l.name, l.weight)
				}
			}
		}
	}
}

func countNonZero(xs []int) int {
	n := 0
	for _, x := range xs {
		if x != 0 {
			n++
		}
	}
	return n
}
