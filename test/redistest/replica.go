package redistest

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/replicant/replicant/internal/redisreply"
)

// ReplicaOf makes s a replica of master (REPLICAOF), passing master's client
// password and user as masterauth and masteruser.
func (s *Server) ReplicaOf(ctx context.Context, master *Server) error {
	if master.opts.Password != "" {
		if err := s.Client.ConfigSet(ctx, "masterauth", master.opts.Password).Err(); err != nil {
			return fmt.Errorf("redistest: CONFIG SET masterauth: %w", err)
		}
	}
	if master.opts.Username != "" {
		if err := s.Client.ConfigSet(ctx, "masteruser", master.opts.Username).Err(); err != nil {
			return fmt.Errorf("redistest: CONFIG SET masteruser: %w", err)
		}
	}
	if err := s.Client.Do(ctx, "REPLICAOF", "127.0.0.1", master.Port).Err(); err != nil {
		return fmt.Errorf("redistest: REPLICAOF %s: %w", master.Addr, err)
	}
	return nil
}

// WaitInSync polls until replica reports master_link_status:up and its
// replication offset equals master's, or ctx ends.
func WaitInSync(ctx context.Context, master, replica *Server) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, status, err := inSync(ctx, master, replica)
		if err == nil && ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("redistest: replica %s not in sync with %s (%s, last error %v): %w",
				replica.Addr, master.Addr, status, err, ctx.Err())
		case <-tick.C:
		}
	}
}

func inSync(ctx context.Context, master, replica *Server) (bool, string, error) {
	mi, err := master.Client.Info(ctx, "replication").Result()
	if err != nil {
		return false, "", err
	}
	ri, err := replica.Client.Info(ctx, "replication").Result()
	if err != nil {
		return false, "", err
	}
	link := redisreply.InfoField(ri, "master_link_status")
	mo, _ := strconv.ParseInt(redisreply.InfoField(mi, "master_repl_offset"), 10, 64)
	ro, _ := strconv.ParseInt(redisreply.InfoField(ri, "master_repl_offset"), 10, 64)
	status := fmt.Sprintf("link %q, offsets %d vs %d", link, mo, ro)
	return link == "up" && mo == ro, status, nil
}
