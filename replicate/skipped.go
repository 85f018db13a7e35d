package replicate

import (
	"bytes"
	"sync"
	"sync/atomic"

	"github.com/rs/zerolog"
)

// maxSkippedKeys bounds the snapshot keys whose live writes are held back.
const maxSkippedKeys = 100_000

// skippedKeys are the snapshot keys the target could not represent (a hash
// with field TTLs on a target before 7.4, a stream before 5.0...). Their
// live writes are held back, so that the target never holds a part of
// such a value built by later commands, until a DEL, UNLINK or SET on the
// source replaces the key whole. The zero value is empty and ready.
type skippedKeys struct {
	mu     sync.Mutex
	keys   map[skippedKey]bool // → a held-back write was logged
	n      atomic.Int64        // len(keys), read without the lock
	held   atomic.Int64        // live commands held back
	warned bool                // the bound was reached
}

type skippedKey struct {
	db  int
	key string
}

// reset forgets every key, before a full sync.
func (k *skippedKeys) reset() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.keys = nil
	k.n.Store(0)
	k.warned = false
}

// add notes a skipped key; past maxSkippedKeys it is not noted, with one
// warning.
func (k *skippedKeys) add(db int, key string, log zerolog.Logger) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.keys) >= maxSkippedKeys {
		if !k.warned {
			k.warned = true
			log.Warn().Int("bound", maxSkippedKeys).Msg("snapshot: too many keys skipped to hold back their live writes; those of the next ones are applied as they come, and may build partial values on the target")
		}
		return
	}
	if k.keys == nil {
		k.keys = map[skippedKey]bool{}
	}
	k.keys[skippedKey{db, key}] = false
	k.n.Store(int64(len(k.keys)))
}

// holdBack reports whether a live command of db must be left out because
// it writes a skipped key. A DEL, UNLINK or SET of the key makes it whole
// again: the command goes through and the key is no longer held.
func (k *skippedKeys) holdBack(db int, args [][]byte, keysOf func([][]byte) ([][]byte, bool), log zerolog.Logger) bool {
	if k.n.Load() == 0 || len(args) == 0 {
		return false
	}
	keys, ok := keysOf(args)
	if !ok {
		return false
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	replaces := isAny(args[0], "DEL", "UNLINK", "SET")
	for _, key := range keys {
		sk := skippedKey{db, string(key)}
		logged, hit := k.keys[sk]
		switch {
		case !hit:
			continue
		case replaces:
			delete(k.keys, sk)
			k.n.Store(int64(len(k.keys)))
			continue
		}
		k.held.Add(1)
		if !logged {
			k.keys[sk] = true
			log.Warn().Str("key", sk.key).Int("db", db).Str("cmd", string(bytes.ToUpper(args[0]))).
				Msg("live write to a key the snapshot skipped: held back, with the key's next ones, until a DEL or SET replaces the key")
		}
		return true
	}
	return false
}

func isAny(name []byte, names ...string) bool {
	for _, n := range names {
		if bytes.EqualFold(name, []byte(n)) {
			return true
		}
	}
	return false
}
