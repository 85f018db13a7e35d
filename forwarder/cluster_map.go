package forwarder

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"time"

	"github.com/replicant/replicant/resp"
)

// slotMap says which master serves each hash slot of a cluster target.
type slotMap struct {
	owner   [SlotCount]string // "host:port"; "" for a slot no master serves
	masters []string          // each master once, sorted
}

// errNoSlots says a cluster target serves no slot: not a cluster, or not
// set up yet.
var errNoSlots = errors.New("the cluster serves no hash slot (not a cluster, or its slots are not assigned)")

// loadSlotMap asks the seeds in turn for CLUSTER SLOTS until one answers.
func loadSlotMap(ctx context.Context, cfg Config, seeds []string) (*slotMap, error) {
	var errs []error
	for _, seed := range seeds {
		c := cfg
		c.Addr = seed
		m, err := querySlotMap(ctx, c)
		if err == nil {
			return m, nil
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("forwarder: cluster target: no seed gave its slot map: %w", errors.Join(errs...))
}

func querySlotMap(ctx context.Context, cfg Config) (*slotMap, error) {
	cfg = cfg.withDefaults()
	conn, rd, err := connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(cfg.DialTimeout))
	rep, err := call(ctx, conn, rd, cfg.Addr, []string{"CLUSTER", "SLOTS"})
	if err != nil {
		return nil, err
	}
	m, err := parseSlots(rep, cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("forwarder: target %s: %w", cfg.Addr, err)
	}
	return m, nil
}

// parseSlots reads CLUSTER SLOTS: [start, end, [host, port, ...], replicas...]
// per range. An empty host means the node that answered.
func parseSlots(rep resp.Reply, asked string) (*slotMap, error) {
	m := &slotMap{}
	askedHost, _, _ := net.SplitHostPort(asked)
	for _, r := range rep.Elems {
		if len(r.Elems) < 3 || len(r.Elems[2].Elems) < 2 {
			return nil, fmt.Errorf("CLUSTER SLOTS: unexpected range %s", r.String())
		}
		start, end := int(r.Elems[0].Int), int(r.Elems[1].Int)
		node := r.Elems[2].Elems
		host := string(node[0].Str)
		if host == "" || host == "?" {
			host = askedHost
		}
		addr := net.JoinHostPort(host, strconv.FormatInt(node[1].Int, 10))
		if start < 0 || end >= SlotCount || start > end {
			return nil, fmt.Errorf("CLUSTER SLOTS: bad range %d-%d", start, end)
		}
		for s := start; s <= end; s++ {
			m.owner[s] = addr
		}
		if !slices.Contains(m.masters, addr) {
			m.masters = append(m.masters, addr)
		}
	}
	if len(m.masters) == 0 {
		return nil, errNoSlots
	}
	slices.Sort(m.masters)
	return m, nil
}

// equal reports whether two maps give every slot the same master.
func (m *slotMap) equal(o *slotMap) bool { return m.owner == o.owner }
