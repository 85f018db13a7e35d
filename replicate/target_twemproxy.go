package replicate

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/replicant/replicant/forwarder"
	"github.com/replicant/replicant/resp"
	"github.com/replicant/replicant/twemproxy"
)

func init() {
	writersOf[KindTwemproxy] = targetWriters{
		snapshot: func(ctx context.Context, t *target) (forwarder.SnapshotWriter, error) {
			cfg, err := t.proxyConfig()
			if err != nil {
				return nil, err
			}
			w, err := forwarder.DialProxySnapshot(ctx, cfg)
			if err != nil {
				return nil, err
			}
			return db0Only{w, forwarder.ErrProxyDB}, nil
		},
		stream: func(ctx context.Context, t *target) (forwarder.StreamWriter, error) {
			cfg, err := t.proxyConfig()
			if err != nil {
				return nil, err
			}
			return forwarder.DialProxyStream(ctx, cfg, t.checkpointKey)
		},
	}
}

// proxyConfig describes the twemproxy target: the connection settings, the
// key positions of the source's commands, and with --twemproxy-config the
// pool's servers (which take FLUSHALL directly).
func (t *target) proxyConfig() (forwarder.ProxyConfig, error) {
	cfg := forwarder.ProxyConfig{Config: t.cfg, Keys: t.commandKeys, KeyIndexes: t.commandKeyIndexes}
	if t.twemproxyConfig == "" {
		return cfg, nil
	}
	servers, err := nutcrackerServers(t.twemproxyConfig, t.twemproxyPool, t.cfg.Addr)
	if err != nil {
		return cfg, fatalError{fmt.Errorf("--twemproxy-config: %w", err)}
	}
	cfg.Backends = servers
	return cfg, nil
}

// poolServers lists the servers of a twemproxy target's pool: those
// written directly, or those of the pool the proxy listens with, read
// from --twemproxy-config; errCannotScan without one.
func (t *target) poolServers() ([]string, error) {
	switch {
	case t.kind == kindPool:
		return t.addrs, nil
	case t.twemproxyConfig == "":
		return nil, errCannotScan
	}
	return nutcrackerServers(t.twemproxyConfig, t.twemproxyPool, t.cfg.Addr)
}

// nutcrackerServers reads the addresses of the servers of a pool from a
// nutcracker.yml: the pool called name, else the one that listens on addr,
// else the only one.
func nutcrackerServers(path, name, addr string) ([]string, error) {
	cfg, err := twemproxy.LoadConfig(path)
	if err != nil {
		return nil, err
	}
	pool, err := cfg.PickPool(name, addr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return (&poolTarget{pool: pool}).addrs(), nil
}

// explainTargetEOF turns a connection the target closed at start, which a
// twemproxy does on a command it does not know (HELLO, INFO), into the
// advice to say what the target is; other errors are kept.
func (t *target) explainTargetEOF(ctx context.Context, err error) error {
	if err == nil || t.kind != KindStandalone || t.cfg.TLS != nil ||
		!(errors.Is(err, io.EOF) || strings.Contains(err.Error(), "EOF")) {
		return err
	}
	if looksLikeTwemproxy(ctx, t.cfg.Addr, t.cfg.Username, t.cfg.Password, t.connectTimeout) {
		return fatalError{fmt.Errorf("the target looks like twemproxy (it answers PING but closes the connection on INFO): pass --target-kind twemproxy (%v)", err)}
	}
	return err
}

// looksLikeTwemproxy reports a server at addr that answers PING with PONG
// and then closes the connection on INFO, as twemproxy does for a command
// it does not proxy; Redis answers INFO.
func looksLikeTwemproxy(ctx context.Context, addr, user, password string, timeout time.Duration) bool {
	d := net.Dialer{Timeout: timeout}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	r := bufio.NewReader(c)
	ask := func(args ...string) (string, error) {
		if _, err := c.Write(resp.AppendCommandString(nil, args...)); err != nil {
			return "", err
		}
		return r.ReadString('\n')
	}
	if password != "" {
		args := []string{"AUTH", password}
		if user != "" {
			args = []string{"AUTH", user, password}
		}
		if line, err := ask(args...); err != nil || !strings.HasPrefix(line, "+") {
			return false
		}
	}
	if line, err := ask("PING"); err != nil || !strings.HasPrefix(line, "+PONG") {
		return false
	}
	_, err = ask("INFO")
	return errors.Is(err, io.EOF)
}
