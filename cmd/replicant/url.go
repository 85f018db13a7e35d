package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/replicant/replicant/replicate"
)

// endpoint is a parsed redis:// or rediss:// URL.
type endpoint struct {
	Addr     string   // the first address
	Addrs    []string // every address, for redis://host1:port1,host2:port2
	Username string
	Password string
	TLS      bool
	Cluster  bool // redis+cluster:// or rediss+cluster://
}

// parseEndpoint accepts redis://[user:pass@]host[:port], rediss://... and
// redis+cluster:// or rediss+cluster:// for a Redis Cluster.
// A bare host:port is taken as redis://host:port. A URL names servers
// only: a database path (/5) or a query (?...) is refused, as what they
// would mean is set by flags.
func parseEndpoint(raw string) (endpoint, error) {
	if raw == "" {
		return endpoint{}, fmt.Errorf("empty URL")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return bareEndpoint(raw)
	}
	var ep endpoint
	switch u.Scheme {
	case "redis":
	case "rediss":
		ep.TLS = true
	case "redis+cluster":
		ep.Cluster = true
	case "rediss+cluster":
		ep.TLS, ep.Cluster = true, true
	default:
		return endpoint{}, fmt.Errorf("%q: scheme %q is not redis://, rediss:// or redis+cluster://", redact(raw), u.Scheme)
	}
	for _, hp := range strings.Split(u.Host, ",") {
		addr, err := hostPort(hp)
		if err != nil {
			return endpoint{}, fmt.Errorf("%q: %w", redact(raw), err)
		}
		ep.Addrs = append(ep.Addrs, addr)
	}
	ep.Addr = ep.Addrs[0]
	if err := serversOnly(u); err != nil {
		return endpoint{}, fmt.Errorf("%q: %w", redact(raw), err)
	}
	if u.User != nil {
		ep.Username = u.User.Username()
		ep.Password, _ = u.User.Password()
		if _, set := u.User.Password(); !set { // redis://secret@host: the password alone
			ep.Password, ep.Username = ep.Username, ""
		}
	}
	if ep.Username == "default" {
		ep.Username = ""
	}
	return ep, nil
}

// bareEndpoint takes raw, which has no URL host, as a bare host:port.
func bareEndpoint(raw string) (endpoint, error) {
	if strings.Contains(raw, "://") { // "redis://", "redis:///0"
		return endpoint{}, fmt.Errorf("%q has no host: want redis://[user:password@]host[:port]", redact(raw))
	}
	host, port, err := net.SplitHostPort(raw)
	if err != nil || host == "" || port == "" || strings.ContainsAny(raw, "/?#@") {
		return endpoint{}, fmt.Errorf("%q is not a redis:// URL", redact(raw))
	}
	addr, err := hostPort(raw)
	if err != nil {
		return endpoint{}, fmt.Errorf("%q: %w", redact(raw), err)
	}
	return endpoint{Addr: addr, Addrs: []string{addr}}, nil
}

// serversOnly refuses the parts of a URL that name more than servers: a
// database path, a query, a fragment. A sync copies every database, each
// into the same number, unless --db or --db-map say otherwise; connection
// settings are flags too.
func serversOnly(u *url.URL) error {
	switch path := strings.TrimPrefix(u.EscapedPath(), "/"); {
	case path != "":
		if _, err := strconv.Atoi(path); err == nil {
			return fmt.Errorf("a database in the URL (/%s) is not read: use --db %s to copy (or compare) only database %s, "+
				"or --db-map FROM=TO to write source database FROM into target database TO", path, path, path)
		}
		return fmt.Errorf("a path in the URL (/%s) is not read: give the server as redis://[user:password@]host[:port]", path)
	case u.RawQuery != "" || u.ForceQuery:
		return fmt.Errorf("a query in the URL (?...) is not read: set connection options with flags (see --help)")
	case u.Fragment != "":
		return fmt.Errorf("a fragment in the URL (#...) is not read")
	}
	return nil
}

// hostPort normalizes host[:port], 6379 by default.
func hostPort(hp string) (string, error) {
	u, err := url.Parse("redis://" + hp)
	if err != nil || u.Hostname() == "" {
		return "", fmt.Errorf("bad address %q", hp)
	}
	port := u.Port()
	if port == "" {
		port = "6379"
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return "", fmt.Errorf("bad port %q: want 1 to 65535", port)
	}
	return net.JoinHostPort(u.Hostname(), port), nil
}

// redact returns the URL with its password, query and fragment (which
// may hold one: ?password=) replaced, for messages and logs.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err == nil && (u.RawQuery != "" || u.ForceQuery || u.Fragment != "") {
		if u.RawQuery != "" || u.ForceQuery {
			u.RawQuery, u.ForceQuery = "xxxxx", false
		}
		if u.Fragment != "" {
			u.Fragment, u.RawFragment = "xxxxx", ""
		}
		raw = u.String()
	}
	if err != nil || u.User == nil {
		// Unparsable, or no user part as url sees it: mask whatever stands
		// before the last "@" all the same.
		i := strings.LastIndexByte(raw, '@')
		if i < 0 {
			return raw
		}
		if scheme, rest, ok := strings.Cut(raw[:i], "://"); ok && !strings.Contains(rest, "/") {
			return scheme + "://xxxxx" + raw[i:]
		}
		return "xxxxx" + raw[i:]
	}
	if _, set := u.User.Password(); set {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	} else {
		u.User = url.User("xxxxx")
	}
	return u.String()
}

// tlsOptions are the flags that shape TLS connections to rediss:// URLs.
type tlsOptions struct {
	CAFile     string
	CertFile   string
	KeyFile    string
	Insecure   bool
	ServerName string
}

func (o tlsOptions) config(addr string) (*tls.Config, error) {
	host, _, _ := net.SplitHostPort(addr)
	cfg := &tls.Config{ServerName: host, InsecureSkipVerify: o.Insecure, MinVersion: tls.VersionTLS12}
	if o.ServerName != "" {
		cfg.ServerName = o.ServerName
	}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("--tls-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--tls-ca %s: no PEM certificate found", o.CAFile)
		}
		cfg.RootCAs = pool
	}
	if o.CertFile != "" || o.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// forSync is ep as the sync engine takes it: raw (redacted) names it in
// logs, and tlsCfg applies when ep is rediss://.
func (ep endpoint) forSync(raw string, tlsCfg *tls.Config) replicate.Endpoint {
	e := replicate.Endpoint{Addrs: ep.Addrs, Username: ep.Username, Password: ep.Password,
		Cluster: ep.Cluster, Name: redact(raw)}
	if ep.TLS {
		e.TLS = tlsCfg
	}
	return e
}
