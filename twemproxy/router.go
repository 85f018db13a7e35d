package twemproxy

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

const (
	ketamaPointsPerServer = 160 // continuum points per server at the mean weight
	ketamaPointsPerHash   = 4   // points taken from one MD5 digest
	ketamaMaxHostLen      = 86  // nutcracker's buffer for "ident-n", NUL included
)

// ErrRandom is returned by NewRouter for a pool with distribution random:
// nutcracker sends each request to a random server, so no router can say
// where a key is.
var ErrRandom = errors.New("twemproxy: distribution random puts each request on a random server: no key has a place to mirror; use ketama or modula")

// Router names the server nutcracker 0.5 picks for a key in one pool, with
// every server live (auto_eject_hosts ejects none). It is safe for
// concurrent use.
type Router struct {
	pool   *Pool
	hash   HashFunc
	tag    []byte  // the two hash tag characters, or nil
	order  []int   // nutcracker's server order: positions in pool.Servers
	dist   []point // ketama: the continuum, sorted; modula: one entry per unit of weight
	ketama bool
	total  uint32 // modula: the total weight
}

// point is one point of the continuum: a hash value and the server (its
// position in pool.Servers) that owns the arc ending there.
type point struct {
	value  uint32
	server int
}

// NewRouter builds the router of pool: its hash, hash tag and the
// distribution's continuum, as nutcracker builds them at start. An empty
// Hash or Distribution means nutcracker's default (fnv1a_64, ketama).
func NewRouter(pool *Pool) (*Router, error) {
	hashName := pool.Hash
	if hashName == "" {
		hashName = DefaultHash
	}
	h, err := Hash(hashName)
	if err != nil {
		return nil, err
	}
	if len(pool.Servers) == 0 {
		return nil, fmt.Errorf("twemproxy: pool %q has no servers", pool.Name)
	}
	if pool.HashTag != "" && len(pool.HashTag) != 2 {
		return nil, fmt.Errorf("twemproxy: pool %q: hash_tag %q is not two characters", pool.Name, pool.HashTag)
	}
	r := &Router{pool: pool, hash: h, order: serverOrder(pool.Servers)}
	if pool.HashTag != "" {
		r.tag = []byte(pool.HashTag)
	}
	switch pool.Distribution {
	case DistKetama, "":
		r.ketama = true
		r.dist, err = ketamaContinuum(pool.Servers, r.order)
	case DistModula:
		r.dist, r.total, err = modulaContinuum(pool.Servers, r.order)
	case DistRandom:
		return nil, ErrRandom
	default:
		return nil, fmt.Errorf("twemproxy: pool %q: unknown distribution %q", pool.Name, pool.Distribution)
	}
	if err != nil {
		return nil, fmt.Errorf("twemproxy: pool %q: %w", pool.Name, err)
	}
	return r, nil
}

// Pool is the pool the router routes for.
func (r *Router) Pool() *Pool { return r.pool }

// Index returns the position in Pool().Servers of the server that holds
// key.
func (r *Router) Index(key []byte) int {
	if len(r.pool.Servers) == 1 {
		return 0 // nutcracker does not hash at all for a single server
	}
	hv := r.hash(r.HashedPart(key))
	if r.ketama {
		// The first point at or after the hash, wrapping past the last.
		i := r.search(hv)
		if i == len(r.dist) {
			i = 0
		}
		return r.dist[i].server
	}
	// Entry hv % total is in the run of the first server whose run ends
	// after it.
	return r.dist[r.search(hv%r.total+1)].server
}

// search returns the first point whose value is at least v.
func (r *Router) search(v uint32) int {
	i, _ := slices.BinarySearchFunc(r.dist, v, func(p point, v uint32) int {
		if p.value < v {
			return -1
		}
		if p.value > v {
			return 1
		}
		return 0
	})
	return i
}

// IndexString is Index for a key held in a string.
func (r *Router) IndexString(key string) int { return r.Index([]byte(key)) }

// Server returns the server that holds key.
func (r *Router) Server(key []byte) Server { return r.pool.Servers[r.Index(key)] }

// HashedPart returns the part of key that nutcracker hashes: with a hash
// tag "ab", the bytes between the first 'a' and the first 'b' after it
// when both are found and at least one byte lies between them; else the
// whole key.
func (r *Router) HashedPart(key []byte) []byte {
	return hashedPart(key, r.tag)
}

func hashedPart(key, tag []byte) []byte {
	if len(tag) != 2 {
		return key
	}
	start := bytes.IndexByte(key, tag[0])
	if start < 0 {
		return key
	}
	end := bytes.IndexByte(key[start+1:], tag[1])
	if end <= 0 { // not found, or nothing between the two
		return key
	}
	return key[start+1 : start+1+end]
}

// serverOrder is the order nutcracker keeps a pool's servers in after
// checking them at start: sorted by Ident, shorter first, then bytewise
// (its string_compare). It returns positions in servers.
func serverOrder(servers []Server) []int {
	order := make([]int, len(servers))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		x, y := servers[a].Ident, servers[b].Ident
		if len(x) != len(y) {
			return len(x) - len(y)
		}
		return strings.Compare(x, y)
	})
	return order
}

// modulaContinuum is nutcracker's modula table, which lists each server,
// in nutcracker's order, once per unit of its weight; a key goes to entry
// hash % total weight. It is kept here as one point per server whose value
// is the end of its run of entries, so a weight of a million costs nothing.
func modulaContinuum(servers []Server, order []int) ([]point, uint32, error) {
	var dist []point
	var total uint64
	for _, i := range order {
		total += uint64(servers[i].Weight)
		if total > math.MaxUint32 {
			return nil, 0, errors.New("the servers' weights add up to more than 2^32-1")
		}
		dist = append(dist, point{value: uint32(total), server: i})
	}
	return dist, uint32(total), nil
}

// ketamaContinuum builds nutcracker's ketama ring: each server gets
// floor(weight/total * 40 * nservers) groups of four points (computed in
// single precision, as nutcracker does), group n taking the four
// little-endian words of md5("<ident>-<n>").
func ketamaContinuum(servers []Server, order []int) ([]point, error) {
	total := 0
	for _, s := range servers {
		total += s.Weight
	}
	n := len(servers)
	var dist []point
	for _, i := range order {
		s := servers[i]
		groups := ketamaGroups(s.Weight, total, n)
		last := s.Ident + "-" + strconv.Itoa(max(groups-1, 0))
		if len(last) >= ketamaMaxHostLen {
			return nil, fmt.Errorf("server %q: name too long for nutcracker's ketama (%d bytes with its point number; it keeps %d)", s.Ident, len(last), ketamaMaxHostLen-1)
		}
		for g := range groups {
			sum := md5Sum(s.Ident + "-" + strconv.Itoa(g))
			for x := range ketamaPointsPerHash {
				v := uint32(sum[4*x]) | uint32(sum[4*x+1])<<8 | uint32(sum[4*x+2])<<16 | uint32(sum[4*x+3])<<24
				dist = append(dist, point{value: v, server: i})
			}
		}
	}
	// nutcracker's qsort leaves equal values in no defined order; ties
	// (two 32-bit points equal) are broken here by nutcracker's server order.
	rank := make([]int, len(servers))
	for r, i := range order {
		rank[i] = r
	}
	slices.SortStableFunc(dist, func(a, b point) int {
		if a.value != b.value {
			if a.value < b.value {
				return -1
			}
			return 1
		}
		return rank[a.server] - rank[b.server]
	})
	if len(dist) == 0 {
		return nil, errors.New("the ketama continuum is empty")
	}
	return dist, nil
}

// ketamaGroups is the number of four-point groups of a server:
// floorf(pct * 160 / 4 * nservers + 1e-10) with pct = weight / total in
// float, the sum taken in double (1e-10 is a double constant in C) and
// rounded back to float before the floor.
func ketamaGroups(weight, total, nservers int) int {
	pct := float32(weight) / float32(total)
	v := float32(pct * float32(ketamaPointsPerServer))
	v = float32(v / float32(ketamaPointsPerHash))
	v = float32(v * float32(nservers))
	sum := float32(float64(v) + 0.0000000001)
	return int(math.Floor(float64(sum)))
}
