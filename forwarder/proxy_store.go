package forwarder

import (
	"bytes"
	"strconv"
)

// storeScript runs a store command on the backend of the key it writes
// (KEYS[1]), with the keys it reads, which may live on other backends,
// copied there first as temporary keys: ARGV is n, n temporary names, n
// DUMP payloads ("" for a key that does not exist), then the command with
// the temporary names in place of the keys read. The temporary keys are
// gone when it returns. A script may touch keys it does not declare on a
// standalone backend, and runs atomically there.
const storeScript = `local n = tonumber(ARGV[1])
for i = 1, n do
  redis.call('DEL', ARGV[1 + i])
  if ARGV[1 + n + i] ~= '' then redis.call('RESTORE', ARGV[1 + i], 0, ARGV[1 + n + i]) end
end
local cmd = {}
for j = 2 + 2 * n, #ARGV do cmd[#cmd + 1] = ARGV[j] end
local res = redis.pcall(unpack(cmd))
for i = 1, n do redis.call('DEL', ARGV[1 + i]) end
return res`

// emulateStore applies a store command (the *STORE family, BITOP, PFMERGE,
// SORT ... STORE) whose keys the proxy would send whole to one backend:
// once what is in flight is answered, it reads each key read with DUMP
// through the proxy and runs storeScript on the written key's backend.
// It reports whether args is such a command.
func (p *ProxyStream) emulateStore(args [][]byte) bool {
	if p.cfg.KeyIndexes == nil {
		return false
	}
	at, ok := p.cfg.KeyIndexes(args)
	if !ok {
		return false
	}
	dstAt, ok := storeDestination(args, at)
	if !ok {
		return false
	}
	if !p.settle() {
		return true
	}
	dst := args[dstAt]
	run := append([][]byte(nil), args...)
	var temps, payloads [][]byte
	for _, i := range at {
		if i == dstAt || bytes.Equal(args[i], dst) {
			continue
		}
		dump, ok := p.step(args, cmdDump, args[i])
		if !ok {
			return true
		}
		temp := []byte(string(p.key) + ":tmp:" + strconv.Itoa(len(temps)))
		temps, payloads = append(temps, temp), append(payloads, dump.Str) // nil: absent
		run[i] = temp
	}
	eval := [][]byte{[]byte("EVAL"), []byte(storeScript), []byte("1"), dst, []byte(strconv.Itoa(len(temps)))}
	eval = append(append(append(eval, temps...), payloads...), run...)
	if _, ok := p.step(args, eval...); ok {
		p.emulated.Add(1)
	}
	return true
}
