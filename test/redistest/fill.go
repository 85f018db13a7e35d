package redistest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/redis/go-redis/v9"
)

// FillOptions sizes the dataset Fill writes.
type FillOptions struct {
	// Seed makes the dataset: the same seed writes the same keys and values.
	Seed int64
	// DBs is how many databases (0..DBs-1) to fill; default 4.
	DBs int
	// KeysPerType is how many keys of each small kind each database gets;
	// default 20. The large-encoding keys come once per database regardless.
	KeysPerType int
	// BigValues adds a 1 MiB string and makes the large collections ten
	// times larger.
	BigValues bool
}

func (o FillOptions) withDefaults() FillOptions {
	if o.DBs <= 0 {
		o.DBs = 4
	}
	if o.KeysPerType <= 0 {
		o.KeysPerType = 20
	}
	return o
}

// LibraryName is the function library Fill loads (Redis 7.0+).
const LibraryName = "replicantlib"

// LibraryCode is the Lua source Fill loads with FUNCTION LOAD. It registers
// replicant_set (SET keys[1] args[1]) and the read-only replicant_get.
const LibraryCode = "#!lua name=" + LibraryName + `
redis.register_function('replicant_set', function(keys, args) return redis.call('SET', keys[1], args[1]) end)
redis.register_function{function_name='replicant_get', callback=function(keys, args) return redis.call('GET', keys[1]) end, flags={'no-writes'}}
`

// pipeBatch is how many commands Fill queues before it sends them.
const pipeBatch = 500

// Fill writes a dataset with every type and encoding into databases
// 0..DBs-1 and loads LibraryCode, deterministically for o.Seed. Key names
// repeat across databases with different values. It returns the number of
// keys it created (not counting keys already there).
//
// Per database: strings (int-encoded, embstr, raw, binary values with \x00
// and \xff, UTF-8 and binary key names, an empty value, with BigValues a 1 MiB
// value); lists small and large (many elements, and elements over 64 bytes);
// sets as small and large intsets, small string sets and a large hashtable
// set; sorted sets small and large with scores +inf, -inf, -0, negatives,
// fractions and extremes; hashes small and large and one with wide values;
// streams with deleted entries, two consumer groups, pending entries and a
// consumer without any, an empty stream with a group (MKSTREAM), a stream
// whose entries are all deleted and a trimmed one. About one key in five gets
// a TTL: relative seconds, relative milliseconds or an absolute time far in
// the future, never under a minute.
func Fill(ctx context.Context, s *Server, o FillOptions) (keys int, err error) {
	o = o.withDefaults()
	version, err := s.Version(ctx)
	if err != nil {
		return 0, err
	}
	rng := rand.New(rand.NewPCG(uint64(o.Seed), 0x7265706c6963616e))
	for db := 0; db < o.DBs; db++ {
		f := &filler{ctx: ctx, rng: rng, o: o, version: version, pipe: s.ClientDB(db).Pipeline()}
		if err := f.fillDB(); err != nil {
			return keys, fmt.Errorf("redistest: fill db %d: %w", db, err)
		}
		keys += f.keys
	}
	if versionAtLeast(version, 7, 0) {
		if err := s.Client.FunctionLoadReplace(ctx, LibraryCode).Err(); err != nil {
			return keys, fmt.Errorf("redistest: FUNCTION LOAD: %w", err)
		}
	}
	return keys, nil
}

// filler writes one database through a pipeline. It lives for one Fill call,
// which is why it holds that call's ctx.
type filler struct {
	ctx     context.Context
	rng     *rand.Rand
	o       FillOptions
	version string
	pipe    redis.Pipeliner
	keys    int
	err     error // sticky: the first failed batch
}

func (f *filler) fillDB() error {
	f.fillStrings()
	f.fillLists()
	f.fillSets()
	f.fillZsets()
	f.fillHashes()
	if versionAtLeast(f.version, 5, 0) {
		f.fillStreams()
	}
	f.flush()
	return f.err
}

// do queues one command and sends the batch when it is full.
func (f *filler) do(args ...any) {
	f.pipe.Do(f.ctx, args...)
	if f.pipe.Len() >= pipeBatch {
		f.flush()
	}
}

func (f *filler) flush() {
	if f.err != nil || f.pipe.Len() == 0 {
		f.pipe.Discard()
		return
	}
	cmds, err := f.pipe.Exec(f.ctx)
	if err == nil {
		return
	}
	for _, c := range cmds {
		if c.Err() != nil && !errors.Is(c.Err(), redis.Nil) {
			f.err = fmt.Errorf("%s: %w", shortArgs(c.Args()), c.Err())
			return
		}
	}
}

// created counts a new key and gives about one in five a TTL.
func (f *filler) created(key string) {
	f.keys++
	if f.rng.IntN(5) == 0 {
		f.ttl(key)
	}
}

// ttl sets a TTL of a minute or more: relative seconds, relative
// milliseconds, or absolute (seconds or milliseconds) around the year 2100.
func (f *filler) ttl(key string) {
	const year2100 = 4102444800
	switch f.rng.IntN(4) {
	case 0:
		f.do("EXPIRE", key, 60+f.rng.IntN(3600))
	case 1:
		f.do("PEXPIRE", key, 60000+f.rng.IntN(3600000))
	case 2:
		f.do("EXPIREAT", key, year2100+f.rng.IntN(1e6))
	default:
		f.do("PEXPIREAT", key, int64(year2100)*1000+f.rng.Int64N(1e9))
	}
}

// scale is the size multiplier of the large collections.
func (f *filler) scale() int {
	if f.o.BigValues {
		return 10
	}
	return 1
}

// text is n random printable bytes.
func (f *filler) text(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789-_:"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[f.rng.IntN(len(alphabet))]
	}
	return string(b)
}

// bytes is n random bytes that start with \x00 and end with \xff.
func (f *filler) bytes(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(f.rng.UintN(256))
	}
	if n >= 2 {
		b[0], b[n-1] = 0x00, 0xff
	}
	return string(b)
}

// shortArgs renders a command for an error message, long arguments cut.
func shortArgs(args []any) string {
	parts := make([]string, 0, min(len(args), 6))
	for i, a := range args {
		if i == 5 {
			parts = append(parts, "…")
			break
		}
		parts = append(parts, clip(fmt.Sprint(a), 40))
	}
	return strings.Join(parts, " ")
}

// clip quotes s, keeping at most n bytes of it.
func clip(s string, n int) string {
	if len(s) > n {
		return fmt.Sprintf("%q…(%d bytes)", s[:n], len(s))
	}
	return fmt.Sprintf("%q", s)
}
