package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
)

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

// checkPair refuses a client certificate without its key, and the
// reverse.
func (o tlsOptions) checkPair() error {
	switch {
	case o.CertFile != "" && o.KeyFile == "":
		return fmt.Errorf("--tls-cert needs --tls-key, the certificate's private key")
	case o.KeyFile != "" && o.CertFile == "":
		return fmt.Errorf("--tls-key needs --tls-cert, the certificate it is the key of")
	}
	return nil
}
