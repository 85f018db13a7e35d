package admin

import (
	"context"
	"time"
)

// Provider is what the admin endpoints serve: a running sync.
type Provider interface {
	// Snapshot returns the current figures. It must be cheap and must not
	// block on the network.
	Snapshot() Status
	// Cutover pauses writes on the source, waits up to timeout until the
	// target holds everything the source wrote, and reports. With
	// keepSyncing the source is unpaused and the sync goes on; without it
	// the caller calls Shutdown once it has reported the result.
	Cutover(ctx context.Context, timeout time.Duration, keepSyncing bool) (CutoverResult, error)
	// PauseApplying stops committing to the target (the stream is still
	// read and kept); ResumeApplying goes on.
	PauseApplying()
	ResumeApplying()
	// Shutdown stops the sync cleanly, as SIGTERM does.
	Shutdown()
}

// Status is one reading of a sync's figures.
type Status struct {
	Version        string
	Phase          string // handshake, snapshot, streaming, ...
	Uptime         time.Duration
	Target         string // address, without credentials
	ApplyingPaused bool
	Healthy        bool   // false: /healthz answers 503
	Problem        string // why not healthy
	Shards         []Shard
}

// Shard is the figures of one source shard (one master).
type Shard struct {
	Phase          string
	Source         string // address, without credentials
	ReplID         string
	SourceOffset   int64   // the source's master_repl_offset; -1 when unknown
	ReceivedOffset int64   // stream read and spooled
	AppliedOffset  int64   // stream the target holds
	LagBytes       int64   // source (or received) offset minus applied
	LagSeconds     float64 // age of the newest heartbeat the target holds; -1 when unknown
	KeysRestored   int64
	KeysSkipped    map[string]int64 // by reason: "expired", "refused", "filtered"
	// CommandsSkipped counts stream commands not applied, by reason:
	// "filtered" (all their keys or their db filtered out) and "mixed"
	// (keys on both sides of a filter: reported, not applied).
	CommandsSkipped map[string]int64
	Commands        int64   // stream commands applied
	CommandErrors   int64   // stream commands the target refused
	RestoreErrors   int64   // snapshot keys the target refused
	OpsPerSec       float64 // keys restored plus commands applied, per second, lately
}

// TargetErrors is every error reply of the target: keys and commands.
func (s Shard) TargetErrors() int64 { return s.RestoreErrors + s.CommandErrors }

// CutoverResult is what a successful cutover measured.
type CutoverResult struct {
	SourceOffset  int64   // master_repl_offset read once writes were paused
	AppliedOffset int64   // what the target held when the wait ended
	LagBytes      int64   // zero on success
	LagSeconds    float64 // -1 when unknown
	// WritesPaused is the pause the source's clients saw: from just before
	// CLIENT PAUSE until the paused clients were cut off and the source
	// unpaused (or, if CLIENT UNPAUSE failed, until the pause expires).
	WritesPaused time.Duration
	CaughtUp     time.Duration // from CLIENT PAUSE until the target held everything
	KeepSyncing  bool          // the source was unpaused and the sync goes on
	PausedUntil  time.Time     // when the source's pause would have expired
	// ClientsKilled counts the source's client connections cut off (normal
	// and pubsub, never replicas): without KeepSyncing.
	ClientsKilled int64
	// Rollback holds, without KeepSyncing, the commands that make each
	// source take writes again ("ADDR: CONFIG SET ..."): until then it
	// refuses every write (-NOREPLICAS).
	Rollback []string
}
