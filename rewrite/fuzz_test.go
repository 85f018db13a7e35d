package rewrite

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"
)

// FuzzKey feeds damaged DUMP payloads of every type to Key: an error or
// commands, never a panic or a hang. The seeds are DUMPs of a real server.
// Key refuses a payload whose checksum is wrong, so the fuzzer also runs
// the stream decoder on the damaged value directly.
func FuzzKey(f *testing.F) {
	s := startServer(&testing.T{})
	ctx := context.Background()
	c := s.Client
	c.XAdd(ctx, &redis.XAddArgs{Stream: "x", ID: "1-1", Values: []any{"a", "1", "b", "2"}})
	c.XAdd(ctx, &redis.XAddArgs{Stream: "x", ID: "2-1", Values: []any{"c", "3"}})
	c.XGroupCreate(ctx, "x", "g", "0")
	c.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "c", Streams: []string{"x", ">"}, Count: 1})
	c.RPush(ctx, "l", "a", 1, "bb")
	c.HSet(ctx, "h", "f", "v")
	c.ZAdd(ctx, "z", redis.Z{Score: 1.5, Member: "m"})
	c.SAdd(ctx, "s", 1, 2, "x")
	for _, k := range []string{"x", "l", "h", "z", "s"} {
		if d, err := c.Dump(ctx, k).Result(); err == nil {
			f.Add([]byte(d))
		}
	}
	s.Stop()
	f.Fuzz(func(t *testing.T, payload []byte) {
		Key([]byte("k"), payload, 0, Options{Target: TargetOf("7.4.0")}, func([][]byte) error { return nil })
		if len(payload) > 10 {
			decodeStream(typeStream2, payload[1:len(payload)-10])
		}
	})
}
