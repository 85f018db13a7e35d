package forwarder

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/replicant/replicant/resp"
)

// readBufferSize is the size of the reply reader's buffer.
const readBufferSize = 64 << 10

// Dial connects to a standalone target (TLS when cfg.TLS is set),
// authenticates, PINGs and names the connection, then starts the reply
// reader. The whole handshake is bounded by cfg.DialTimeout and ctx.
func Dial(ctx context.Context, cfg Config) (*Standalone, error) {
	cfg = cfg.withDefaults()
	conn, rd, err := connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	f := newStandalone(cfg, conn, rd)
	go f.readLoop()
	f.log.Debug().Msg("connected to target")
	return f, nil
}

// connect dials and runs the handshake, returning the connection and its
// reply reader.
func connect(ctx context.Context, cfg Config) (net.Conn, *resp.Reader, error) {
	conn, err := dialConn(ctx, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("forwarder: target %s: %w", cfg.Addr, netCause(err))
	}
	rd := resp.NewReader(conn, readBufferSize)
	if err := handshake(ctx, conn, rd, cfg); err != nil {
		conn.Close()
		return nil, nil, err
	}
	return conn, rd, nil
}

func dialConn(ctx context.Context, cfg Config) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
	defer cancel()
	d := &net.Dialer{KeepAlive: 30 * time.Second}
	if cfg.TLS == nil {
		return d.DialContext(ctx, "tcp", cfg.Addr)
	}
	tc := cfg.TLS.Clone()
	if tc.ServerName == "" {
		if host, _, err := net.SplitHostPort(cfg.Addr); err == nil {
			tc.ServerName = host
		}
	}
	td := &tls.Dialer{NetDialer: d, Config: tc}
	return td.DialContext(ctx, "tcp", cfg.Addr)
}

// netCause strips the "dial tcp <addr>: connect:" layers that repeat what
// the caller's message already says, keeping the cause (errors.Is still
// finds syscall.ECONNREFUSED).
func netCause(err error) error {
	var op *net.OpError
	if errors.As(err, &op) {
		err = op.Err
	}
	var sc *os.SyscallError
	if errors.As(err, &sc) {
		err = sc.Err
	}
	return err
}

// handshake runs AUTH, PING and CLIENT SETNAME, one reply at a time.
func handshake(ctx context.Context, conn net.Conn, rd *resp.Reader, cfg Config) error {
	deadline := time.Now().Add(cfg.DialTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	for _, args := range handshakeCommands(cfg) {
		if _, err := call(ctx, conn, rd, cfg.Addr, args); err != nil {
			stop()
			return err
		}
	}
	if !stop() { // ctx ended: the deadline may be set in the past now
		return fmt.Errorf("forwarder: target %s: %w", cfg.Addr, ctx.Err())
	}
	return conn.SetDeadline(time.Time{})
}

func handshakeCommands(cfg Config) [][]string {
	var cmds [][]string
	switch {
	case cfg.Password != "" && cfg.Username != "":
		cmds = append(cmds, []string{"AUTH", cfg.Username, cfg.Password})
	case cfg.Password != "":
		cmds = append(cmds, []string{"AUTH", cfg.Password})
	}
	cmds = append(cmds, []string{"PING"})
	if cfg.ClientName != "" {
		cmds = append(cmds, []string{"CLIENT", "SETNAME", cfg.ClientName})
	}
	return cmds
}

// call sends one command on a connection no reader goroutine uses and
// reads its reply; an error reply is returned as the error. The caller
// sets the connection's deadline.
func call(ctx context.Context, conn net.Conn, rd *resp.Reader, addr string, args []string) (resp.Reply, error) {
	_, err := conn.Write(resp.AppendCommandString(nil, args...))
	var rep resp.Reply
	if err == nil {
		rep, err = rd.ReadReply()
	}
	name := args[0]
	if (name == "CLIENT" || name == "CLUSTER") && len(args) > 1 {
		name += " " + args[1]
	}
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return resp.Reply{}, fmt.Errorf("forwarder: target %s: %s: %w", addr, name, netCause(err))
	}
	if err := rep.Err(); err != nil {
		return rep, fmt.Errorf("forwarder: target %s rejected %s: %w", addr, name, err)
	}
	return rep, nil
}
