package redistest

import (
	"fmt"
	"strconv"
)

// chunk is how many elements one RPUSH/SADD/ZADD/HSET carries.
const chunk = 100

func (f *filler) set(key, value string) {
	f.do("SET", key, value)
	f.created(key)
}

func (f *filler) fillStrings() {
	for i := range f.o.KeysPerType {
		f.set(fmt.Sprintf("str:int:%d", i), strconv.FormatInt(f.rng.Int64N(1<<40)-1<<39, 10))
		f.set(fmt.Sprintf("str:embstr:%d", i), f.text(1+f.rng.IntN(40)))
		f.set(fmt.Sprintf("str:raw:%d", i), f.text(45+f.rng.IntN(500)))
		f.set(fmt.Sprintf("str:bin:%d", i), f.bytes(2+f.rng.IntN(100)))
		f.set(fmt.Sprintf("ключ:ü:😀:%d", i), f.text(1+f.rng.IntN(20)))
		f.set(fmt.Sprintf("bin:\x00\xff\r\n:%d", i), f.bytes(8))
	}
	f.set("str:12345", "12345")
	f.set("str:negative", "-42")
	f.set("str:empty", "")
	if f.o.BigValues {
		f.set("str:1mib", f.bytes(1<<20))
	}
}

// push queues RPUSH key with n elements of size bytes, in chunks.
func (f *filler) push(key string, n, size int) {
	for n > 0 {
		args := []any{"RPUSH", key}
		for ; n > 0 && len(args) < chunk+2; n-- {
			args = append(args, f.text(1+f.rng.IntN(size)))
		}
		f.do(args...)
	}
	f.created(key)
}

func (f *filler) fillLists() {
	for i := range f.o.KeysPerType {
		f.push(fmt.Sprintf("list:small:%d", i), 1+f.rng.IntN(10), 20)
	}
	f.push("list:large:many", 300*f.scale(), 10)
	f.push("list:large:wide", 150*f.scale(), 200) // some elements > 64 bytes
}

// addMembers queues SADD key with n members made by member, in chunks.
func (f *filler) addMembers(key string, n int, member func() string) {
	for n > 0 {
		args := []any{"SADD", key}
		for ; n > 0 && len(args) < chunk+2; n-- {
			args = append(args, member())
		}
		f.do(args...)
	}
	f.created(key)
}

func (f *filler) intMember() string { return strconv.Itoa(f.rng.IntN(1e9) - 5e8) }
func (f *filler) strMember() string { return f.text(4 + f.rng.IntN(20)) }

func (f *filler) fillSets() {
	for i := range f.o.KeysPerType {
		f.addMembers(fmt.Sprintf("set:intset:%d", i), 1+f.rng.IntN(10), f.intMember)
		f.addMembers(fmt.Sprintf("set:strings:%d", i), 1+f.rng.IntN(10), f.strMember)
	}
	f.addMembers("set:intset:large", 600*f.scale(), f.intMember) // > 512: hashtable
	f.addMembers("set:hashtable:large", 200*f.scale(), f.strMember)
}

// specialScores are sorted-set scores that test exact score handling.
var specialScores = []string{
	"+inf", "-inf", "-0", "0", "-2.5", "0.1", "1e-300", "-1.7976931348623157e308",
	"1.7976931348623157e308", "3", "9007199254740993", "-123456789.123456789",
}

// score is a random score, special ones included.
func (f *filler) score() string {
	switch f.rng.IntN(3) {
	case 0:
		return specialScores[f.rng.IntN(len(specialScores))]
	case 1:
		return strconv.Itoa(f.rng.IntN(2000) - 1000)
	default:
		return strconv.FormatFloat((f.rng.Float64()-0.5)*1e6, 'g', -1, 64)
	}
}

// zadd queues ZADD key with n random members, in chunks.
func (f *filler) zadd(key string, n int) {
	for n > 0 {
		args := []any{"ZADD", key}
		for ; n > 0 && len(args) < 2*chunk+2; n-- {
			args = append(args, f.score(), f.strMember())
		}
		f.do(args...)
	}
	f.created(key)
}

func (f *filler) fillZsets() {
	for i := range f.o.KeysPerType {
		f.zadd(fmt.Sprintf("zset:small:%d", i), 1+f.rng.IntN(10))
	}
	args := []any{"ZADD", "zset:special"}
	for i, s := range specialScores {
		args = append(args, s, fmt.Sprintf("m%d", i))
	}
	f.do(args...)
	f.created("zset:special")
	f.zadd("zset:large", 200*f.scale()) // > 128: skiplist
}

// hset queues HSET key with n fields whose values have up to size bytes.
func (f *filler) hset(key string, n, size int) {
	for i := 0; i < n; {
		args := []any{"HSET", key}
		for ; i < n && len(args) < 2*chunk+2; i++ {
			args = append(args, fmt.Sprintf("f%d:%s", i, f.text(3)), f.text(1+f.rng.IntN(size)))
		}
		f.do(args...)
	}
	f.created(key)
}

func (f *filler) fillHashes() {
	for i := range f.o.KeysPerType {
		f.hset(fmt.Sprintf("hash:small:%d", i), 1+f.rng.IntN(10), 20)
	}
	f.hset("hash:large", 200*f.scale(), 20) // > 128 fields: hashtable
	f.hset("hash:wide", 3, 200)             // values > 64 bytes: hashtable
}
