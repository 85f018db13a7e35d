package replicate

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Following the master among the source's addresses (--source A,B): after
// a switchover (a replica promoted, the old master made its replica) the
// old master still serves replicant the stream it now gets second hand,
// while clients write to the new one; a cutover pausing the old master
// would leave those writes behind. So the source poller moves the link
// when its server is no longer a master, and a new link goes to a master
// first.

// replRole reads the role line of INFO replication ("master", "slave").
func replRole(ctx context.Context, c *redis.Client) (string, error) {
	info, err := c.Info(ctx, "replication").Result()
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "role:"); ok {
			return v, nil
		}
	}
	return "", fmt.Errorf("INFO replication has no role")
}

// mastersFirst orders the source's addresses with those whose server says
// it is a master first; an address that does not answer keeps its place
// among the rest.
func (s *replica) mastersFirst(ctx context.Context) []string {
	if len(s.srcAddrs) < 2 {
		return s.srcAddrs
	}
	var masters, rest []string
	for _, addr := range s.srcAddrs {
		if s.roleOf(ctx, addr) == "master" {
			masters = append(masters, addr)
		} else {
			rest = append(rest, addr)
		}
	}
	return append(masters, rest...)
}

// roleOf asks one source address its role; "" when it does not answer.
func (s *replica) roleOf(ctx context.Context, addr string) string {
	o := s.sourceClientOptions()
	o.Addr = addr
	c := redis.NewClient(o)
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	role, _ := replRole(ctx, c)
	return role
}

// followMaster runs in the source poller: when the server of the link is a
// replica now and another address of --source is a master, it closes the
// link, and the next one goes to the master (a partial resync: the
// promoted server accepts the old replication id). It reports whether it
// moved the link.
func (s *replica) followMaster(ctx context.Context, role string) bool {
	if role != "slave" || len(s.srcAddrs) < 2 {
		return false
	}
	cur := s.sourceAddr()
	for _, addr := range s.srcAddrs {
		if addr != cur && s.roleOf(ctx, addr) == "master" {
			s.log.Warn().Str("source", cur).Str("master", addr).
				Msg("source: the server of the link is a replica now; moving the link to the current master")
			if c := s.status.src.Load(); c != nil {
				c.Close()
			}
			return true
		}
	}
	return false
}

// checkCutoverSource refuses a cutover unless the paused source is a
// master: pausing a replica leaves the writes of its master behind.
func checkCutoverSource(ctx context.Context, c *redis.Client, addr string) error {
	role, err := replRole(ctx, c)
	if err != nil {
		return fmt.Errorf("source %s: %w", addr, err)
	}
	if role != "master" {
		return fmt.Errorf("source %s is not a master (role:%s): clients write to another server, which a pause here does not stop; cut over once replicant follows the current master", addr, role)
	}
	return nil
}
