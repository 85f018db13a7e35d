package forwarder

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/replicant/replicant/resp"
)

// Add routes one command of the stream: to its slot's group when its keys
// share a slot, split per slot when that keeps its meaning, else as a
// barrier applied alone (emulated, or sent to every master).
func (s *ClusterStream) Add(args [][]byte, endOffset int64) {
	if len(args) == 0 {
		return
	}
	name := strings.ToUpper(string(args[0]))
	switch name {
	case "SELECT":
		if len(args) == 2 {
			s.db, _ = strconv.Atoi(string(args[1]))
		}
		return
	case "MULTI":
		s.inMulti, s.multiSlot = true, -1
		return
	case "EXEC", "DISCARD":
		s.inMulti = false
		return
	case "FLUSHALL", "FLUSHDB", "FUNCTION", "SCRIPT":
		s.addBarrier(args, endOffset)
		return
	}
	if s.db != 0 {
		s.refuse(args, endOffset, fmt.Sprintf("db %d: %v", s.db, ErrClusterDB))
		return
	}
	if why := s.table.refuses(args); why != "" {
		s.refuse(args, endOffset, why) // it would abort its slot's whole group
		return
	}
	at, ok := s.keyIndexes(args)
	if !ok || len(at) == 0 {
		if name == "PUBLISH" && len(args) > 1 {
			s.addToSlot(s.slots.shardOf(args[1]), args, endOffset)
			return
		}
		s.refuse(args, endOffset, "a command with no key cannot be routed in a cluster")
		return
	}
	slot := s.slots.shardOf(args[at[0]])
	if s.sameSlot(args, at, slot) {
		s.noteTxnSlot(slot)
		s.addToSlot(slot, args, endOffset)
		return
	}
	s.noteTxnSlot(-2)
	s.addCrossSlot(name, args, at, endOffset)
}

func (s *ClusterStream) keyIndexes(args [][]byte) ([]int, bool) {
	if s.cfg.KeyIndexes == nil {
		if len(args) < 2 {
			return nil, false
		}
		return []int{1}, true
	}
	return s.cfg.KeyIndexes(args)
}

func (s *ClusterStream) sameSlot(args [][]byte, at []int, slot int) bool {
	for _, i := range at[1:] {
		if s.slots.shardOf(args[i]) != slot {
			return false
		}
	}
	return true
}

// noteTxnSlot logs once when a transaction of the source spans slots: it
// is then applied atomically per slot only.
func (s *ClusterStream) noteTxnSlot(slot int) {
	if !s.inMulti || s.warnedTxn {
		return
	}
	if s.multiSlot == -1 {
		s.multiSlot = slot
		return
	}
	if s.multiSlot != slot {
		s.warnedTxn = true
		s.log.Warn().Msg("a transaction of the source spans hash slots: it is applied atomically per slot (logged once)")
	}
}

// refuse counts a command that cannot be applied, and says why.
func (s *ClusterStream) refuse(args [][]byte, endOffset int64, why string) {
	s.errors.Add(1)
	key := ""
	if len(args) > 1 {
		key = quoteKey(args[1])
	}
	s.log.Warn().Str("cmd", upperName(args)).Str("key", key).Int64("offset", endOffset).Str("reason", why).
		Msg("command left out: the cluster target cannot apply it")
}

// addCrossSlot splits a multi-key command per slot, or makes it a barrier
// to emulate.
func (s *ClusterStream) addCrossSlot(name string, args [][]byte, at []int, endOffset int64) {
	switch name {
	case "DEL", "UNLINK", "TOUCH", "EXISTS":
		for _, i := range at {
			s.addToSlot(s.slots.shardOf(args[i]), [][]byte{args[0], args[i]}, endOffset)
		}
	case "MSET", "MSETNX": // MSETNX reaches replicas only when it set every key
		s.splitPairs(args, endOffset)
	default:
		if emulations[name] == nil {
			s.refuse(args, endOffset, "its keys span hash slots and it has no emulation")
			return
		}
		s.addBarrier(args, endOffset)
	}
}

// splitPairs sends an MSET per slot, key order kept.
func (s *ClusterStream) splitPairs(args [][]byte, endOffset int64) {
	bySlot := map[int][][]byte{}
	var order []int
	for i := 1; i+1 < len(args); i += 2 {
		slot := s.slots.shardOf(args[i])
		if bySlot[slot] == nil {
			bySlot[slot] = [][]byte{[]byte("MSET")}
			order = append(order, slot)
		}
		bySlot[slot] = append(bySlot[slot], args[i], args[i+1])
	}
	for _, slot := range order {
		s.addToSlot(slot, bySlot[slot], endOffset)
	}
}

// applyBarrier applies one command alone, once everything sent before it
// is confirmed.
func (s *ClusterStream) applyBarrier(ctx context.Context, st *step) error {
	if err := s.waitSent(ctx); err != nil {
		return err
	}
	args := st.barrier
	name := strings.ToUpper(string(args[0]))
	switch name {
	case "FLUSHALL", "FLUSHDB", "FUNCTION", "SCRIPT":
		return s.everyMaster(ctx, args)
	}
	at, _ := s.keyIndexes(args)
	if s.emulatedAlready(args, at, st.off) {
		return nil
	}
	if err := emulations[name](ctx, s, args, at); err != nil {
		return err
	}
	s.commands.Add(1)
	return s.markSlots(ctx, args, at, st.off)
}

// everyMaster sends args to every master; FLUSHDB becomes FLUSHALL (a
// cluster has one db).
func (s *ClusterStream) everyMaster(ctx context.Context, args [][]byte) error {
	if bytes.EqualFold(args[0], []byte("FLUSHDB")) {
		args = append([][]byte{[]byte("FLUSHALL")}, args[1:]...)
	}
	for _, addr := range s.slots.masterAddrs() {
		rep, err := s.run.Node(ctx, addr, args...)
		if err != nil {
			return err
		}
		if err := rep.Err(); err != nil {
			s.errors.Add(1)
			s.log.Warn().Str("cmd", upperName(args)).Str("target", addr).Err(err).Msg("target refused a command")
			continue
		}
	}
	s.commands.Add(1)
	return nil
}

// emulatedAlready reports a barrier that every slot it touches says is
// applied (a replay after a crash).
func (s *ClusterStream) emulatedAlready(args [][]byte, at []int, off int64) bool {
	for _, i := range at {
		if done, ok := s.slotDone[s.slots.shardOf(args[i])]; !ok || done < off {
			return false
		}
	}
	return len(at) > 0
}

// markSlots records off as applied in the checkpoint of every slot the
// command touched.
func (s *ClusterStream) markSlots(ctx context.Context, args [][]byte, at []int, off int64) error {
	seen := map[int]bool{}
	val := []byte(strconv.FormatInt(off, 10))
	for _, i := range at {
		slot := s.slots.shardOf(args[i])
		if seen[slot] {
			continue
		}
		seen[slot] = true
		key := []byte(s.slotKey(slot))
		if _, err := s.run.Run(ctx, key, []byte("SET"), key, val); err != nil {
			return err
		}
	}
	return nil
}

// An emulation reproduces a multi-key write whose keys span slots with
// commands each in one slot, reading the target (which holds the stream up
// to this command) where it needs values.
type emulation func(ctx context.Context, s *ClusterStream, args [][]byte, at []int) error

var emulations map[string]emulation

func init() {
	emulations = map[string]emulation{
		"RENAME": emulateRename, "RENAMENX": emulateRename, "COPY": emulateCopy,
		"SMOVE": emulateSMove, "LMOVE": emulateLMove, "BLMOVE": emulateLMove,
		"RPOPLPUSH": emulateLMove, "BRPOPLPUSH": emulateLMove,
	}
	for name := range storeCommands {
		emulations[name] = emulateStore
	}
}

// storeCommands write one key from the values of others. The written key
// is the first key, or for those with a STORE option, the last.
var storeCommands = map[string]bool{
	"SUNIONSTORE": false, "SINTERSTORE": false, "SDIFFSTORE": false, "ZUNIONSTORE": false,
	"ZINTERSTORE": false, "ZDIFFSTORE": false, "ZRANGESTORE": false, "BITOP": false,
	"PFMERGE": false, "GEOSEARCHSTORE": false,
	"SORT": true, "GEORADIUS": true, "GEORADIUSBYMEMBER": true,
}

// storeDestination returns the position in args of the key a store
// command writes, given its key positions at; ok is false for any other
// command.
func storeDestination(args [][]byte, at []int) (int, bool) {
	last, ok := storeCommands[strings.ToUpper(string(args[0]))]
	if !ok || len(at) == 0 {
		return 0, false
	}
	if last {
		return at[len(at)-1], true
	}
	return at[0], true
}

// run sends one command routed by key and returns an error for a lost
// connection or an error reply.
func (s *ClusterStream) call(ctx context.Context, key []byte, args ...[]byte) (resp.Reply, error) {
	rep, err := s.run.Run(ctx, key, args...)
	if err != nil {
		return rep, err
	}
	if err := rep.Err(); err != nil {
		s.errors.Add(1)
		s.log.Warn().Str("cmd", upperName(args)).Str("key", quoteKey(key)).Err(err).Msg("target refused a command of an emulation")
	}
	return rep, nil
}

// steps runs the steps of an emulation with call, each routed by its
// cmd[1]: an error reply is logged and counted and lets the emulation go
// on where its value is not needed; a lost connection stops it, and *err
// holds it.
func (s *ClusterStream) steps(ctx context.Context, err *error) stepFunc {
	return func(cmd ...[]byte) (resp.Reply, bool) {
		rep, e := s.call(ctx, cmd[1], cmd...)
		*err = e
		return rep, e == nil
	}
}

// copyKey sets dst to src's value and expiry with the shared moveKey (an
// expiry of less than 1 ms left is not kept); false when src does not
// exist or its DUMP failed.
func (s *ClusterStream) copyKey(ctx context.Context, src, dst []byte) (bool, error) {
	var err error
	out := moveKey(s.steps(ctx, &err), src, dst, false, false)
	return out == moveDone, err
}

func emulateRename(ctx context.Context, s *ClusterStream, args [][]byte, at []int) error {
	var err error
	moveKey(s.steps(ctx, &err), args[1], args[2], true, false)
	return err
}

func emulateCopy(ctx context.Context, s *ClusterStream, args [][]byte, at []int) error {
	for _, a := range args[3:] {
		if bytes.EqualFold(a, []byte("DB")) {
			s.refuse(args, 0, "COPY ... DB has no meaning in a cluster")
			return nil
		}
	}
	_, err := s.copyKey(ctx, args[1], args[2])
	return err
}

func emulateSMove(ctx context.Context, s *ClusterStream, args [][]byte, at []int) error {
	if len(args) != 4 {
		return nil
	}
	if _, err := s.call(ctx, args[1], []byte("SREM"), args[1], args[3]); err != nil {
		return err
	}
	_, err := s.call(ctx, args[2], []byte("SADD"), args[2], args[3])
	return err
}

// emulateLMove pops from the source list and pushes onto the destination:
// LMOVE src dst LEFT|RIGHT LEFT|RIGHT, RPOPLPUSH src dst (RIGHT, LEFT).
func emulateLMove(ctx context.Context, s *ClusterStream, args [][]byte, at []int) error {
	from, to := []byte("RIGHT"), []byte("LEFT")
	if len(args) >= 5 {
		from, to = args[3], args[4]
	}
	var err error
	moveElement(s.steps(ctx, &err), args[1], args[2], from, to)
	return err
}

// emulateStore runs a command that writes one key from others (the *STORE
// family, BITOP, PFMERGE, SORT ... STORE): the keys in other slots are
// copied next to the written one, as temporary keys with its hash tag,
// the command runs on them there, and the copies are removed.
func emulateStore(ctx context.Context, s *ClusterStream, args [][]byte, at []int) error {
	dstAt, _ := storeDestination(args, at)
	dst := args[dstAt]
	slot := s.slots.shardOf(dst)
	run := append([][]byte(nil), args...)
	var temps [][]byte
	defer func() {
		for _, t := range temps {
			s.call(context.WithoutCancel(ctx), t, []byte("DEL"), t)
		}
	}()
	for _, i := range at {
		if i == dstAt || s.slots.shardOf(args[i]) == slot {
			continue
		}
		name, err := s.slots.keyOn(s.cfg.CheckpointKey+":tmp:"+strconv.Itoa(len(temps)), slot)
		if err != nil {
			return err
		}
		temp := []byte(name)
		temps = append(temps, temp)
		copied, err := s.copyKey(ctx, args[i], temp)
		if err != nil {
			return err
		}
		if !copied { // an absent key reads as empty; no leftover may stand in
			if _, err := s.call(ctx, temp, []byte("DEL"), temp); err != nil {
				return err
			}
		}
		run[i] = temp
	}
	_, err := s.call(ctx, dst, run...)
	return err
}
