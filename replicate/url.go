package replicate

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// ParseURL reads an Endpoint from a URL: redis://[user:password@]host[:port],
// rediss://... for TLS, and redis+cluster:// or rediss+cluster:// for a
// Redis Cluster (Endpoint.Cluster). Several servers are a comma list
// (redis://host1:port1,host2:port2: a master and the replicas that may
// replace it, or a cluster's seed nodes). A bare host:port is taken as
// redis://host:port, and the port is 6379 when it is left out. A password
// alone (redis://secret@host) is the default user's, as is the user
// "default".
//
// A URL names servers only: a database path (/5), a query (?...) or a
// fragment is refused, as what they would mean is set elsewhere (Config,
// or cmd/replicant's flags). For rediss:// the Endpoint's TLS is a default
// configuration (the system's CA certificates, each server's host
// verified); replace it to load other certificates. Name is the URL
// without its password (Redact). Errors show the URL redacted too.
func ParseURL(raw string) (Endpoint, error) {
	if raw == "" {
		return Endpoint{}, fmt.Errorf("empty URL")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return bareEndpoint(raw)
	}
	ep := Endpoint{Name: Redact(raw)}
	switch u.Scheme {
	case "redis":
	case "rediss":
		ep.TLS = defaultTLS()
	case "redis+cluster":
		ep.Cluster = true
	case "rediss+cluster":
		ep.TLS, ep.Cluster = defaultTLS(), true
	default:
		return Endpoint{}, fmt.Errorf("%q: scheme %q is not redis://, rediss:// or redis+cluster://", Redact(raw), u.Scheme)
	}
	for _, hp := range strings.Split(u.Host, ",") {
		addr, err := hostPort(hp)
		if err != nil {
			return Endpoint{}, fmt.Errorf("%q: %w", Redact(raw), err)
		}
		ep.Addrs = append(ep.Addrs, addr)
	}
	if err := serversOnly(u); err != nil {
		return Endpoint{}, fmt.Errorf("%q: %w", Redact(raw), err)
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

// defaultTLS is the TLS setting of a rediss:// URL.
func defaultTLS() *tls.Config { return &tls.Config{MinVersion: tls.VersionTLS12} }

// bareEndpoint takes raw, which has no URL host, as a bare host:port.
func bareEndpoint(raw string) (Endpoint, error) {
	if strings.Contains(raw, "://") { // "redis://", "redis:///0"
		return Endpoint{}, fmt.Errorf("%q has no host: want redis://[user:password@]host[:port]", Redact(raw))
	}
	host, port, err := net.SplitHostPort(raw)
	if err != nil || host == "" || port == "" || strings.ContainsAny(raw, "/?#@") {
		return Endpoint{}, fmt.Errorf("%q is not a redis:// URL", Redact(raw))
	}
	addr, err := hostPort(raw)
	if err != nil {
		return Endpoint{}, fmt.Errorf("%q: %w", Redact(raw), err)
	}
	return Endpoint{Addrs: []string{addr}, Name: Redact(raw)}, nil
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

// Redact returns the URL with its password, query and fragment (which
// may hold one: ?password=) replaced by "xxxxx", for messages and logs.
// What cannot be parsed loses whatever stands before its last "@".
func Redact(raw string) string {
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
