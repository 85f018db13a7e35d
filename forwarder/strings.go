package forwarder

import "github.com/replicant/replicant/resp"

var (
	argMSet = []byte("MSET")
	argSet  = []byte("SET")
)

// stringBatch holds the string keys of one db waiting to go out as one
// MSET. Keys and values are copied back to back into data; ends holds the
// end of each in data, key then value.
type stringBatch struct {
	maxKeys  int // Config.StringBatch
	maxBytes int // Config.StringBatchBytes
	db       int
	data     []byte
	ends     []int
	args     [][]byte // scratch for the MSET's arguments
}

// SetString writes a string key of the snapshot with no expiry: key set to
// value in db, whatever it held before, as RESTORE ... REPLACE would. value
// must be the string's exact bytes (rdbstream's Entry.StringValue).
//
// Keys are batched into one MSET per Config.StringBatch keys or
// Config.StringBatchBytes bytes of the same db, which the target applies
// for about half the cost of as many RESTOREs. The batch goes out before
// the next call of any other kind (Restore, LoadFunction, Command), on
// Flush and on Drain, so commands reach the target in the order of the
// calls. A pair larger than the byte bound goes alone as SET key value.
//
// It copies key and value before it returns. A refusal by the target is
// logged with the batch's first key and its size, and counted once per key
// in Stats.RestoreErrors; keys set count in Stats.Restored. The error
// returned is the sticky one.
//
// SetString has no expiry argument: for small values SET ... PXAT saves
// the target little over RESTORE ... ABSTTL, and it needs Redis 6.2.
func (f *Standalone) SetString(db int, key, value []byte) error {
	if err := f.Err(); err != nil {
		return err
	}
	b := &f.strs
	size := len(key) + len(value)
	if len(b.ends) > 0 && (b.db != db || len(b.data)+size > b.maxBytes) {
		if err := f.flushStrings(); err != nil {
			return err
		}
	}
	if size > b.maxBytes {
		if err := f.selectDB(db); err != nil {
			return err
		}
		args := append(f.args[:0], argSet, key, value)
		return f.send(entry{kind: kindStrings, offset: noOffset}, args)
	}
	b.db = db
	b.data = append(b.data, key...)
	b.ends = append(b.ends, len(b.data))
	b.data = append(b.data, value...)
	b.ends = append(b.ends, len(b.data))
	if len(b.ends)/2 >= b.maxKeys {
		return f.flushStrings()
	}
	return nil
}

// flushStrings sends the batched string keys as one MSET, after a SELECT
// when needed. The batch is emptied first, so the Flush that sending may
// call finds nothing to do here.
func (f *Standalone) flushStrings() error {
	b := &f.strs
	if len(b.ends) == 0 {
		return nil
	}
	args := append(b.args[:0], argMSet)
	start := 0
	for _, end := range b.ends {
		args = append(args, b.data[start:end])
		start = end
	}
	b.args = args
	b.data, b.ends = b.data[:0], b.ends[:0]
	if err := f.selectDB(b.db); err != nil {
		return err
	}
	err := f.send(entry{kind: kindStrings, offset: noOffset}, args)
	clear(args) // keep no references for the next batch
	return err
}

// stringsReplied counts and logs the reply to an MSET or SET of
// SetString: every key of it counts, as set or refused.
func (f *Standalone) stringsReplied(e *entry, lbl label, rep *resp.Reply, failed bool) {
	n, _, _ := header(e.bytes(), '*')
	keys := int64(max(n-1, 0) / 2)
	if !failed {
		f.stats.restored.Add(keys)
		return
	}
	f.stats.restoreErrors.Add(keys)
	f.log.Warn().Bytes("cmd", lbl.name).Bytes("key", lbl.arg).Int64("keys", keys).
		Bytes("error", rep.Str).Msg("target refused a batch of string keys")
}
