package redistest

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"strings"
	"sync"

	"github.com/tidwall/redcon"
)

// FakeMaster serves one RDB file to replicas over the replication
// protocol, as a master would for a full resync: it answers the handshake
// (PING, AUTH, REPLCONF), then PSYNC or SYNC with +FULLRESYNC and the file,
// as "$<length>" or, Diskless, as a "$EOF:<mark>" payload, and then keeps
// the link open with no stream. It lets files of any RDB version reach
// replicant through its real replication path, whatever redis-server is
// installed.
type FakeMaster struct {
	Addr string

	rdb      []byte
	diskless bool
	srv      *redcon.Server
	mu       sync.Mutex
	links    []redcon.DetachedConn
}

// StartFakeMaster listens on a free loopback port.
func StartFakeMaster(rdb []byte, diskless bool) (*FakeMaster, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	m := &FakeMaster{Addr: ln.Addr().String(), rdb: rdb, diskless: diskless}
	m.srv = redcon.NewServer("", m.handle, nil, nil)
	go m.srv.Serve(ln)
	return m, nil
}

// Stop closes the listener and every replica link.
func (m *FakeMaster) Stop() {
	m.srv.Close()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, dc := range m.links {
		dc.Close()
	}
}

func (m *FakeMaster) handle(conn redcon.Conn, cmd redcon.Command) {
	switch strings.ToUpper(string(cmd.Args[0])) {
	case "PING":
		conn.WriteString("PONG")
	case "AUTH", "REPLCONF":
		conn.WriteString("OK")
	case "PSYNC", "SYNC":
		dc := conn.Detach()
		m.mu.Lock()
		m.links = append(m.links, dc)
		m.mu.Unlock()
		go m.serve(dc, strings.EqualFold(string(cmd.Args[0]), "PSYNC"))
	default: // INFO, CONFIG, SET of the heartbeat...: a master of no features
		conn.WriteError("ERR unknown command '" + string(cmd.Args[0]) + "'")
	}
}

// serve sends the file, then reads (and drops) the replica's ACKs until
// it leaves.
func (m *FakeMaster) serve(dc redcon.DetachedConn, psync bool) {
	defer dc.Close()
	var b []byte
	if psync {
		b = fmt.Appendf(b, "+FULLRESYNC %s 0\r\n", randomHex(20))
	}
	if m.diskless {
		mark := randomHex(20)
		b = fmt.Appendf(b, "$EOF:%s\r\n", mark)
		b = append(b, m.rdb...)
		b = append(b, mark...)
	} else {
		b = fmt.Appendf(b, "$%d\r\n", len(m.rdb))
		b = append(b, m.rdb...)
	}
	dc.WriteRaw(b)
	if err := dc.Flush(); err != nil {
		return
	}
	br := bufio.NewReader(dc.NetConn())
	for {
		if _, err := br.ReadByte(); err != nil {
			return
		}
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Send writes commands to every replica link as its replication stream,
// after the RDB (call it once the replica streams).
func (m *FakeMaster) Send(cmds ...[]string) error {
	var b []byte
	for _, c := range cmds {
		b = fmt.Appendf(b, "*%d\r\n", len(c))
		for _, a := range c {
			b = fmt.Appendf(b, "$%d\r\n%s\r\n", len(a), a)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, dc := range m.links {
		dc.WriteRaw(b)
		if err := dc.Flush(); err != nil {
			return err
		}
	}
	return nil
}
