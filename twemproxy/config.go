package twemproxy

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Distribution names, as nutcracker's `distribution:` directive spells them.
const (
	DistKetama = "ketama"
	DistModula = "modula"
	DistRandom = "random"
)

// Defaults nutcracker 0.5 applies to a pool that leaves a directive out.
const (
	DefaultHash         = HashFNV1a_64
	DefaultDistribution = DistKetama
	ketamaDefaultPort   = 11211 // a server on it is placed by its host alone
)

// Config is a nutcracker configuration file: its pools in file order.
type Config struct {
	Pools []*Pool
}

// Pool is one pool of a nutcracker configuration, with nutcracker's
// defaults filled in for the directives it leaves out.
type Pool struct {
	Name           string   // the pool's key in the file
	Listen         string   // listen: "host:port" or "/path/to/socket [perm]"
	Hash           string   // hash: one of Hashes; default fnv1a_64
	HashTag        string   // hash_tag: two characters such as "{}"; "" for none
	Distribution   string   // distribution: ketama, modula or random; default ketama
	Redis          bool     // redis: true for a Redis pool, false for memcached
	RedisAuth      string   // redis_auth: the password of the servers; "" for none
	RedisDB        int      // redis_db: the database nutcracker selects on the servers
	AutoEjectHosts bool     // auto_eject_hosts: nutcracker drops failing servers from the ring
	Servers        []Server // servers: in the order the file lists them
	// Directives holds every directive of the pool as written, routing or
	// not (timeout, preconnect, server_retry_timeout, ...).
	Directives map[string]string
}

// Server is one entry of a pool's servers: "host:port:weight [name]" or
// "/path/to/socket:weight [name]".
type Server struct {
	Index  int    // position in the pool's servers list, from 0
	Addr   string // "host:port", or the socket path for a Unix socket
	Host   string // host, or the socket path
	Port   int    // 0 for a Unix socket
	Weight int    // at least 1
	Name   string // the optional name; "" when the entry has none
	// Ident is what nutcracker's ketama hashes to place the server and what
	// it sorts the servers by: Name if given, else "host:port" ("host"
	// alone on port 11211, "path:" for a Unix socket).
	Ident string
}

// Network is "unix" for a Unix socket server, else "tcp".
func (s Server) Network() string {
	if s.Port == 0 {
		return "unix"
	}
	return "tcp"
}

// directives nutcracker 0.5 knows; anything else makes it refuse the file.
var directives = map[string]bool{
	"listen": true, "hash": true, "hash_tag": true, "distribution": true,
	"timeout": true, "backlog": true, "client_connections": true,
	"redis": true, "redis_auth": true, "redis_db": true, "preconnect": true,
	"auto_eject_hosts": true, "server_connections": true,
	"server_retry_timeout": true, "server_failure_limit": true, "servers": true,
	"tcpkeepalive": true,
}

// LoadConfig reads and parses a nutcracker configuration file.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("twemproxy: %w", err)
	}
	c, err := ParseConfig(b)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return c, nil
}

// ParseConfig parses nutcracker's YAML: a mapping of pool names to their
// directives. It checks what nutcracker checks at start (known directives,
// listen present, valid hash and distribution, a two-character hash tag,
// servers with a port and a positive weight, no two servers of one name),
// so a file nutcracker refuses is refused here too.
func ParseConfig(data []byte) (*Config, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("twemproxy: config: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("twemproxy: config: want a mapping of pool names to pools")
	}
	root := doc.Content[0]
	c := &Config{}
	seen := map[string]bool{}
	listens := map[string]string{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		name := root.Content[i].Value
		if seen[name] {
			return nil, fmt.Errorf("twemproxy: config: two pools named %q", name)
		}
		seen[name] = true
		p, err := parsePool(name, root.Content[i+1])
		if err != nil {
			return nil, fmt.Errorf("twemproxy: config: pool %q: %w", name, err)
		}
		if other, dup := listens[p.Listen]; dup {
			return nil, fmt.Errorf("twemproxy: config: pools %q and %q listen on the same address %s", other, name, p.Listen)
		}
		listens[p.Listen] = name
		c.Pools = append(c.Pools, p)
	}
	if len(c.Pools) == 0 {
		return nil, errors.New("twemproxy: config: no pools")
	}
	return c, nil
}

// Pool returns the pool called name; with name "" the only pool of the
// file (an error when there are several).
func (c *Config) Pool(name string) (*Pool, error) {
	if name == "" {
		if len(c.Pools) == 1 {
			return c.Pools[0], nil
		}
		return nil, fmt.Errorf("twemproxy: the config has %d pools (%s): name one", len(c.Pools), c.poolNames())
	}
	for _, p := range c.Pools {
		if p.Name == name {
			return p, nil
		}
	}
	return nil, fmt.Errorf("twemproxy: no pool %q in the config (it has %s)", name, c.poolNames())
}

// PoolListening returns the pool whose listen address is addr.
func (c *Config) PoolListening(addr string) (*Pool, error) {
	for _, p := range c.Pools {
		if p.Listen == addr {
			return p, nil
		}
	}
	return nil, fmt.Errorf("twemproxy: no pool listens on %s (the config has %s)", addr, c.poolNames())
}

// PickPool returns the pool a user means: the one called name when name is
// given; else the only pool of the file; else the pool listening on the
// proxy address listen ("host:port"): the one whose listen is exactly
// that, or failing it the only one listening on its port on a wildcard
// address (0.0.0.0, [::] or no host).
func (c *Config) PickPool(name, listen string) (*Pool, error) {
	if name != "" || len(c.Pools) == 1 {
		return c.Pool(name)
	}
	if listen == "" {
		return c.Pool("")
	}
	if p, err := c.PoolListening(listen); err == nil {
		return p, nil
	}
	_, port, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, fmt.Errorf("twemproxy: proxy address %q: %w", listen, err)
	}
	var found []*Pool
	for _, p := range c.Pools {
		host, pport, err := net.SplitHostPort(p.Listen)
		if err == nil && pport == port && (host == "" || host == "0.0.0.0" || host == "::") {
			found = append(found, p)
		}
	}
	if len(found) != 1 {
		return nil, fmt.Errorf("twemproxy: no pool listens on %s (the config has %s): name one", listen, c.poolNames())
	}
	return found[0], nil
}

func (c *Config) poolNames() string {
	names := make([]string, len(c.Pools))
	for i, p := range c.Pools {
		names[i] = strconv.Quote(p.Name) + " on " + p.Listen
	}
	return strings.Join(names, ", ")
}

func parsePool(name string, n *yaml.Node) (*Pool, error) {
	if n.Kind != yaml.MappingNode {
		return nil, errors.New("want a mapping of directives")
	}
	p := &Pool{Name: name, Hash: DefaultHash, Distribution: DefaultDistribution, Directives: map[string]string{}}
	var servers *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i].Value, n.Content[i+1]
		if !directives[key] {
			return nil, fmt.Errorf("directive %q is unknown to nutcracker", key)
		}
		if _, dup := p.Directives[key]; dup || (key == "servers" && servers != nil) {
			return nil, fmt.Errorf("directive %q is a duplicate", key)
		}
		if key == "servers" {
			if val.Kind != yaml.SequenceNode {
				return nil, errors.New("servers: want a list of \"host:port:weight [name]\"")
			}
			servers = val
			continue
		}
		if val.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("%s: want a single value (quote it: a hash_tag of {} must be written \"{}\")", key)
		}
		p.Directives[key] = val.Value
		if err := p.set(key, val.Value); err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
	}
	if p.Listen == "" {
		return nil, errors.New("directive \"listen\" is missing")
	}
	if servers == nil || len(servers.Content) == 0 {
		return nil, errors.New("no servers")
	}
	idents := map[string]bool{}
	for i, sn := range servers.Content {
		if sn.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("servers[%d]: want \"host:port:weight [name]\"", i)
		}
		s, err := ParseServer(sn.Value)
		if err != nil {
			return nil, fmt.Errorf("servers[%d]: %w", i, err)
		}
		if idents[s.Ident] {
			return nil, fmt.Errorf("servers[%d]: two servers named %q", i, s.Ident)
		}
		idents[s.Ident] = true
		s.Index = i
		p.Servers = append(p.Servers, s)
	}
	return p, nil
}

// set applies one scalar directive.
func (p *Pool) set(key, v string) error {
	var err error
	switch key {
	case "listen":
		err = checkListen(v)
		p.Listen = v
	case "hash":
		_, err = Hash(v)
		p.Hash = v
	case "hash_tag":
		if len(v) != 2 {
			return fmt.Errorf("%q is not two characters", v)
		}
		p.HashTag = v
	case "distribution":
		if v != DistKetama && v != DistModula && v != DistRandom {
			return fmt.Errorf("%q is not ketama, modula or random", v)
		}
		p.Distribution = v
	case "redis":
		p.Redis, err = parseBool(v)
	case "auto_eject_hosts":
		p.AutoEjectHosts, err = parseBool(v)
	case "preconnect", "tcpkeepalive":
		_, err = parseBool(v)
	case "redis_auth":
		p.RedisAuth = v
	case "redis_db":
		p.RedisDB, err = parseNum(v)
	default: // the other numbers
		_, err = parseNum(v)
	}
	return err
}

func checkListen(v string) error {
	if strings.HasPrefix(v, "/") {
		return nil
	}
	i := strings.LastIndexByte(v, ':')
	if i < 0 {
		return fmt.Errorf("%q is not \"host:port\"", v)
	}
	if _, err := parsePort(v[i+1:]); err != nil {
		return fmt.Errorf("%q: %w", v, err)
	}
	return nil
}

// parseBool takes exactly "true" or "false", as nutcracker does.
func parseBool(v string) (bool, error) {
	switch v {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("%q is not true or false", v)
}

// parseNum takes a non-negative decimal number of digits only, as
// nutcracker's nc_atoi does.
func parseNum(v string) (int, error) {
	if v == "" || len(v) > 9 {
		return 0, fmt.Errorf("%q is not a number", v)
	}
	n := 0
	for _, c := range []byte(v) {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%q is not a number", v)
		}
		n = n*10 + int(c-'0')
	}
	return n, nil
}

func parsePort(v string) (int, error) {
	n, err := parseNum(v)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("invalid port %q", v)
	}
	return n, nil
}

// ParseServer parses one entry of a pool's servers the way nutcracker
// does: from the end, an optional name after the last space, then the
// weight after the last colon, then (except for a Unix socket path, which
// starts with "/") the port after the colon before it.
func ParseServer(v string) (Server, error) {
	var s Server
	rest := v
	if i := strings.LastIndexByte(rest, ' '); i >= 0 {
		s.Name, rest = rest[i+1:], rest[:i]
		if s.Name == "" {
			return s, fmt.Errorf("%q: empty name after the space", v)
		}
	}
	i := strings.LastIndexByte(rest, ':')
	if i < 0 {
		return s, fmt.Errorf("%q is not \"host:port:weight [name]\"", v)
	}
	w, err := parseNum(rest[i+1:])
	if err != nil || w == 0 {
		return s, fmt.Errorf("%q: invalid weight %q (want a number from 1)", v, rest[i+1:])
	}
	s.Weight, rest = w, rest[:i]
	if strings.HasPrefix(v, "/") {
		s.Host, s.Addr = rest, rest
		s.Ident = rest + ":" // nutcracker's default name for a socket keeps the colon
	} else {
		j := strings.LastIndexByte(rest, ':')
		if j < 0 {
			return s, fmt.Errorf("%q is not \"host:port:weight [name]\"", v)
		}
		if s.Port, err = parsePort(rest[j+1:]); err != nil {
			return s, fmt.Errorf("%q: %w", v, err)
		}
		s.Host = rest[:j]
		s.Addr = net.JoinHostPort(strings.Trim(s.Host, "[]"), strconv.Itoa(s.Port))
		s.Ident = rest
		if s.Port == ketamaDefaultPort {
			s.Ident = s.Host
		}
	}
	if s.Host == "" {
		return s, fmt.Errorf("%q: no host", v)
	}
	if s.Name != "" {
		s.Ident = s.Name
	}
	return s, nil
}
