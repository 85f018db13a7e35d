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
// A bare host:port is taken as redis://host:port.
func parseEndpoint(raw string) (endpoint, error) {
	if raw == "" {
		return endpoint{}, fmt.Errorf("empty URL")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		if _, _, splitErr := net.SplitHostPort(raw); splitErr == nil {
			return endpoint{Addr: raw, Addrs: []string{raw}}, nil
		}
		return endpoint{}, fmt.Errorf("%q is not a redis:// URL", redact(raw))
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
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return "", fmt.Errorf("bad port %q", port)
	}
	return net.JoinHostPort(u.Hostname(), port), nil
}

// redact returns the URL with its password replaced, for messages and logs.
func redact(raw string) string {
	u, err := url.Parse(raw)
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
