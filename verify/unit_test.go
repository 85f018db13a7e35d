package verify

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestGlobMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true},
		{"a*", "abc", true},
		{"a*", "ba", false},
		{"*:hb", "x:y/z:hb", true},
		{"h?llo", "hello", true},
		{"h?llo", "hllo", false},
		{"h[ae]llo", "hallo", true},
		{"h[^e]llo", "hello", false},
		{"h[a-c]llo", "hbllo", true},
		{"h[a-c]llo", "hdllo", false},
		{`a\*b`, "a*b", true},
		{`a\*b`, "axb", false},
		{"*a*b*c", "xxaxxbxxc", true},
		{"*a*b*c", "xxaxxbxx", false},
	} {
		if got := globMatch(c.pattern, c.s); got != c.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", c.pattern, c.s, got, c.want)
		}
	}
}

func TestSkipper(t *testing.T) {
	s := newSkipper([]string{"replicant:", "*:heartbeat"})
	keys := s.filter([]string{"a", "replicant:ckpt", "x:heartbeat", "heartbeat", "b"})
	if strings.Join(keys, ",") != "a,heartbeat,b" {
		t.Fatalf("kept %q", keys)
	}
}

func TestDiffs(t *testing.T) {
	long := strings.Repeat("x", 100)
	for _, c := range []struct{ got, want string }{
		{diffString("a", "a", 0), ""},
		{diffString("a", "b", 0), `"a" vs "b"`},
		{diffString(long+"a", long+"b", 10), `from byte 110: "a" vs "b"`},
		{diffList([]string{"a", "b"}, []string{"a", "c"}, 5), `index 6: "b" vs "c"`},
		{diffList([]string{"a", "b"}, []string{"a"}, 0), `index 1 on source only (longer on source)`},
		{diffList([]string{"a"}, []string{"a", "b"}, 0), `index 1 on target only (longer on target)`},
		{diffSet([]string{"b", "a"}, []string{"a", "b"}), ""},
		{diffSet([]string{"a", "b"}, []string{"a", "c"}), `member "b" missing on target`},
		{diffSet([]string{"a", "c"}, []string{"a", "b", "c"}), `member "b" extra on target`},
		{diffSet([]string{"a"}, []string{"a", "b"}), `member "b" extra on target`},
		{diffHash([]string{"f", "1", "g", "2"}, []string{"g", "2", "f", "1"}), ""},
		{diffHash([]string{"f", "1"}, []string{"f", "2"}), `field "f": "1" vs "2"`},
		{diffHash([]string{"f", "1"}, []string{"f", "1", "e", "0"}), `field "e" extra on target`},
		{diffHash([]string{"f", "1"}, nil), `field "f" missing on target`},
		{diffZset([]redis.Z{{Score: 0, Member: "a"}}, []redis.Z{{Score: math.Copysign(0, -1), Member: "a"}}, 0), `member "a": score 0 vs -0`},
		{diffZset([]redis.Z{{Score: math.Inf(1), Member: "a"}}, []redis.Z{{Score: math.Inf(1), Member: "a"}}, 0), ""},
		{diffZset([]redis.Z{{Score: 1, Member: "a"}}, []redis.Z{{Score: 1, Member: "b"}}, 3), `rank 3: member "a" vs "b"`},
		{diffDump("payload\x0a\x00crc-crc-", "payload\x0b\x00crc-CRC-"), ""},
		{diffDump("payloadX\x0a\x00crc-crc-", "payloadY\x0a\x00crc-crc-"), "DUMP payloads differ (18 vs 18 bytes)"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func TestStreamIDs(t *testing.T) {
	if got := nextID("5-3"); got != "5-4" {
		t.Errorf("nextID(5-3) = %s", got)
	}
	if got := nextID("5-18446744073709551615"); got != "6-0" {
		t.Errorf("nextID(5-max) = %s", got)
	}
	if !idLess("9-0", "10-0") || idLess("10-1", "10-0") {
		t.Error("idLess compares text, not numbers")
	}
	s := []entry{{"1-0", []string{"a", "1"}}, {"3-0", nil}}
	d := []entry{{"1-0", []string{"a", "1"}}, {"2-0", nil}}
	if got := diffEntries(s, d); got != "entry 2-0 extra on target" {
		t.Errorf("diffEntries: %s", got)
	}
}

func TestIsHello(t *testing.T) {
	if !isHello([]byte("*2\r\n$5\r\nhello\r\n$1\r\n2\r\n")) || !isHello([]byte("*5\r\n$5\r\nHELLO\r\n$1\r\n2\r\n$4\r\nauth\r\n")) {
		t.Error("HELLO not recognised")
	}
	if isHello([]byte("*2\r\n$4\r\nPING\r\n")) || isHello(nil) {
		t.Error("not HELLO, recognised")
	}
}

func TestConfigDefaults(t *testing.T) {
	c := Config{RoundDelay: -1}.withDefaults()
	if c.TTLTolerance != DefaultTTLTolerance || c.Rounds != 3 || c.RoundDelay != -1 || c.Parallel != 4 || c.Batch != 1000 || c.MaxDiffs != 100 {
		t.Fatalf("defaults: %+v", c)
	}
	if err := (Config{}).validate(); err == nil {
		t.Error("no addresses accepted")
	}
	c.Source.Options.Addr, c.Target.Options.Addr, c.Mode = "a:1", "b:1", Sample
	if err := c.validate(); err == nil {
		t.Error("sample mode without a size accepted")
	}
}

// TestExpireMargin: with the sync's --expire-margin, a target expiry that
// much later is equal, and a key the source expired may live on the target
// for the margin.
func TestExpireMargin(t *testing.T) {
	v := &verifier{cfg: Config{TTLTolerance: 2 * time.Second, ExpireMargin: 30 * time.Second}}
	if d := v.ttlDiff(60000, 90000); d != "" {
		t.Errorf("target expiry 30 s later with a 30 s margin: %q", d)
	}
	if d := v.ttlDiff(60000, 60000); d == "" {
		t.Error("target expiry not shifted by the margin: no difference")
	}
	if vd, _ := v.judgeMeta(meta{typ: "none", pttl: -2}, meta{typ: "string", pttl: 25000}); vd.kind != "" {
		t.Errorf("a key the source expired, on the target within the margin: %+v", vd)
	}
	v.cfg.ExpireMargin = 0
	if d := v.ttlDiff(60000, 90000); d == "" {
		t.Error("without a margin, expiries 30 s apart: no difference")
	}
}
