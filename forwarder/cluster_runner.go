package forwarder

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/replicant/replicant/resp"
)

// clusterRunner sends single commands, one at a time, to the master that
// serves a key, following the cluster's redirections: -MOVED (reload the
// slot map, send again), -ASK (ASKING, then the command at the node
// named), -TRYAGAIN, -CLUSTERDOWN and -LOADING (wait, send again). It is
// for the rare, synchronous work of the stream writer: checkpoints,
// emulated commands, broadcasts. One goroutine only.
type clusterRunner struct {
	cfg   ClusterConfig
	slots shardMap
	conns map[string]*runnerConn
}

type runnerConn struct {
	conn net.Conn
	rd   *resp.Reader
}

// runnerTries bounds the redirections and waits of one command.
const runnerTries = 50

func newClusterRunner(cfg ClusterConfig, slots shardMap) *clusterRunner {
	return &clusterRunner{cfg: cfg, slots: slots, conns: map[string]*runnerConn{}}
}

// Run sends args to the master of routeKey's slot and returns its reply;
// a Redis error reply other than a redirection comes back in the reply.
func (r *clusterRunner) Run(ctx context.Context, routeKey []byte, args ...[]byte) (resp.Reply, error) {
	addr := r.slots.ownerOf(r.slots.shardOf(routeKey))
	asking := false
	for try := 0; try < runnerTries; try++ {
		rep, err := r.call(ctx, addr, asking, args)
		if err != nil {
			return rep, err
		}
		asking = false
		code, target := redirection(&rep)
		switch code {
		case "":
			return rep, nil
		case "MOVED":
			if err := r.reload(ctx); err != nil {
				return rep, err
			}
			addr = r.slots.ownerOf(r.slots.shardOf(routeKey))
		case "ASK":
			addr, asking = target, true
		default:
			if err := sleepCtx(ctx, time.Duration(try+1)*20*time.Millisecond); err != nil {
				return rep, err
			}
		}
	}
	return resp.Reply{}, fmt.Errorf("forwarder: cluster target: %s %s: still redirected after %d tries", upperName(args), quoteKey(routeKey), runnerTries)
}

// Node sends args to one master, by address, with no redirection.
func (r *clusterRunner) Node(ctx context.Context, addr string, args ...[]byte) (resp.Reply, error) {
	return r.call(ctx, addr, false, args)
}

// redirection returns the code of a reply that asks to send the command
// again (MOVED, ASK, TRYAGAIN, CLUSTERDOWN, LOADING), with the address of
// MOVED and ASK.
func redirection(rep *resp.Reply) (code, addr string) {
	err := rep.Err()
	var se *resp.ServerError
	if !errors.As(err, &se) {
		return "", ""
	}
	switch code = se.Prefix(); code {
	case "MOVED", "ASK":
		f := strings.Fields(se.Msg)
		if len(f) == 3 {
			return code, f[2]
		}
		return code, ""
	case "TRYAGAIN", "CLUSTERDOWN", "LOADING":
		return code, ""
	}
	return "", ""
}

func (r *clusterRunner) call(ctx context.Context, addr string, asking bool, args [][]byte) (resp.Reply, error) {
	c, err := r.conn(ctx, addr)
	if err != nil {
		return resp.Reply{}, err
	}
	var buf []byte
	if asking {
		buf = resp.AppendCommandString(buf, "ASKING")
	}
	buf = resp.AppendCommand(buf, args...)
	c.conn.SetDeadline(time.Now().Add(r.cfg.DialTimeout + 10*time.Second))
	defer c.conn.SetDeadline(time.Time{})
	rep, err := r.exchange(c, buf, asking)
	if err != nil {
		r.drop(addr)
		return rep, fmt.Errorf("forwarder: cluster target %s: %s: %w", addr, upperName(args), netCause(err))
	}
	return rep, nil
}

func (r *clusterRunner) exchange(c *runnerConn, buf []byte, asking bool) (resp.Reply, error) {
	if _, err := c.conn.Write(buf); err != nil {
		return resp.Reply{}, err
	}
	if asking {
		if _, err := c.rd.ReadReply(); err != nil {
			return resp.Reply{}, err
		}
	}
	return c.rd.ReadReply()
}

func (r *clusterRunner) conn(ctx context.Context, addr string) (*runnerConn, error) {
	if c := r.conns[addr]; c != nil {
		return c, nil
	}
	if addr == "" {
		return nil, errors.New("forwarder: cluster target: no master serves the slot")
	}
	cfg := r.cfg.Config
	cfg.Addr = addr
	conn, rd, err := connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	c := &runnerConn{conn: conn, rd: rd}
	r.conns[addr] = c
	return c, nil
}

func (r *clusterRunner) drop(addr string) {
	if c := r.conns[addr]; c != nil {
		c.conn.Close()
		delete(r.conns, addr)
	}
}

// reload reads the slot map again, from the masters known so far.
func (r *clusterRunner) reload(ctx context.Context) error {
	m, err := r.slots.reload(ctx, r.cfg)
	if err != nil {
		return err
	}
	r.slots = m
	return nil
}

func (r *clusterRunner) close() {
	for addr := range r.conns {
		r.drop(addr)
	}
}

// upperName is a command's name in upper case, for messages.
func upperName(args [][]byte) string {
	if len(args) == 0 {
		return ""
	}
	return strings.ToUpper(string(args[0]))
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// eachKey runs name key (GET, DEL) for every key, pipelined to the master
// of each key's slot; a key whose reply is a redirection is sent again
// with Run, so a key that moves meanwhile is still found. Replies come in
// the order of keys.
func (r *clusterRunner) eachKey(ctx context.Context, name string, keys [][]byte) ([]resp.Reply, error) {
	out := make([]resp.Reply, len(keys))
	byNode := map[string][]int{}
	for i, k := range keys {
		addr := r.slots.ownerOf(r.slots.shardOf(k))
		byNode[addr] = append(byNode[addr], i)
	}
	for addr, idx := range byNode {
		if err := r.pipeline(ctx, addr, name, keys, idx, out); err != nil {
			return nil, err
		}
	}
	for i, k := range keys {
		if code, _ := redirection(&out[i]); code != "" {
			rep, err := r.Run(ctx, k, []byte(name), k)
			if err != nil {
				return nil, err
			}
			out[i] = rep
		}
	}
	return out, nil
}

// pipeline sends name keys[i] for each i of idx to one node.
func (r *clusterRunner) pipeline(ctx context.Context, addr, name string, keys [][]byte, idx []int, out []resp.Reply) error {
	c, err := r.conn(ctx, addr)
	if err != nil {
		return err
	}
	var buf []byte
	for _, i := range idx {
		buf = resp.AppendCommand(buf, []byte(name), keys[i])
	}
	c.conn.SetDeadline(time.Now().Add(r.cfg.DialTimeout + 30*time.Second))
	defer c.conn.SetDeadline(time.Time{})
	if _, err := c.conn.Write(buf); err != nil {
		r.drop(addr)
		return fmt.Errorf("forwarder: cluster target %s: %s: %w", addr, name, netCause(err))
	}
	for _, i := range idx {
		if out[i], err = c.rd.ReadReply(); err != nil {
			r.drop(addr)
			return fmt.Errorf("forwarder: cluster target %s: %s: %w", addr, name, netCause(err))
		}
	}
	return nil
}
