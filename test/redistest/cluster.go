package redistest

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/replicant/replicant/internal/redisreply"
)

// ErrNoRedisCLI is returned by StartCluster when redis-cli, which creates
// and reshards the cluster, is not in PATH.
var ErrNoRedisCLI = errors.New("redis-cli not found in PATH: install redis-tools (make test does it)")

// SlotCount is the number of hash slots of a Redis Cluster.
const SlotCount = 16384

// clusterNodeTimeout is each node's cluster-node-timeout in ms: long enough
// that a loaded test machine does not provoke failovers of its own.
const clusterNodeTimeout = 5000

// Cluster is a Redis Cluster of redis-server processes started by
// StartCluster, each on a free loopback port in its own directory. Stop it
// when done.
type Cluster struct {
	// Client routes by slot and follows redirections (go-redis).
	Client *redis.ClusterClient

	nodes []*Server
	cli   string // the redis-cli binary
}

// StartCluster starts masters*(1+replicasPerMaster) nodes with
// --cluster-enabled yes, joins them with redis-cli --cluster create
// (--cluster-replicas replicasPerMaster, so the first masters nodes become
// the masters) and waits until every node reports cluster_state:ok and
// all agree on who serves each slot.
func StartCluster(ctx context.Context, masters, replicasPerMaster int) (*Cluster, error) {
	if masters < 3 {
		return nil, fmt.Errorf("redistest: a cluster needs at least 3 masters, not %d", masters)
	}
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		return nil, ErrNoRedisCLI
	}
	c := &Cluster{cli: cli}
	for range masters * (1 + replicasPerMaster) {
		s, err := Start(ctx, Options{Args: []string{
			"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", strconv.Itoa(clusterNodeTimeout),
		}})
		if err != nil {
			c.Stop()
			return nil, err
		}
		c.nodes = append(c.nodes, s)
	}
	args := append([]string{"--cluster", "create"}, c.Addrs()...)
	args = append(args, "--cluster-replicas", strconv.Itoa(replicasPerMaster), "--cluster-yes")
	if err := c.redisCLI(ctx, args...); err != nil {
		c.Stop()
		return nil, err
	}
	if err := c.WaitStable(ctx); err != nil {
		c.Stop()
		return nil, err
	}
	c.Client = redis.NewClusterClient(&redis.ClusterOptions{
		Addrs: c.Addrs(), DisableIndentity: true, ReadTimeout: 30 * time.Second,
	})
	return c, nil
}

// redisCLI runs redis-cli with args and returns its output in the error
// when it fails.
func (c *Cluster) redisCLI(ctx context.Context, args ...string) error {
	out, err := exec.CommandContext(ctx, c.cli, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("redistest: redis-cli %s: %w\n%s", strings.Join(args, " "), err, tailText(string(out), 20))
	}
	return nil
}

func tailText(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Stop stops every node (by pid, as Server.Stop) and closes the client.
func (c *Cluster) Stop() error {
	var errs []error
	if c.Client != nil {
		errs = append(errs, c.Client.Close())
	}
	for _, s := range c.nodes {
		errs = append(errs, s.Stop())
	}
	return errors.Join(errs...)
}

// Nodes returns every node, masters and replicas, in the order started.
func (c *Cluster) Nodes() []*Server { return c.nodes }

// Addrs returns the address of every node.
func (c *Cluster) Addrs() []string {
	addrs := make([]string, len(c.nodes))
	for i, s := range c.nodes {
		addrs[i] = s.Addr
	}
	return addrs
}

// node returns the node listening on addr, or nil.
func (c *Cluster) node(addr string) *Server {
	for _, s := range c.nodes {
		if s.Addr == addr {
			return s
		}
	}
	return nil
}

// NodeID returns the cluster node id of s (CLUSTER MYID).
func NodeID(ctx context.Context, s *Server) (string, error) {
	id, err := s.Client.Do(ctx, "CLUSTER", "MYID").Text()
	if err != nil {
		return "", fmt.Errorf("redistest: CLUSTER MYID on %s: %w", s.Addr, err)
	}
	return id, nil
}

// Masters returns the nodes that serve slots, as the first node that
// answers CLUSTER SLOTS sees it, in the order of their first slot.
func (c *Cluster) Masters(ctx context.Context) ([]*Server, error) {
	owners, err := c.SlotOwners(ctx)
	if err != nil {
		return nil, err
	}
	var masters []*Server
	seen := map[*Server]bool{}
	for _, s := range owners {
		if s != nil && !seen[s] {
			seen[s] = true
			masters = append(masters, s)
		}
	}
	return masters, nil
}

// ReplicasOf returns the nodes that ROLE reports as replicas of master.
func (c *Cluster) ReplicasOf(ctx context.Context, master *Server) ([]*Server, error) {
	var replicas []*Server
	for _, s := range c.nodes {
		role, of, err := nodeRole(ctx, s)
		if err != nil {
			return nil, err
		}
		if role == "slave" && of == master.Addr {
			replicas = append(replicas, s)
		}
	}
	return replicas, nil
}

// nodeRole returns ROLE's first field and, for a replica, its master's
// address.
func nodeRole(ctx context.Context, s *Server) (role, master string, err error) {
	r, err := s.Client.Do(ctx, "ROLE").Slice()
	if err != nil || len(r) == 0 {
		return "", "", fmt.Errorf("redistest: ROLE on %s: %v", s.Addr, err)
	}
	role = fmt.Sprint(r[0])
	if role == "slave" && len(r) >= 3 {
		master = fmt.Sprintf("%v:%v", r[1], r[2])
	}
	return role, master, nil
}

// SlotOwners returns the master serving each slot according to CLUSTER
// SLOTS of the first node that answers (nil for a slot no node serves).
func (c *Cluster) SlotOwners(ctx context.Context) ([]*Server, error) {
	var lastErr error
	for _, s := range c.nodes {
		m, err := c.slotMap(ctx, s)
		if err == nil {
			return m, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

// slotMap reads CLUSTER SLOTS from s.
func (c *Cluster) slotMap(ctx context.Context, s *Server) ([]*Server, error) {
	ranges, err := s.Client.ClusterSlots(ctx).Result()
	if err != nil {
		return nil, fmt.Errorf("redistest: CLUSTER SLOTS on %s: %w", s.Addr, err)
	}
	owners := make([]*Server, SlotCount)
	for _, r := range ranges {
		if len(r.Nodes) == 0 {
			continue
		}
		owner := c.node(r.Nodes[0].Addr)
		if owner == nil {
			return nil, fmt.Errorf("redistest: CLUSTER SLOTS on %s names %s, not a node of this cluster", s.Addr, r.Nodes[0].Addr)
		}
		for slot := r.Start; slot <= r.End && slot < SlotCount; slot++ {
			owners[slot] = owner
		}
	}
	return owners, nil
}

// WaitStable polls until every node reports cluster_state:ok, knows every
// other node, and all nodes agree on the master of every slot, with no
// slot left migrating or importing and every replica linked to its master.
func (c *Cluster) WaitStable(ctx context.Context) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		why, err := c.unstable(ctx)
		if err == nil && why == "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("redistest: cluster not stable (%s, last error %v): %w", why, err, ctx.Err())
		case <-tick.C:
		}
	}
}

// unstable says why the cluster is not stable yet, or "".
func (c *Cluster) unstable(ctx context.Context) (string, error) {
	var first []*Server
	for i, s := range c.nodes {
		info, err := s.Client.ClusterInfo(ctx).Result()
		if err != nil {
			return "CLUSTER INFO failed", err
		}
		if st := redisreply.InfoField(info, "cluster_state"); st != "ok" {
			return fmt.Sprintf("%s: cluster_state:%s", s.Addr, st), nil
		}
		if n := redisreply.InfoField(info, "cluster_known_nodes"); n != strconv.Itoa(len(c.nodes)) {
			return fmt.Sprintf("%s knows %s nodes", s.Addr, n), nil
		}
		m, err := c.slotMap(ctx, s)
		if err != nil {
			return "CLUSTER SLOTS failed", err
		}
		if i == 0 {
			first = m
		} else if !reflect.DeepEqual(first, m) {
			return fmt.Sprintf("%s and %s disagree on the slot map", c.nodes[0].Addr, s.Addr), nil
		}
		if why, err := replicaLink(ctx, s); why != "" || err != nil {
			return why, err
		}
		nodes, err := s.Client.ClusterNodes(ctx).Result()
		if err != nil {
			return "CLUSTER NODES failed", err
		}
		if strings.Contains(nodes, "->-") || strings.Contains(nodes, "-<-") {
			return fmt.Sprintf("%s has a slot migrating or importing", s.Addr), nil
		}
	}
	return "", nil
}

// replicaLink says why s, if a replica, is not linked to its master yet,
// or "".
func replicaLink(ctx context.Context, s *Server) (string, error) {
	info, err := s.Client.Info(ctx, "replication").Result()
	if err != nil {
		return "INFO replication failed", err
	}
	if redisreply.InfoField(info, "role") == "slave" && redisreply.InfoField(info, "master_link_status") != "up" {
		return fmt.Sprintf("replica %s: master link %s", s.Addr, redisreply.InfoField(info, "master_link_status")), nil
	}
	return "", nil
}

// Reshard moves slots hash slots (with their keys) from the master from to
// the master to, with redis-cli --cluster reshard, then waits until the
// cluster is stable.
func (c *Cluster) Reshard(ctx context.Context, slots int, from, to *Server) error {
	fromID, err := NodeID(ctx, from)
	if err != nil {
		return err
	}
	toID, err := NodeID(ctx, to)
	if err != nil {
		return err
	}
	err = c.redisCLI(ctx, "--cluster", "reshard", from.Addr, "--cluster-from", fromID, "--cluster-to", toID,
		"--cluster-slots", strconv.Itoa(slots), "--cluster-yes")
	if err != nil {
		return err
	}
	return c.WaitStable(ctx)
}

// failoverWait is how long Failover waits for a CLUSTER FAILOVER to take
// effect before it asks again (a manual failover times out after twice
// the node timeout).
const failoverWait = 3 * clusterNodeTimeout * time.Millisecond

// Failover runs CLUSTER FAILOVER on replica once it is in sync with its
// master, waits until ROLE says it is a master (asking again if a manual
// failover timed out), then until the cluster is stable.
func (c *Cluster) Failover(ctx context.Context, replica *Server) error {
	_, of, err := nodeRole(ctx, replica)
	if err != nil {
		return err
	}
	if master := c.node(of); master != nil {
		if err := WaitInSync(ctx, master, replica); err != nil {
			return err
		}
	}
	for {
		if err := replica.Client.Do(ctx, "CLUSTER", "FAILOVER").Err(); err != nil {
			return fmt.Errorf("redistest: CLUSTER FAILOVER on %s: %w", replica.Addr, err)
		}
		promoted, err := waitRole(ctx, replica, "master", failoverWait)
		if err != nil {
			return fmt.Errorf("%w\nlog tail of %s:\n%s", err, replica.Addr, replica.LogTail(10))
		}
		if promoted {
			return c.WaitStable(ctx)
		}
	}
}

// waitRole polls ROLE on s until it says role (true), d passes (false) or
// ctx ends (an error).
func waitRole(ctx context.Context, s *Server, role string, d time.Duration) (bool, error) {
	deadline := time.Now().Add(d)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		got, _, err := nodeRole(ctx, s)
		if err == nil && got == role {
			return true, nil
		}
		select {
		case <-ctx.Done():
			return false, fmt.Errorf("redistest: %s is %q, not %s (%v): %w", s.Addr, got, role, err, ctx.Err())
		case <-tick.C:
		}
	}
	return false, nil
}

// KeySlot returns the cluster hash slot of key: CRC16 (XMODEM) of the key,
// or of its hash tag (between the first '{' and the next '}', if not
// empty), modulo 16384.
func KeySlot(key string) int {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	var crc uint16
	for i := 0; i < len(key); i++ {
		crc ^= uint16(key[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return int(crc) % SlotCount
}

// CompareCluster compares db 0 of the standalone src with cl key by key, as
// Compare does for two servers: every key of src is read from the master
// serving its slot, then the keys found on the masters and not on src are
// reported extra; then each master's function libraries are compared with
// src's. A non-empty db other than 0 on src is a difference too: a cluster
// has db 0 only. o.DBs is ignored. With o.Digest, each key's DEBUG
// DIGEST-VALUE is compared as well. The slot map is read once at the
// start: compare a cluster that is not being resharded.
func CompareCluster(ctx context.Context, src *Server, cl *Cluster, o CompareOptions) ([]Diff, error) {
	owners, err := cl.SlotOwners(ctx)
	if err != nil {
		return nil, err
	}
	c := &clusterComparer{comparer: comparer{src: src, o: o.withDefaults()}, owners: owners}
	if err := c.otherDBs(ctx); err != nil {
		return c.diffs, err
	}
	seen := map[string]bool{}
	pass := func(s *Server) error {
		return scanKeys(ctx, s.Client, func(page []string) error {
			var keys []string
			for _, k := range page {
				if !seen[k] && (c.o.SkipKeys == nil || !c.o.SkipKeys(k)) {
					keys = append(keys, k)
				}
				seen[k] = true
			}
			return c.compareKeys(ctx, keys)
		})
	}
	if err := pass(src); err != nil {
		return c.diffs, fmt.Errorf("redistest: compare with cluster: source %s: %w", src.Addr, err)
	}
	masters, err := cl.Masters(ctx)
	if err != nil {
		return c.diffs, err
	}
	for _, m := range masters {
		if c.full() {
			return c.diffs, nil
		}
		if err := pass(m); err != nil {
			return c.diffs, fmt.Errorf("redistest: compare with cluster: master %s: %w", m.Addr, err)
		}
	}
	if !c.o.SkipFunctions {
		return c.diffs, c.compareClusterFunctions(ctx, masters)
	}
	return c.diffs, nil
}

// WaitEqualCluster polls CompareCluster every interval until it finds no
// differences or ctx ends, as WaitEqual does.
func WaitEqualCluster(ctx context.Context, src *Server, cl *Cluster, o CompareOptions, every time.Duration) ([]Diff, error) {
	var last []Diff
	var lastErr error
	for {
		diffs, err := CompareCluster(ctx, src, cl, o)
		if err == nil && len(diffs) == 0 {
			return nil, nil
		}
		if ctx.Err() == nil {
			last, lastErr = diffs, err
		}
		select {
		case <-ctx.Done():
			return last, fmt.Errorf("redistest: %s and the cluster still differ (%d diffs, last error %v): %w",
				src.Addr, len(last), lastErr, ctx.Err())
		case <-time.After(every):
		}
	}
}

// clusterComparer compares a standalone source with a cluster; the
// embedded comparer's dst is unused.
type clusterComparer struct {
	comparer
	owners []*Server // by slot
}

// otherDBs adds a Diff for each non-empty source db other than 0.
func (c *clusterComparer) otherDBs(ctx context.Context) error {
	info, err := c.src.Client.Info(ctx, "keyspace").Result()
	if err != nil {
		return fmt.Errorf("redistest: INFO keyspace: %w", err)
	}
	for _, db := range redisreply.KeyspaceDBs(info) {
		if db != 0 {
			c.add(Diff{DB: db, What: "source db not empty: a cluster has db 0 only"})
		}
	}
	return nil
}

// byOwner groups the indexes of keys by the master serving their slot.
func (c *clusterComparer) byOwner(keys []string) (map[*Server][]int, error) {
	groups := map[*Server][]int{}
	for i, k := range keys {
		s := c.owners[KeySlot(k)]
		if s == nil {
			return nil, fmt.Errorf("no master serves slot %d (key %q)", KeySlot(k), k)
		}
		groups[s] = append(groups[s], i)
	}
	return groups, nil
}

// onCluster runs read for the keys of each master and puts the results
// back in the order of keys.
func onCluster[K, T any](c *clusterComparer, keys []K, name func(K) string, read func(*Server, []K) ([]T, error)) ([]T, error) {
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = name(k)
	}
	groups, err := c.byOwner(names)
	if err != nil {
		return nil, err
	}
	out := make([]T, len(keys))
	for s, idx := range groups {
		part := make([]K, len(idx))
		for j, i := range idx {
			part[j] = keys[i]
		}
		got, err := read(s, part)
		if err != nil {
			return nil, fmt.Errorf("master %s: %w", s.Addr, err)
		}
		for j, i := range idx {
			if j < len(got) {
				out[i] = got[j]
			}
		}
	}
	return out, nil
}

func keyName(k string) string        { return k }
func typedKeyName(k typedKey) string { return k.key }

// compareKeys compares presence, type and expiry, then the values of the
// keys whose types agree.
func (c *clusterComparer) compareKeys(ctx context.Context, keys []string) error {
	if len(keys) == 0 || c.full() {
		return nil
	}
	sm, err := readMeta(ctx, c.src.Client, keys)
	if err != nil {
		return err
	}
	dm, err := onCluster(c, keys, keyName, func(s *Server, part []string) ([]keyMeta, error) {
		return readMeta(ctx, s.Client, part)
	})
	if err != nil {
		return err
	}
	var same []typedKey
	for i, k := range keys {
		if what := c.metaDiff(sm[i], dm[i]); what != "" {
			c.add(Diff{Key: k, What: what})
		} else if sm[i].typ != "none" && !c.expiresSoon(sm[i]) && !c.expiresSoon(dm[i]) {
			same = append(same, typedKey{key: k, typ: sm[i].typ})
		}
	}
	if err := c.compareValues(ctx, same); err != nil {
		return err
	}
	if c.o.Digest {
		return c.compareDigests(ctx, same)
	}
	return nil
}

func (c *clusterComparer) compareValues(ctx context.Context, keys []typedKey) error {
	if len(keys) == 0 {
		return nil
	}
	sv, err := readValues(ctx, c.src.Client, keys)
	if err != nil {
		return err
	}
	dv, err := onCluster(c, keys, typedKeyName, func(s *Server, part []typedKey) ([]value, error) {
		return readValues(ctx, s.Client, part)
	})
	if err != nil {
		return err
	}
	for i, k := range keys {
		if what := valueDiff(sv[i], dv[i]); what != "" {
			c.add(Diff{Key: k.key, What: "value differs: " + what})
		}
	}
	return nil
}

// compareDigests compares DEBUG DIGEST-VALUE of each key.
func (c *clusterComparer) compareDigests(ctx context.Context, keys []typedKey) error {
	if len(keys) == 0 {
		return nil
	}
	digests := func(s *Server, part []typedKey) ([]string, error) {
		args := []any{"DEBUG", "DIGEST-VALUE"}
		for _, k := range part {
			args = append(args, k.key)
		}
		return s.Client.Do(ctx, args...).StringSlice()
	}
	sd, err := digests(c.src, keys)
	if err != nil {
		return fmt.Errorf("DEBUG DIGEST-VALUE: %w", err)
	}
	dd, err := onCluster(c, keys, typedKeyName, digests)
	if err != nil {
		return fmt.Errorf("DEBUG DIGEST-VALUE: %w", err)
	}
	for i, k := range keys {
		if i < len(sd) && sd[i] != dd[i] {
			c.add(Diff{Key: k.key, What: fmt.Sprintf("DEBUG DIGEST-VALUE differs: %s vs %s", sd[i], dd[i])})
		}
	}
	return nil
}

// compareClusterFunctions compares the function libraries of src with
// those of each master.
func (c *clusterComparer) compareClusterFunctions(ctx context.Context, masters []*Server) error {
	sl, err := libraries(ctx, c.src.Client)
	if err != nil {
		return fmt.Errorf("redistest: FUNCTION LIST on %s: %w", c.src.Addr, err)
	}
	for _, m := range masters {
		dl, err := libraries(ctx, m.Client)
		if err != nil {
			return fmt.Errorf("redistest: FUNCTION LIST on %s: %w", m.Addr, err)
		}
		for _, name := range sortedKeys(sl) {
			if code, ok := dl[name]; !ok || code != sl[name] {
				c.add(Diff{DB: -1, What: fmt.Sprintf("functions differ: library %q missing or different on master %s", name, m.Addr)})
			}
		}
		for _, name := range sortedKeys(dl) {
			if _, ok := sl[name]; !ok {
				c.add(Diff{DB: -1, What: fmt.Sprintf("functions differ: library %q extra on master %s", name, m.Addr)})
			}
		}
	}
	return nil
}
