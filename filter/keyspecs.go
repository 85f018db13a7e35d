package filter

import (
	"bytes"
	"strconv"
	"strings"
)

// KeySpec is where a command's keys are: the classic first key, last key
// (negative: counted from the end, -1 the last argument) and step of
// COMMAND INFO, and whether the command has movable keys.
type KeySpec struct {
	First, Last, Step int
	Movable           bool
}

// KeySpecs holds the KeySpec of each command, by lower-case name.
type KeySpecs map[string]KeySpec

// CommandInfo is the part of one COMMAND reply entry KeySpecs needs (the
// fields of go-redis's CommandInfo of the same names).
type CommandInfo struct {
	Name                               string
	FirstKeyPos, LastKeyPos, StepCount int
	Flags                              []string
}

// FromCommandInfo builds KeySpecs from the source's COMMAND reply.
func FromCommandInfo(infos []CommandInfo) KeySpecs {
	ks := make(KeySpecs, len(infos))
	for _, in := range infos {
		spec := KeySpec{First: in.FirstKeyPos, Last: in.LastKeyPos, Step: in.StepCount}
		for _, f := range in.Flags {
			if strings.EqualFold(f, "movablekeys") {
				spec.Movable = true
			}
		}
		ks[strings.ToLower(in.Name)] = spec
	}
	return ks
}

// Builtin is the table used when the source refuses COMMAND: the write
// commands a replication stream commonly carries.
func Builtin() KeySpecs {
	ks := KeySpecs{}
	add := func(spec KeySpec, names string) {
		for _, n := range strings.Fields(names) {
			ks[n] = spec
		}
	}
	add(KeySpec{1, 1, 1, false}, `set setnx setex psetex append incr decr incrby decrby incrbyfloat
		getset getdel getex setrange setbit bitfield expire pexpire expireat pexpireat persist restore
		lpush rpush lpushx rpushx lpop rpop lset linsert ltrim lrem sadd srem spop
		hset hsetnx hmset hdel hincrby hincrbyfloat zadd zincrby zrem zremrangebyscore
		zremrangebyrank zremrangebylex zpopmin zpopmax geoadd pfadd pfdebug
		xadd xdel xtrim xack xclaim xautoclaim xsetid hexpire hpexpire hexpireat hpexpireat hpersist
		hgetdel hgetex hsetex`)
	add(KeySpec{1, -1, 1, false}, "del unlink touch pfmerge sinterstore sunionstore sdiffstore")
	add(KeySpec{2, -1, 1, false}, "bitop")
	add(KeySpec{1, 2, 1, false}, "rename renamenx smove lmove rpoplpush copy brpoplpush blmove geosearchstore zrangestore")
	add(KeySpec{1, -1, 2, false}, "mset msetnx")
	add(KeySpec{1, 1, 1, false}, "move")
	add(KeySpec{1, 1, 1, true}, "sort sort_ro georadius georadiusbymember zunionstore zinterstore zdiffstore")
	add(KeySpec{0, 0, 0, true}, "eval evalsha eval_ro evalsha_ro fcall fcall_ro lmpop zmpop blmpop bzmpop")
	return ks
}

// Keys returns the keys of the command args (args[0] its name). ok is
// false for a command ks does not know: its keys cannot be judged.
func (ks KeySpecs) Keys(args [][]byte) (keys [][]byte, ok bool) {
	at, ok := ks.KeyIndexes(args)
	for _, i := range at {
		keys = append(keys, args[i])
	}
	return keys, ok
}

// KeyIndexes returns where the keys of the command args are, in order.
// ok is false for a command ks does not know.
func (ks KeySpecs) KeyIndexes(args [][]byte) (at []int, ok bool) {
	if len(args) == 0 {
		return nil, true
	}
	name := strings.ToLower(string(args[0]))
	if at, handled := movableKeys(name, args); handled {
		return at, true
	}
	spec, ok := ks[name]
	if !ok {
		return nil, false
	}
	return spec.indexes(args), true
}

func (spec KeySpec) indexes(args [][]byte) []int {
	if spec.First <= 0 || spec.First >= len(args) {
		return nil
	}
	last := spec.Last
	if last < 0 {
		last += len(args)
	}
	last = min(last, len(args)-1)
	step := max(spec.Step, 1)
	var at []int
	for i := spec.First; i <= last; i += step {
		at = append(at, i)
	}
	return at
}

// movableKeys finds the keys of the commands with movable keys that can
// appear in a replication stream; handled is false for every other.
func movableKeys(name string, args [][]byte) (at []int, handled bool) {
	switch name {
	case "eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro", "blmpop", "bzmpop":
		return counted(args, 2), true
	case "lmpop", "zmpop":
		return counted(args, 1), true
	case "zunionstore", "zinterstore", "zdiffstore":
		if len(args) < 2 {
			return nil, true
		}
		return append([]int{1}, counted(args, 2)...), true
	case "sort", "sort_ro":
		return withOption(args, 2, "STORE"), true
	case "georadius", "georadiusbymember":
		return withOption(args, 2, "STORE", "STOREDIST"), true
	case "xgroup":
		if len(args) < 3 {
			return nil, true
		}
		return []int{2}, true
	}
	return nil, false
}

// counted finds "numkeys key ..." with numkeys at args[at].
func counted(args [][]byte, at int) []int {
	if at >= len(args) {
		return nil
	}
	n, err := strconv.Atoi(string(args[at]))
	if err != nil || n <= 0 {
		return nil
	}
	var keys []int
	for i := at + 1; i < min(at+1+n, len(args)); i++ {
		keys = append(keys, i)
	}
	return keys
}

// withOption finds args[1] and the argument after each of the options
// (case-insensitive), searched from args[from].
func withOption(args [][]byte, from int, opts ...string) []int {
	if len(args) < 2 {
		return nil
	}
	keys := []int{1}
	for i := from; i+1 < len(args); i++ {
		for _, o := range opts {
			if bytes.EqualFold(args[i], []byte(o)) {
				keys = append(keys, i+1)
				i++
				break
			}
		}
	}
	return keys
}
