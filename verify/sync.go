package verify

import (
	"errors"
	"strings"

	"github.com/replicant/replicant/filter"
)

// UseFilter makes c compare only what a sync with the filter fc copies:
// the databases and keys fc leaves out are left out on both sides
// (Config.Keep), and its database map applies (Config.DBMap). Its
// commands (DenyCommands) do not matter here. A key prefix on the target
// (fc.KeyPrefix) is not supported: UseFilter returns an error.
func (c *Config) UseFilter(fc filter.Config) error {
	if len(fc.KeyPrefix) > 0 {
		return errKeyPrefix
	}
	f, err := filter.New(fc)
	if err != nil {
		return err
	}
	c.DBMap = fc.DBMap
	if f.LeavesOut() {
		c.Keep = func(db int, key string) bool { return f.KeepKey(db, []byte(key)) }
	}
	return nil
}

var errKeyPrefix = errors.New("verify: a filter with key prefixes (filter.Config.KeyPrefix) is not supported")

// SkipSyncKeys adds to SkipKeys the keys a replicant sync keeps for
// itself: its checkpoint key (on the target) and heartbeat key (on the
// source), each with the keys named after it (per slot of a cluster
// target, per shard of a cluster source). An empty name adds nothing.
func (c *Config) SkipSyncKeys(checkpointKey, heartbeatKey string) {
	for _, k := range []string{checkpointKey, heartbeatKey} {
		if k != "" {
			c.SkipKeys = append(c.SkipKeys, exactGlob(k)+"*")
		}
	}
}

// exactGlob returns a SkipKeys glob that matches exactly key: its glob
// characters escaped, and, for a key without any, one letter or digit
// written as a one-character class so that the entry is read as a glob,
// not a prefix. A key with neither stays a prefix.
func exactGlob(key string) string {
	if !strings.ContainsAny(key, `*?[]\`) {
		for i := 0; i < len(key); i++ {
			if c := key[i]; ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') {
				return key[:i] + "[" + string(c) + "]" + key[i+1:]
			}
		}
		return key
	}
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		if strings.IndexByte(`*?[]\`, key[i]) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(key[i])
	}
	return b.String()
}
