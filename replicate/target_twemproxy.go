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
	targetKinds[KindTwemproxy] = targetKind{
		snapshot: func(ctx context.Context, s *replica) (forwarder.SnapshotWriter, error) {
			cfg, err := s.proxyConfig()
			if err != nil {
				return nil, err
			}
			w, err := forwarder.DialProxySnapshot(ctx, cfg)
			if err != nil {
				return nil, err
			}
			return db0Only{w, forwarder.ErrProxyDB}, nil
		},
		stream: func(ctx context.Context, s *replica) (forwarder.StreamWriter, error) {
			cfg, err := s.proxyConfig()
			if err != nil {
				return nil, err
			}
			return forwarder.DialProxyStream(ctx, cfg, s.opts.CheckpointKey)
		},
	}
}

// proxyConfig describes the twemproxy target: the connection settings, the
// key positions of the source's commands, and with --twemproxy-config the
// pool's servers (which take FLUSHALL directly).
func (s *replica) proxyConfig() (forwarder.ProxyConfig, error) {
	cfg := forwarder.ProxyConfig{Config: s.dstCfg, Keys: s.commandKeys, KeyIndexes: s.commandKeyIndexes}
	if s.opts.TwemproxyConfig == "" {
		return cfg, nil
	}
	servers, err := nutcrackerServers(s.opts.TwemproxyConfig, s.opts.TwemproxyPool, s.dstCfg.Addr)
	if err != nil {
		return cfg, fatalError{fmt.Errorf("--twemproxy-config: %w", err)}
	}
	cfg.Backends = servers
	return cfg, nil
}

// poolServers lists the servers of a twemproxy target's pool: those
// written directly, or those of the pool the proxy listens with, read
// from --twemproxy-config; errCannotScan without one.
func (s *replica) poolServers() ([]string, error) {
	switch {
	case s.targetKind == kindPool:
		return s.dstAddrs, nil
	case s.opts.TwemproxyConfig == "":
		return nil, errCannotScan
	}
	return nutcrackerServers(s.opts.TwemproxyConfig, s.opts.TwemproxyPool, s.dstCfg.Addr)
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
func (s *replica) explainTargetEOF(ctx context.Context, err error) error {
	if err == nil || s.targetKind != KindStandalone || s.dstCfg.TLS != nil ||
		!(errors.Is(err, io.EOF) || strings.Contains(err.Error(), "EOF")) {
		return err
	}
	if looksLikeTwemproxy(ctx, s.dstCfg.Addr, s.dstCfg.Username, s.dstCfg.Password, s.opts.ConnectTimeout) {
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
