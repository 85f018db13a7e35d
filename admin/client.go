package admin

import (
	"context"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// RequestCutover asks the admin endpoint of a running sync at addr to cut
// over (CUTOVER TIMEOUT <timeout> [KEEPSYNCING]) and returns its report.
// The reply may take the whole timeout, and more for the fence.
func RequestCutover(ctx context.Context, addr, password string, timeout time.Duration, keepSyncing bool) (string, error) {
	c := redis.NewClient(&redis.Options{Addr: addr, Password: password, Protocol: 2, DisableIndentity: true,
		MaxRetries: -1, DialTimeout: 5 * time.Second, ReadTimeout: timeout + 30*time.Second})
	defer c.Close()
	cmd := []any{"CUTOVER", "TIMEOUT", strconv.FormatFloat(timeout.Seconds(), 'f', -1, 64)}
	if keepSyncing {
		cmd = append(cmd, "KEEPSYNCING")
	}
	return c.Do(ctx, cmd...).Text()
}
