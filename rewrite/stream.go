package rewrite

import (
	"math"
	"strconv"
)

// tempGroup names the consumer group that creates an empty stream with
// neither entries nor groups of its own (XGROUP CREATE … MKSTREAM); it is
// destroyed at once.
const tempGroup = "replicant:tmp"

// isStream reports the RDB types of streams.
func isStream(t byte) bool { return t == typeStream || t == typeStream2 || t == typeStream3 }

// stream sends XADD of every live entry with its id, the stream's last id
// and counters (XSETID), then each group with its last delivered id, its
// consumers and its pending entries.
func (e *emitter) stream(s *streamValue) error {
	for _, m := range s.msgs {
		if err := e.cmd("XADD", append([][]byte{m.id.bytes()}, m.fields...)...); err != nil {
			return err
		}
	}
	if len(s.msgs) == 0 {
		if err := e.emptyStream(); err != nil {
			return err
		}
	}
	if err := e.xsetid(s); err != nil {
		return err
	}
	for _, g := range s.groups {
		if err := e.group(g); err != nil {
			return err
		}
	}
	return nil
}

// emptyStream creates the stream with no entries: a group made with
// MKSTREAM, then destroyed.
func (e *emitter) emptyStream() error {
	err := e.emit([][]byte{[]byte("XGROUP"), []byte("CREATE"), e.key, []byte(tempGroup), []byte("0"), []byte("MKSTREAM")})
	if err != nil {
		return err
	}
	return e.emit([][]byte{[]byte("XGROUP"), []byte("DESTROY"), e.key, []byte(tempGroup)})
}

func (e *emitter) xsetid(s *streamValue) error {
	args := [][]byte{s.lastID.bytes()}
	if e.o.Target.Streams7 && s.typ >= typeStream2 {
		args = append(args, []byte("ENTRIESADDED"), []byte(strconv.FormatUint(s.entriesAdded, 10)),
			[]byte("MAXDELETEDID"), s.maxDeleted.bytes())
	}
	return e.cmd("XSETID", args...)
}

func (e *emitter) group(g streamGroup) error {
	create := [][]byte{[]byte("XGROUP"), []byte("CREATE"), e.key, []byte(g.name), g.lastID.bytes()}
	if e.o.Target.Streams7 && g.hasRead && g.entriesRead != math.MaxUint64 { // MaxUint64: -1, unknown
		create = append(create, []byte("ENTRIESREAD"), []byte(strconv.FormatUint(g.entriesRead, 10)))
	}
	if err := e.emit(create); err != nil {
		return err
	}
	if e.o.Target.Consumers {
		for _, c := range g.consumers {
			err := e.emit([][]byte{[]byte("XGROUP"), []byte("CREATECONSUMER"), e.key, []byte(g.name), []byte(c)})
			if err != nil {
				return err
			}
		}
	}
	for _, p := range g.pending {
		if p.owner == "" {
			continue
		}
		err := e.cmd("XCLAIM", []byte(g.name), []byte(p.owner), []byte("0"), p.id.bytes(),
			[]byte("TIME"), []byte(strconv.FormatUint(p.deliveryTime, 10)),
			[]byte("RETRYCOUNT"), []byte(strconv.FormatUint(p.count, 10)),
			[]byte("FORCE"), []byte("JUSTID"))
		if err != nil {
			return err
		}
	}
	return nil
}
