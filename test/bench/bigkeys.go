package main

import (
	"context"
	"fmt"
	"math/rand"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/replicant/replicant/test/redistest"
)

// bigKey is one key far larger than replicant's memory bound, with how to
// write it on the source and how to read its size back on the target.
type bigKey struct {
	about string
	size  int64 // elements, or bytes for the string, as loaded
	load  func(context.Context, *redis.Client) error
	len   func(context.Context, *redis.Client) (int64, error)
}

const (
	bigHashFields   = 1_048_600 // of 1000-byte values: 1 GiB
	bigMembers      = 10_000_000
	bigStringBytes  = 512 << 20
	bigHashValueLen = 1000
)

var bigKeys = []bigKey{
	{"hash of 1 GiB (1,048,600 fields of 1000 bytes)", bigHashFields, loadBigHash,
		func(ctx context.Context, c *redis.Client) (int64, error) { return c.HLen(ctx, "big").Result() }},
	{"sorted set of 10,000,000 members", bigMembers, loadBigZset,
		func(ctx context.Context, c *redis.Client) (int64, error) { return c.ZCard(ctx, "big").Result() }},
	{"list of 10,000,000 elements", bigMembers, loadBigList,
		func(ctx context.Context, c *redis.Client) (int64, error) { return c.LLen(ctx, "big").Result() }},
	{"string of 512 MiB (random bytes, stored uncompressed)", bigStringBytes, loadBigString,
		func(ctx context.Context, c *redis.Client) (int64, error) { return c.StrLen(ctx, "big").Result() }},
}

// sendBatches runs n commands made by build, pipelined 50 at a time.
func sendBatches(ctx context.Context, c *redis.Client, n int, build func(i int) []any) error {
	p := c.Pipeline()
	for i := 0; i < n; i++ {
		p.Do(ctx, build(i)...)
		if p.Len() >= 50 || i == n-1 {
			if _, err := p.Exec(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

func loadBigHash(ctx context.Context, c *redis.Client) error {
	val := strings.Repeat("h", bigHashValueLen)
	const per = 100
	return sendBatches(ctx, c, bigHashFields/per, func(i int) []any {
		args := []any{"HSET", "big"}
		for j := 0; j < per; j++ {
			args = append(args, "field:"+strconv.Itoa(i*per+j), val)
		}
		return args
	})
}

func loadBigZset(ctx context.Context, c *redis.Client) error {
	const per = 1000
	return sendBatches(ctx, c, bigMembers/per, func(i int) []any {
		args := []any{"ZADD", "big"}
		for j := 0; j < per; j++ {
			n := i*per + j
			args = append(args, float64(n)*0.5, "member:"+strconv.Itoa(n))
		}
		return args
	})
}

func loadBigList(ctx context.Context, c *redis.Client) error {
	const per = 1000
	return sendBatches(ctx, c, bigMembers/per, func(i int) []any {
		args := []any{"RPUSH", "big"}
		for j := 0; j < per; j++ {
			args = append(args, "element:"+strconv.Itoa(i*per+j))
		}
		return args
	})
}

func loadBigString(ctx context.Context, c *redis.Client) error {
	rng := rand.New(rand.NewSource(1))
	chunk := make([]byte, 1<<20)
	return sendBatches(ctx, c, bigStringBytes/len(chunk), func(int) []any {
		rng.Read(chunk)
		return []any{"APPEND", "big", string(chunk)}
	})
}

// bigResult is one big key's measure.
type bigResult struct {
	key   bigKey
	wall  time.Duration
	rssKB int64
	cpu   time.Duration
}

// runBigKeys syncs each big key alone with replicant's default settings
// and measures the time until the target holds all of it, and replicant's
// peak RSS.
func runBigKeys(ctx context.Context, bin string) ([]bigResult, error) {
	var out []bigResult
	for _, k := range bigKeys {
		r, err := benchBigKey(ctx, bin, k)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k.about, err)
		}
		fmt.Printf("%s: replicant %v, peak RSS %d MiB, CPU %v\n", k.about, r.wall.Round(time.Millisecond),
			r.rssKB>>10, r.cpu.Round(time.Millisecond))
		out = append(out, r)
	}
	return out, nil
}

func benchBigKey(ctx context.Context, bin string, k bigKey) (bigResult, error) {
	src, err := redistest.Start(ctx, redistest.Options{Args: []string{"--repl-diskless-sync", "yes",
		"--repl-diskless-sync-delay", "0", "--proto-max-bulk-len", "1gb"}})
	if err != nil {
		return bigResult{}, err
	}
	defer src.Stop()
	fmt.Printf("loading a %s\n", k.about)
	if err := k.load(ctx, src.Client); err != nil {
		return bigResult{}, err
	}
	if k.size, err = k.len(ctx, src.Client); err != nil {
		return bigResult{}, err
	}
	m, err := runReplicant(ctx, bin, src, func(dst *redistest.Server) error { return waitSize(ctx, dst.Client, k) })
	return bigResult{key: k, wall: m.wall, rssKB: m.rssKB, cpu: m.cpu}, err
}

// waitSize polls the target until the key has its full size.
func waitSize(ctx context.Context, c *redis.Client, k bigKey) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	defer cancel()
	for {
		n, err := k.len(ctx, c)
		if err == nil && n >= k.size {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("target holds %d of %d: %w", n, k.size, ctx.Err())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func bigKeysReport(results []bigResult) string {
	var b strings.Builder
	b.WriteString("## Big keys\n\n")
	fmt.Fprintf(&b, "Run on %s (`make bench-bigkeys`). Each key alone on a Redis 7.0 source, synced by "+
		"`replicant sync` with its default settings into an empty target; the clock stops when the target "+
		"holds the whole key. Values with more than `--big-value-elements` elements (and plain strings over "+
		"`--max-restore-bytes`) are streamed from the RDB to the target as commands, element by element.\n\n", machine())
	b.WriteString("| key | replicant | replicant peak RSS | replicant CPU |\n|---|---:|---:|---:|\n")
	for _, r := range results {
		fmt.Fprintf(&b, "| %s | %v | %d MiB | %v |\n", r.key.about, r.wall.Round(time.Millisecond),
			r.rssKB>>10, r.cpu.Round(time.Millisecond))
	}
	return b.String()
}
