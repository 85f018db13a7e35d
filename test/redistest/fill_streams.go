package redistest

import "fmt"

func (f *filler) fillStreams() {
	f.streamWithGroups("x:full", 30*f.scale())
	f.do("XGROUP", "CREATE", "x:empty", "g0", "$", "MKSTREAM")
	f.created("x:empty")
	ids := f.xadds("x:drained", 3) // length 0, last id and max deleted id set
	f.do("XDEL", "x:drained", ids[0], ids[1], ids[2])
	f.xadds("x:trimmed", 50)
	f.do("XTRIM", "x:trimmed", "MAXLEN", 10)
	for i := range max(1, f.o.KeysPerType/5) {
		f.xadds(fmt.Sprintf("x:small:%d", i), 1+f.rng.IntN(5))
	}
}

// xadds queues n XADDs with explicit, increasing ids (several per
// millisecond) and returns the ids.
func (f *filler) xadds(key string, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%d-%d", 1000+i/3*7, i%3)
		args := []any{"XADD", key, ids[i]}
		for j := range 1 + f.rng.IntN(4) {
			args = append(args, fmt.Sprintf("f%d", j), f.text(1+f.rng.IntN(30)))
		}
		f.do(args...)
	}
	f.created(key)
	return ids
}

// streamWithGroups makes a stream of n (>= 30) entries, some deleted (the
// last one too), group g1 with consumers c1 and c2 holding pending entries
// (one claimed, so delivered twice) and an idle c3, and group g2 that starts
// mid-stream and has read two entries.
func (f *filler) streamWithGroups(key string, n int) {
	ids := f.xadds(key, n)
	f.do("XDEL", key, ids[3], ids[7], ids[n-1])
	f.do("XGROUP", "CREATE", key, "g1", "0")
	f.do("XREADGROUP", "GROUP", "g1", "c1", "COUNT", 5, "STREAMS", key, ">")
	f.do("XREADGROUP", "GROUP", "g1", "c2", "COUNT", 5, "STREAMS", key, ">")
	f.do("XACK", key, "g1", ids[0], ids[1])
	f.do("XCLAIM", key, "g1", "c2", 0, ids[2])
	if versionAtLeast(f.version, 6, 2) {
		f.do("XGROUP", "CREATECONSUMER", key, "g1", "c3")
	}
	f.do("XGROUP", "CREATE", key, "g2", ids[n/2])
	f.do("XREADGROUP", "GROUP", "g2", "c1", "COUNT", 2, "STREAMS", key, ">")
}
