package replicate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
)

// The lease: a key on the target, next to the checkpoint key, naming the
// replicant process that writes to it. It is taken before the first write
// and renewed every third of --lease-ttl; another replicant that finds it
// live refuses to start, and one that finds it taken while running stops.
// Its owner id is kept in --state-dir, so that a replicant started again
// after a crash with the same state dir takes it over at once; without
// one, it waits for the lease to expire.

// leaseValue is the lease key's value, JSON.
type leaseValue struct {
	ID        string `json:"id"`       // the owner: the same across restarts with one --state-dir
	Instance  string `json:"instance"` // this process
	Host      string `json:"host"`
	PID       int    `json:"pid"`
	ReplID    string `json:"replid"`       // the source's replication id
	Heartbeat int64  `json:"heartbeat_ms"` // Unix ms of the last renewal
	TTL       int64  `json:"ttl_ms"`       // the lease's lifetime from each renewal
}

// leaseScript sets KEYS[1] to ARGV[2] for ARGV[3] ms unless it holds a
// value without ARGV[1] (another owner), whose value and PTTL it returns.
const leaseScript = `local v = redis.call('GET', KEYS[1])
if v and not string.find(v, ARGV[1], 1, true) then
	return {0, v, redis.call('PTTL', KEYS[1])}
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return {1}`

// releaseScript deletes KEYS[1] if its value holds ARGV[1].
const releaseScript = `local v = redis.call('GET', KEYS[1])
if v and string.find(v, ARGV[1], 1, true) then
	return redis.call('DEL', KEYS[1])
end
return 0`

// lease holds the target's lease for this process.
type lease struct {
	key    string
	c      redis.UniversalClient
	self   leaseValue
	replID func() string
	log    zerolog.Logger
	ok     atomic.Int64 // Unix ms of the last successful renewal
	stop   func()       // ends keep and waits for it; nil before start
}

// leaseHeldError is a live lease of another replicant.
type leaseHeldError struct {
	owner leaseValue
	raw   string        // the value, when it does not parse
	age   time.Duration // since its last renewal
	left  time.Duration // until it expires
}

func (e *leaseHeldError) Error() string {
	who := "id " + e.owner.ID
	if e.owner.ID == "" {
		who = fmt.Sprintf("value %q", e.raw)
	}
	if e.owner.Host != "" {
		who += fmt.Sprintf(", host %s pid %d", e.owner.Host, e.owner.PID)
	}
	return fmt.Sprintf("target is owned by another replicant (%s, heartbeat %s ago, expires in %s); stop it first, or wait for the lease to expire",
		who, roundSeconds(e.age), roundSeconds(e.left))
}

// leaseLostError stops a running sync whose lease another replicant took.
type leaseLostError struct{ error }

func (e leaseLostError) Unwrap() error { return e.error }

func roundSeconds(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	return d.Round(time.Second).String()
}

// ownerIDFile is where the lease's owner id is kept in --state-dir.
const ownerIDFile = "owner-id"

// loadOwnerID reads the owner id kept in dir, or makes one and keeps it.
func loadOwnerID(dir string) (string, error) {
	path := filepath.Join(dir, ownerIDFile)
	b, err := os.ReadFile(path)
	if id := strings.TrimSpace(string(b)); err == nil && len(id) == 16 {
		return id, nil
	}
	if err != nil && !os.IsNotExist(err) {
		return "", fmt.Errorf("state: %w", err)
	}
	id := randomID()
	if err := os.WriteFile(path, []byte(id+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("state: %w", err)
	}
	return id, nil
}

func randomID() string {
	b := make([]byte, 8)
	rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// newLease describes the lease of this process on c.
func newLease(c redis.UniversalClient, key, ownerID string, ttl time.Duration, replID func() string, log zerolog.Logger) *lease {
	host, _ := os.Hostname()
	return &lease{key: key, c: c, replID: replID, log: log, self: leaseValue{
		ID: ownerID, Instance: randomID(), Host: host, PID: os.Getpid(), TTL: ttl.Milliseconds(),
	}}
}

func (l *lease) ttl() time.Duration { return time.Duration(l.self.TTL) * time.Millisecond }

// acquire takes the lease: free, expired, or held by an earlier process
// with the same owner id (one killed, started again with its state dir).
func (l *lease) acquire(ctx context.Context) error {
	err := l.set(ctx, `"id":"`+l.self.ID+`"`)
	if err != nil {
		return err
	}
	l.log.Debug().Str("key", l.key).Str("id", l.self.ID).Msg("target: lease taken")
	return nil
}

// renew renews the lease while this process holds it; a lease gone (a
// FLUSHALL) is taken again.
func (l *lease) renew(ctx context.Context) error {
	return l.set(ctx, `"instance":"`+l.self.Instance+`"`)
}

func (l *lease) set(ctx context.Context, mine string) error {
	v := l.self
	v.ReplID = l.replID()
	v.Heartbeat = time.Now().UnixMilli()
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, l.ttl()/3)
	defer cancel()
	rep, err := l.c.Eval(ctx, leaseScript, []string{l.key}, mine, string(b), v.TTL).Slice()
	if err != nil {
		if isRefusal(err) {
			return fmt.Errorf("target: cannot write the lease key %s (the target user needs EVAL, GET, SET and PTTL on it): %w", l.key, err)
		}
		return fmt.Errorf("target: lease %s: %w", l.key, err)
	}
	if len(rep) == 3 && rep[0] == int64(0) {
		return heldError(rep[1], rep[2])
	}
	l.ok.Store(v.Heartbeat)
	return nil
}

// heldError describes another owner's lease from its value and PTTL.
func heldError(value, pttl any) *leaseHeldError {
	raw, _ := value.(string)
	ms, _ := pttl.(int64)
	e := &leaseHeldError{raw: raw, left: time.Duration(ms) * time.Millisecond}
	if json.Unmarshal([]byte(raw), &e.owner) != nil {
		e.owner = leaseValue{}
	}
	switch {
	case e.owner.TTL > 0 && ms >= 0: // by the target's clock, not ours
		e.age = time.Duration(e.owner.TTL-ms) * time.Millisecond
	case e.owner.Heartbeat > 0:
		e.age = time.Since(time.UnixMilli(e.owner.Heartbeat))
	}
	return e
}

// start renews the lease in the background until release. When another
// replicant takes it, lost is called with a leaseLostError.
func (l *lease) start(lost context.CancelCauseFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.keep(ctx, lost)
	}()
	l.stop = func() {
		cancel()
		<-done
	}
}

// keep renews the lease every third of its lifetime until ctx ends. When
// another replicant holds it, lost is called with a leaseLostError.
func (l *lease) keep(ctx context.Context, lost context.CancelCauseFunc) {
	t := time.NewTicker(l.ttl() / 3)
	defer t.Stop()
	warned := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := l.renew(ctx)
		var held *leaseHeldError
		switch {
		case errors.As(err, &held):
			lost(leaseLostError{fatalError{fmt.Errorf("lost the lease on the target, stopped writing: %w", held)}})
			return
		case err != nil && ctx.Err() == nil && !warned:
			warned = true
			l.log.Warn().Err(err).Msg("target: cannot renew the lease; will keep trying")
		case err == nil && warned:
			warned = false
			l.log.Info().Msg("target: lease renewed again")
		}
	}
}

// release deletes the lease if this process still holds it, and closes
// the client.
func (l *lease) release() {
	if l.stop != nil {
		l.stop()
	}
	defer l.c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := l.c.Eval(ctx, releaseScript, []string{l.key}, `"instance":"`+l.self.Instance+`"`).Err()
	if err != nil {
		l.log.Warn().Err(err).Str("key", l.key).Msg("target: cannot remove the lease; it expires by itself")
	}
}
