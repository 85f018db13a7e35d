package verify

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/replicant/replicant/internal/redisreply"
)

// streamInfoFields are the XINFO STREAM fields compared where both sides
// give them (max-deleted-entry-id and entries-added come with 7.0).
var streamInfoFields = []string{"length", "last-generated-id", "max-deleted-entry-id", "entries-added"}

// groupFields are the XINFO GROUPS fields compared. entries-read (and the
// lag derived from it) is not: a 7.0 master propagates XREADGROUP as
// XCLAIM ... LASTID, which does not carry it, so a replica's entries-read
// stays nil or at the value the group was created or restored with while
// the master's counts on. Comparing it would report every stream read
// through replication.
var groupFields = []string{"last-delivered-id", "pending"}

// streamHead is the first read of a stream: metadata, the first entries,
// every group with its consumers and the first of its pending entries.
type streamHead struct {
	info    map[string]string
	entries []entry
	groups  []*group // by name
}

type entry struct {
	id     string
	fields []string
}

type group struct {
	name      string
	fields    map[string]string
	consumers []consumer // by name
	pending   []pendingEntry
}

type consumer struct{ name, pending string }

type pendingEntry struct {
	id, consumer, deliveries string
}

// keyCmd is a command whose key is argument keyPos (so that a cluster
// client routes XINFO by its key, not by its subcommand).
func keyCmd(ctx context.Context, keyPos int8, args ...any) *redis.Cmd {
	c := redis.NewCmd(ctx, args...)
	c.SetFirstKeyPos(keyPos)
	return c
}

// isGone reports the errors of a stream that vanished, changed type or
// lost a group between two reads.
func isGone(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return isWrongType(err) || strings.HasPrefix(msg, "NOGROUP") || strings.Contains(msg, "no such key")
}

// readStreams fills out[j].stream for the streams among pvs: one pipeline
// for metadata, groups and first entries, one for consumers and pending
// entries.
func readStreams(ctx context.Context, c dbConn, keys []string, pvs []pendingValue, streams []int, out []first) error {
	if len(streams) == 0 {
		return nil
	}
	p := c.c.Pipeline()
	cmds := make([][3]*redis.Cmd, len(streams))
	for n, j := range streams {
		key := keys[pvs[j].i]
		cmds[n] = [3]*redis.Cmd{
			keyCmd(ctx, 2, "XINFO", "STREAM", key),
			keyCmd(ctx, 2, "XINFO", "GROUPS", key),
			keyCmd(ctx, 1, "XRANGE", key, "-", "+", "COUNT", firstChunk),
		}
		for _, cmd := range cmds[n] {
			_ = p.Process(ctx, cmd)
		}
	}
	_, _ = p.Exec(ctx)
	for n, j := range streams {
		h, err := streamFrom(cmds[n])
		if isGone(err) {
			out[j].gone = true
			continue
		} else if err != nil {
			return c.wrap(fmt.Sprintf("read stream %q", keys[pvs[j].i]), err)
		}
		out[j].stream = h
	}
	return readGroups(ctx, c, keys, pvs, streams, out)
}

func streamFrom(cmds [3]*redis.Cmd) (*streamHead, error) {
	for _, c := range cmds {
		if err := c.Err(); err != nil {
			return nil, err
		}
	}
	h := &streamHead{info: map[string]string{}}
	for k, v := range redisreply.Map(cmds[0].Val()) {
		h.info[k] = redisreply.String(v)
	}
	list, _ := cmds[1].Val().([]any)
	for _, g := range list {
		m := redisreply.Map(g)
		gr := &group{name: redisreply.String(m["name"]), fields: map[string]string{}}
		for _, f := range groupFields {
			if x, ok := m[f]; ok {
				gr.fields[f] = redisreply.String(x)
			}
		}
		h.groups = append(h.groups, gr)
	}
	sort.Slice(h.groups, func(i, j int) bool { return h.groups[i].name < h.groups[j].name })
	var err error
	h.entries, err = entriesFrom(cmds[2].Val())
	return h, err
}

// readGroups reads the consumers and first pending entries of every group.
func readGroups(ctx context.Context, c dbConn, keys []string, pvs []pendingValue, streams []int, out []first) error {
	type read struct {
		j         int
		g         *group
		consumers *redis.Cmd
		pending   *redis.Cmd
	}
	var reads []read
	p := c.c.Pipeline()
	for _, j := range streams {
		if out[j].gone {
			continue
		}
		key := keys[pvs[j].i]
		for _, g := range out[j].stream.groups {
			r := read{j: j, g: g,
				consumers: keyCmd(ctx, 2, "XINFO", "CONSUMERS", key, g.name),
				pending:   keyCmd(ctx, 1, "XPENDING", key, g.name, "-", "+", firstChunk)}
			_ = p.Process(ctx, r.consumers)
			_ = p.Process(ctx, r.pending)
			reads = append(reads, r)
		}
	}
	if len(reads) == 0 {
		return nil
	}
	_, _ = p.Exec(ctx)
	for _, r := range reads {
		err := r.consumers.Err()
		if err == nil {
			err = r.pending.Err()
		}
		if isGone(err) {
			out[r.j].gone = true
			continue
		} else if err != nil {
			return c.wrap(fmt.Sprintf("read stream %q groups", keys[pvs[r.j].i]), err)
		}
		r.g.consumers = consumersFrom(r.consumers.Val())
		r.g.pending = pendingFrom(r.pending.Val())
	}
	return nil
}

// entriesFrom reads XRANGE's [id, [field, value, ...]] entries.
func entriesFrom(reply any) ([]entry, error) {
	list, _ := reply.([]any)
	out := make([]entry, 0, len(list))
	for _, e := range list {
		pair, ok := e.([]any)
		if !ok || len(pair) != 2 {
			return nil, fmt.Errorf("XRANGE: unexpected entry %v", e)
		}
		fields, _ := pair[1].([]any)
		strs := make([]string, len(fields))
		for i, f := range fields {
			strs[i] = redisreply.String(f)
		}
		out = append(out, entry{id: redisreply.String(pair[0]), fields: strs})
	}
	return out, nil
}

// consumersFrom reads XINFO CONSUMERS: each consumer's name and pending count.
func consumersFrom(reply any) []consumer {
	list, _ := reply.([]any)
	out := make([]consumer, 0, len(list))
	for _, c := range list {
		m := redisreply.Map(c)
		out = append(out, consumer{name: redisreply.String(m["name"]), pending: redisreply.String(m["pending"])})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// pendingFrom reads XPENDING's [id, consumer, idle, deliveries] rows;
// idle times are left out.
func pendingFrom(reply any) []pendingEntry {
	list, _ := reply.([]any)
	out := make([]pendingEntry, 0, len(list))
	for _, row := range list {
		if r, _ := row.([]any); len(r) >= 4 {
			out = append(out, pendingEntry{redisreply.String(r[0]), redisreply.String(r[1]), redisreply.String(r[3])})
		}
	}
	return out
}

// compareStream compares metadata, entries and groups, reading on past the
// first chunks where they are full.
func (v *verifier) compareStream(ctx context.Context, p *pair, key string, s, d *streamHead) (string, error) {
	for _, f := range streamInfoFields {
		sv, sok := s.info[f]
		dv, dok := d.info[f]
		if sok && dok && sv != dv {
			return fmt.Sprintf("%s: %s vs %s", f, sv, dv), nil
		}
	}
	detail, err := compareEntries(ctx, p, key, s.entries, d.entries)
	if detail != "" || err != nil {
		return detail, err
	}
	return compareGroups(ctx, p, key, s.groups, d.groups)
}

// compareEntries compares the first entries, then the rest by id ranges.
func compareEntries(ctx context.Context, p *pair, key string, s, d []entry) (string, error) {
	limit := firstChunk
	for {
		if detail := diffEntries(s, d); detail != "" || len(s) < limit {
			return detail, nil
		}
		start := nextID(s[len(s)-1].id)
		limit = bigChunk
		var err error
		s, d, err = both(p, "XRANGE", func(c redis.UniversalClient) ([]entry, error) {
			r, err := c.Do(ctx, "XRANGE", key, start, "+", "COUNT", limit).Result()
			if err != nil {
				return nil, err
			}
			return entriesFrom(r)
		})
		if err != nil {
			return "", err
		}
	}
}

// diffEntries compares two runs of entries in id order.
func diffEntries(s, d []entry) string {
	for i := 0; i < min(len(s), len(d)); i++ {
		switch {
		case s[i].id != d[i].id && idLess(s[i].id, d[i].id):
			return fmt.Sprintf("entry %s missing on target", s[i].id)
		case s[i].id != d[i].id:
			return fmt.Sprintf("entry %s extra on target", d[i].id)
		case !equalStrings(s[i].fields, d[i].fields):
			return fmt.Sprintf("entry %s: %s vs %s", s[i].id, fmtFields(s[i].fields), fmtFields(d[i].fields))
		}
	}
	switch n := min(len(s), len(d)); {
	case len(s) > n:
		return fmt.Sprintf("entry %s missing on target", s[n].id)
	case len(d) > n:
		return fmt.Sprintf("entry %s extra on target", d[n].id)
	}
	return ""
}

// compareGroups compares the groups by name: fields, consumers, pending
// entries.
func compareGroups(ctx context.Context, p *pair, key string, s, d []*group) (string, error) {
	dm := make(map[string]*group, len(d))
	for _, g := range d {
		dm[g.name] = g
	}
	for _, sg := range s {
		dg, ok := dm[sg.name]
		if !ok {
			return fmt.Sprintf("group %s missing on target", show(sg.name)), nil
		}
		delete(dm, sg.name)
		detail, err := compareGroup(ctx, p, key, sg, dg)
		if detail != "" || err != nil {
			return fmt.Sprintf("group %s %s", show(sg.name), detail), err
		}
	}
	for _, g := range d {
		if _, extra := dm[g.name]; extra {
			return fmt.Sprintf("group %s extra on target", show(g.name)), nil
		}
	}
	return "", nil
}

func compareGroup(ctx context.Context, p *pair, key string, s, d *group) (string, error) {
	for _, f := range groupFields {
		sv, dv := s.fields[f], d.fields[f]
		if sv != dv {
			return fmt.Sprintf("%s: %s vs %s", f, sv, dv), nil
		}
	}
	if detail := diffConsumers(s.consumers, d.consumers); detail != "" {
		return detail, nil
	}
	return comparePending(ctx, p, key, s.name, s.pending, d.pending)
}

func diffConsumers(s, d []consumer) string {
	dm := make(map[string]string, len(d))
	for _, c := range d {
		dm[c.name] = c.pending
	}
	for _, c := range s {
		dp, ok := dm[c.name]
		switch {
		case !ok:
			return fmt.Sprintf("consumer %s missing on target", show(c.name))
		case dp != c.pending:
			return fmt.Sprintf("consumer %s pending: %s vs %s", show(c.name), c.pending, dp)
		}
		delete(dm, c.name)
	}
	for _, c := range d {
		if _, extra := dm[c.name]; extra {
			return fmt.Sprintf("consumer %s extra on target", show(c.name))
		}
	}
	return ""
}

// comparePending compares pending entries, then the rest by id ranges.
func comparePending(ctx context.Context, p *pair, key, name string, s, d []pendingEntry) (string, error) {
	limit := firstChunk
	for {
		if detail := diffPending(s, d); detail != "" || len(s) < limit {
			return detail, nil
		}
		start := nextID(s[len(s)-1].id)
		limit = bigChunk
		var err error
		s, d, err = both(p, "XPENDING", func(c redis.UniversalClient) ([]pendingEntry, error) {
			r, err := c.Do(ctx, "XPENDING", key, name, start, "+", limit).Result()
			return pendingFrom(r), err
		})
		if err != nil {
			return "", err
		}
	}
}

func diffPending(s, d []pendingEntry) string {
	for i := 0; i < min(len(s), len(d)); i++ {
		switch {
		case s[i].id != d[i].id && idLess(s[i].id, d[i].id):
			return fmt.Sprintf("pending entry %s missing on target", s[i].id)
		case s[i].id != d[i].id:
			return fmt.Sprintf("pending entry %s extra on target", d[i].id)
		case s[i] != d[i]:
			return fmt.Sprintf("pending entry %s: consumer %s deliveries %s vs consumer %s deliveries %s",
				s[i].id, show(s[i].consumer), s[i].deliveries, show(d[i].consumer), d[i].deliveries)
		}
	}
	switch n := min(len(s), len(d)); {
	case len(s) > n:
		return fmt.Sprintf("pending entry %s missing on target", s[n].id)
	case len(d) > n:
		return fmt.Sprintf("pending entry %s extra on target", d[n].id)
	}
	return ""
}

// parseID splits "ms-seq".
func parseID(id string) (ms, seq uint64) {
	a, b, _ := strings.Cut(id, "-")
	ms, _ = strconv.ParseUint(a, 10, 64)
	seq, _ = strconv.ParseUint(b, 10, 64)
	return ms, seq
}

func idLess(a, b string) bool {
	am, as := parseID(a)
	bm, bs := parseID(b)
	return am < bm || am == bm && as < bs
}

// nextID is the smallest id after id (an exclusive range start that works
// before 6.2 too).
func nextID(id string) string {
	ms, seq := parseID(id)
	if seq == ^uint64(0) {
		return strconv.FormatUint(ms+1, 10) + "-0"
	}
	return strconv.FormatUint(ms, 10) + "-" + strconv.FormatUint(seq+1, 10)
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// fmtFields shows an entry's fields and values, long ones cut.
func fmtFields(fields []string) string {
	parts := make([]string, 0, min(len(fields), 8))
	for i, f := range fields {
		if i == 8 {
			parts = append(parts, fmt.Sprintf("... (%d in all)", len(fields)))
			break
		}
		parts = append(parts, show(f))
	}
	return "[" + strings.Join(parts, " ") + "]"
}
