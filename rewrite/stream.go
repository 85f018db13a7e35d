package rewrite

import (
	"math"
	"sort"
	"strconv"

	"github.com/hdt3213/rdb/model"
)

// tempGroup names the consumer group that creates an empty stream with
// neither entries nor groups of its own (XGROUP CREATE … MKSTREAM); it is
// destroyed at once.
const tempGroup = "replicant:tmp"

func id(s *model.StreamId) []byte {
	if s == nil {
		return []byte("0-0")
	}
	return []byte(strconv.FormatUint(s.Ms, 10) + "-" + strconv.FormatUint(s.Sequence, 10))
}

// stream sends XADD of every live entry with its id, the stream's last id
// and counters (XSETID), then each group with its last delivered id, its
// consumers and its pending entries.
func (e *emitter) stream(s *model.StreamObject) error {
	added := 0
	for _, en := range s.Entries {
		for _, m := range en.Msgs {
			if m.Deleted {
				continue
			}
			if err := e.cmd("XADD", append([][]byte{id(m.Id)}, fieldsOf(en, m)...)...); err != nil {
				return err
			}
			added++
		}
	}
	if added == 0 {
		if err := e.emptyStream(); err != nil {
			return err
		}
	}
	if err := e.xsetid(s); err != nil {
		return err
	}
	for _, g := range s.Groups {
		if err := e.group(g); err != nil {
			return err
		}
	}
	return nil
}

// fieldsOf lists a message's fields and values: in the order of the
// entry's master fields when it has the same ones, else by name (the
// decoder keeps no other order).
func fieldsOf(en *model.StreamEntry, m *model.StreamMessage) [][]byte {
	names := make([]string, 0, len(m.Fields))
	seen := map[string]bool{}
	for _, f := range en.Fields {
		if _, ok := m.Fields[f]; ok && !seen[f] {
			names = append(names, f)
			seen[f] = true
		}
	}
	var rest []string
	for f := range m.Fields {
		if !seen[f] {
			rest = append(rest, f)
		}
	}
	sort.Strings(rest)
	names = append(names, rest...)
	out := make([][]byte, 0, 2*len(names))
	for _, f := range names {
		out = append(out, []byte(f), []byte(m.Fields[f]))
	}
	return out
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

func (e *emitter) xsetid(s *model.StreamObject) error {
	args := [][]byte{id(s.LastId)}
	if e.o.Target.Streams7 && s.Version >= 2 {
		args = append(args, []byte("ENTRIESADDED"), []byte(strconv.FormatUint(s.AddedEntriesCount, 10)),
			[]byte("MAXDELETEDID"), id(s.MaxDeletedId))
	}
	return e.cmd("XSETID", args...)
}

func (e *emitter) group(g *model.StreamGroup) error {
	create := [][]byte{[]byte("CREATE"), e.key, []byte(g.Name), id(g.LastId)}
	if e.o.Target.Streams7 && g.EntriesRead != math.MaxUint64 { // MaxUint64: -1, unknown
		create = append(create, []byte("ENTRIESREAD"), []byte(strconv.FormatUint(g.EntriesRead, 10)))
	}
	if err := e.emit(append([][]byte{[]byte("XGROUP")}, create...)); err != nil {
		return err
	}
	owner := map[string]string{}
	for _, c := range g.Consumers {
		if e.o.Target.Consumers {
			err := e.emit([][]byte{[]byte("XGROUP"), []byte("CREATECONSUMER"), e.key, []byte(g.Name), []byte(c.Name)})
			if err != nil {
				return err
			}
		}
		for _, p := range c.Pending {
			owner[string(id(p))] = c.Name
		}
	}
	for _, p := range g.Pending {
		pid := id(p.Id)
		c, ok := owner[string(pid)]
		if !ok {
			continue
		}
		err := e.cmd("XCLAIM", []byte(g.Name), []byte(c), []byte("0"), pid,
			[]byte("TIME"), []byte(strconv.FormatUint(p.DeliveryTime, 10)),
			[]byte("RETRYCOUNT"), []byte(strconv.FormatUint(p.DeliveryCount, 10)),
			[]byte("FORCE"), []byte("JUSTID"))
		if err != nil {
			return err
		}
	}
	return nil
}
