package replicate

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
)

// checkSourceLimits reads the source's replication limits and warns when
// they look too small for its dataset: a small backlog turns every
// reconnect into a full sync, a small replica output buffer limit drops the
// link while the snapshot is transferred. Users without CONFIG permission
// get a debug line only.
func checkSourceLimits(ctx context.Context, opt *redis.Options, log zerolog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c := redis.NewClient(opt)
	defer c.Close()
	cfg, err := c.ConfigGet(ctx, "*").Result()
	if err != nil {
		log.Debug().Err(err).Msg("cannot read the source's configuration; its replication limits are not checked")
		return
	}
	used := usedMemory(ctx, c)
	for _, w := range limitWarnings(cfg, used) {
		log.Warn().Str("set", w.set).Str("now", w.now).Msg(w.why)
	}
}

type limitWarning struct{ set, now, why string }

// limitWarnings returns what to raise on a source whose dataset takes
// used bytes.
func limitWarnings(cfg map[string]string, used int64) []limitWarning {
	var out []limitWarning
	const mb = 1 << 20
	backlog, _ := strconv.ParseInt(cfg["repl-backlog-size"], 10, 64)
	if want := max(64*mb, used/20); backlog > 0 && backlog < want {
		out = append(out, limitWarning{
			set: "CONFIG SET repl-backlog-size " + strconv.FormatInt(want, 10), now: cfg["repl-backlog-size"],
			why: "source backlog is small: a lost link or a restart of replicant past it needs a full sync"})
	}
	if t, _ := strconv.Atoi(cfg["repl-timeout"]); t > 0 && t < 60 {
		out = append(out, limitWarning{set: "CONFIG SET repl-timeout 60", now: cfg["repl-timeout"],
			why: "source repl-timeout is short: a slow snapshot transfer may be cut"})
	}
	if hard, ok := replicaHardLimit(cfg["client-output-buffer-limit"]); ok && hard > 0 && hard < max(256*mb, used/4) {
		want := strconv.FormatInt(max(256*mb, used/4), 10)
		out = append(out, limitWarning{set: "CONFIG SET client-output-buffer-limit \"replica " + want + " " + want + " 0\"",
			now: cfg["client-output-buffer-limit"],
			why: "source replica output buffer limit is small: writes made while the snapshot is transferred may overflow it and drop the link"})
	}
	return out
}

// replicaHardLimit reads the replica class's hard limit from
// "normal 0 0 0 slave 268435456 67108864 60 pubsub ...".
func replicaHardLimit(v string) (int64, bool) {
	f := strings.Fields(v)
	for i := 0; i+3 < len(f); i += 4 {
		if f[i] == "slave" || f[i] == "replica" {
			n, err := strconv.ParseInt(f[i+1], 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

func usedMemory(ctx context.Context, c *redis.Client) int64 {
	info, err := c.Info(ctx, "memory").Result()
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}
