package rdbstream

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

const testLibrary = "#!lua name=replicantlib\n" +
	"-- a library long enough to be LZF-compressed in the RDB\n" +
	"redis.register_function('hello', function(keys, args) return 'hello ' .. (args[1] or 'world') end)\n" +
	"redis.register_function{function_name='ro', callback=function(keys, args) return redis.call('GET', keys[1]) end, flags={'no-writes'}}\n"

// fillAllTypes writes keys of every type and encoding a Redis 7.0 server
// can hold into dbs 0-3, and returns the name of one key left expired.
func fillAllTypes(t *testing.T, s *redisServer) string {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	c := s.client(0)
	defer c.Close()

	randBytes := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		return string(b)
	}
	many := func(prefix string, n int) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = fmt.Sprintf("%s%d", prefix, i)
		}
		return out
	}

	// Strings: int encodings, short, compressible (LZF), incompressible,
	// binary, empty; keys that are int-encoded, LZF-compressed or binary.
	mustDo(t, c, "SET", "str:int8", "-7")
	mustDo(t, c, "SET", "str:int16", "1234")
	mustDo(t, c, "SET", "str:int32", "-1234567")
	mustDo(t, c, "SET", "str:int64", "123456789012345")
	mustDo(t, c, "SET", "str:short", "hello")
	mustDo(t, c, "SET", "str:lzf", strings.Repeat("abcdefgh", 200))
	mustDo(t, c, "SET", "str:random", randBytes(5000))
	mustDo(t, c, "SET", "str:bigrandom", randBytes(700<<10))                // bigger than the read buffer
	mustDo(t, c, "SET", "str:biglzf", strings.Repeat(randBytes(1000), 600)) // LZF
	mustDo(t, c, "SET", "str:binary", "a\x00b\r\n\xff")
	mustDo(t, c, "SET", "str:empty", "")
	mustDo(t, c, "SET", "12345", "int-encoded key")
	mustDo(t, c, "SET", strings.Repeat("compressible-key-", 10), "lzf key")
	mustDo(t, c, "SET", "\x00\xffbinary key", "v")

	// Lists: listpack node, many nodes, plain nodes.
	mustDo(t, c, append([]any{"RPUSH", "list:small"}, many("e", 5)...)...)
	mustDo(t, c, append([]any{"RPUSH", "list:large"}, many("element-", 5000)...)...)
	mustDo(t, c, "DEBUG", "QUICKLIST-PACKED-THRESHOLD", "100")
	mustDo(t, c, "RPUSH", "list:plain", strings.Repeat("p", 300), "small", randBytes(400))
	mustDo(t, c, "DEBUG", "QUICKLIST-PACKED-THRESHOLD", "1073741824")

	// Sets: intset (16/32/64-bit), hashtable of ints, hashtable of strings.
	mustDo(t, c, "SADD", "set:intset16", 1, 2, 3, -4)
	mustDo(t, c, "SADD", "set:intset32", 1, 100000, -100000)
	mustDo(t, c, "SADD", "set:intset64", 1, int64(1)<<40)
	mustDo(t, c, append([]any{"SADD", "set:ints"}, func() []any {
		v := make([]any, 1000)
		for i := range v {
			v[i] = i * 7
		}
		return v
	}()...)...)
	mustDo(t, c, "SADD", "set:small", "a", "b", "c")
	mustDo(t, c, append([]any{"SADD", "set:large"}, many("member-", 1000)...)...)

	// Sorted sets: listpack and skiplist (binary scores), special scores.
	mustDo(t, c, "ZADD", "zset:small", 1, "a", 2.5, "b", "-inf", "c", "+inf", "d")
	zargs := []any{"ZADD", "zset:large"}
	for i := 0; i < 500; i++ {
		zargs = append(zargs, float64(i)/3, fmt.Sprintf("m%d", i))
	}
	mustDo(t, c, zargs...)
	mustDo(t, c, "ZADD", "zset:longmember", 1, strings.Repeat("x", 100), "-inf", "y")

	// Hashes: listpack, hashtable (many fields), hashtable (long value).
	mustDo(t, c, "HSET", "hash:small", "f1", "v1", "f2", 2, "f3", "")
	hargs := []any{"HSET", "hash:large"}
	for i := 0; i < 1000; i++ {
		hargs = append(hargs, fmt.Sprintf("field-%d", i), fmt.Sprintf("value-%d", i))
	}
	mustDo(t, c, hargs...)
	mustDo(t, c, "HSET", "hash:longvalue", "f", strings.Repeat("v", 100), "n", 42)

	// Streams: several listpack nodes, deleted entries, two groups, pending
	// entries with two consumers, an idle consumer; an empty stream.
	for i := 0; i < 250; i++ {
		mustDo(t, c, "XADD", "stream:s", fmt.Sprintf("%d-1", 1000+i), "field", i, "other", "x")
	}
	mustDo(t, c, "XDEL", "stream:s", "1003-1", "1100-1")
	mustDo(t, c, "XGROUP", "CREATE", "stream:s", "g1", "0")
	mustDo(t, c, "XREADGROUP", "GROUP", "g1", "alice", "COUNT", 10, "STREAMS", "stream:s", ">")
	mustDo(t, c, "XREADGROUP", "GROUP", "g1", "bob", "COUNT", 5, "STREAMS", "stream:s", ">")
	mustDo(t, c, "XACK", "stream:s", "g1", "1000-1", "1001-1")
	mustDo(t, c, "XGROUP", "CREATE", "stream:s", "g2", "$")
	mustDo(t, c, "XGROUP", "CREATECONSUMER", "stream:s", "g2", "carol")
	mustDo(t, c, "XADD", "stream:empty", "MAXLEN", 0, "*", "f", "v")

	// TTLs.
	future := time.Now().Add(time.Hour).UnixMilli()
	mustDo(t, c, "SET", "ttl:str", "v", "PXAT", future)
	mustDo(t, c, "HSET", "ttl:hash", "f", "v")
	mustDo(t, c, "PEXPIREAT", "ttl:hash", future+1)
	mustDo(t, c, append([]any{"RPUSH", "ttl:list"}, many("x", 300)...)...)
	mustDo(t, c, "PEXPIREAT", "ttl:list", future+2)

	// A key whose TTL passes before SAVE: it is in the RDB but expired.
	mustDo(t, c, "DEBUG", "SET-ACTIVE-EXPIRE", 0)
	mustDo(t, c, "SET", "gone", "v", "PX", 1)
	time.Sleep(20 * time.Millisecond)

	// Other databases, with names that repeat across them.
	for db := 1; db <= 3; db++ {
		cdb := s.client(db)
		mustDo(t, cdb, "SET", "shared", fmt.Sprintf("db%d", db))
		mustDo(t, cdb, "RPUSH", fmt.Sprintf("list:db%d", db), "a", "b")
		mustDo(t, cdb, "SADD", "set:db", db)
		cdb.Close()
	}

	// A function library.
	if err := c.FunctionLoad(ctx, testLibrary).Err(); err != nil {
		t.Fatalf("FUNCTION LOAD: %v", err)
	}
	return "gone"
}

// keysByDB lists every key per database on a server.
func keysByDB(t *testing.T, s *redisServer) map[int][]string {
	out := map[int][]string{}
	for db := 0; db < 16; db++ {
		c := s.client(db)
		keys, err := c.Keys(context.Background(), "*").Result()
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) > 0 {
			sort.Strings(keys)
			out[db] = keys
		}
	}
	return out
}

// TestRealRedis checks the decoder against a real redis-server: every
// payload byte-equals DUMP of the same key, the function code matches
// FUNCTION LIST WITHCODE, and RESTOREing everything into a fresh server
// gives the same DEBUG DIGEST.
func TestRealRedis(t *testing.T) {
	ctx := context.Background()
	src := startRedis(t, "--maxmemory-policy", "allkeys-lfu")
	gone := fillAllTypes(t, src)
	rdb := src.saveRDB(t)

	recs, d, err := decodeAll(bytes.NewReader(rdb), Options{})
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if d.Offset() != int64(len(rdb)) {
		t.Errorf("offset %d, RDB has %d bytes", d.Offset(), len(rdb))
	}
	if d.Expired() != 1 {
		t.Errorf("Expired() = %d, want 1 (key %q)", d.Expired(), gone)
	}
	if v := d.Aux()["redis-ver"]; !strings.HasPrefix(v, "7.") {
		t.Errorf("aux redis-ver = %q", v)
	}

	clients := map[int]*redis.Client{}
	for db := 0; db < 4; db++ {
		clients[db] = src.client(db)
		defer clients[db].Close()
	}
	mustDo(t, clients[0], "DEL", gone) // now the dataset is what the decoder returned

	got := map[int][]string{}
	types := map[byte]bool{}
	var funcs []string
	for _, r := range recs {
		if r.Kind == KindFunction {
			funcs = append(funcs, r.Code)
			continue
		}
		got[r.DB] = append(got[r.DB], r.Key)
		types[r.Type] = true
		checkPayload(t, r, d.Version())
		if r.Freq < 0 {
			t.Errorf("key %q: no LFU frequency under allkeys-lfu", r.Key)
		}
		dump, err := clients[r.DB].Dump(ctx, r.Key).Result()
		if err != nil {
			t.Errorf("DUMP %q: %v", r.Key, err)
			continue
		}
		if !bytes.Equal([]byte(dump), r.Payload) {
			t.Errorf("key %q (type %d): payload differs from DUMP\n got %x\nwant %x",
				r.Key, r.Type, head(r.Payload), head([]byte(dump)))
		}
		if r.ExpireAt != 0 {
			pt, err := clients[r.DB].PExpireTime(ctx, r.Key).Result()
			if err != nil || pt.Milliseconds() != r.ExpireAt {
				t.Errorf("key %q: ExpireAt %d, PEXPIRETIME %v %v", r.Key, r.ExpireAt, pt, err)
			}
		}
	}
	for _, k := range got {
		sort.Strings(k)
	}
	if want := keysByDB(t, src); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("decoded keys\n%v\nserver keys\n%v", got, want)
	}
	for _, ty := range []byte{typeString, typeSet, typeZset2, typeHash, typeSetIntset,
		typeHashListpack, typeZsetListpack, typeListQuicklist2, typeStreamListpacks2} {
		if !types[ty] {
			t.Errorf("no key of type %d in the RDB: the test data does not cover it", ty)
		}
	}
	libs, err := clients[0].FunctionList(ctx, redis.FunctionListQuery{WithCode: true}).Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(libs) != 1 || len(funcs) != 1 || funcs[0] != libs[0].Code || funcs[0] != testLibrary {
		t.Errorf("functions %q, server has %+v", funcs, libs)
	}

	// Restore everything into a fresh server and compare digests.
	dst := startRedis(t)
	for _, r := range recs {
		c := dst.client(r.DB)
		if r.Kind == KindFunction {
			mustDo(t, c, "FUNCTION", "LOAD", "REPLACE", r.Code)
		} else {
			mustDo(t, c, "RESTORE", r.Key, r.ExpireAt, r.Payload, "REPLACE", "ABSTTL")
		}
		c.Close()
	}
	cdst := dst.client(0)
	defer cdst.Close()
	srcDigest := mustDo(t, clients[0], "DEBUG", "DIGEST")
	dstDigest := mustDo(t, cdst, "DEBUG", "DIGEST")
	if srcDigest != dstDigest {
		t.Errorf("DEBUG DIGEST: source %v, restored %v", srcDigest, dstDigest)
	}
	if strings.Trim(fmt.Sprint(srcDigest), "0") == "" {
		t.Errorf("source digest %v: empty dataset", srcDigest)
	}
	dstLibs, err := cdst.FunctionList(ctx, redis.FunctionListQuery{WithCode: true}).Result()
	if err != nil || len(dstLibs) != 1 || dstLibs[0].Code != testLibrary {
		t.Errorf("restored functions %+v %v", dstLibs, err)
	}
}

// head shortens a payload for a message.
func head(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}
