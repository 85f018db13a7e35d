package replicate

import "github.com/replicant/replicant/forwarder"

// shard is one master of a cluster source and the slots it serves: the
// keys its sync copies.
type shard struct {
	id    string // the node id
	addr  string
	slots []bool // by slot
}

// owns reports whether key (its source name) is in one of the shard's slots.
func (sh *shard) owns(key []byte) bool { return sh.slots[forwarder.Slot(key)] }
