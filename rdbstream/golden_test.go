package rdbstream

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hdt3213/rdb/core"
	"github.com/hdt3213/rdb/model"
)

// refObject is what the reference decoder (hdt3213/rdb) says about a key.
type refObject struct {
	DB       int
	Key      string
	ExpireAt int64
	JSON     string
}

// refDecode decodes an RDB with hdt3213/rdb: keys and function code.
func refDecode(tb testing.TB, data []byte) (keys []refObject, funcs []string) {
	tb.Helper()
	dec := core.NewDecoder(bytes.NewReader(data)).WithSpecialOpCode()
	err := dec.Parse(func(o model.RedisObject) bool {
		switch o.GetType() {
		case model.AuxType, model.DBSizeType:
		case model.FunctionsType:
			funcs = append(funcs, o.(*model.FunctionsObject).FunctionsLua)
		default:
			js, err := json.Marshal(o)
			if err != nil {
				tb.Fatalf("marshal %q: %v", o.GetKey(), err)
			}
			r := refObject{DB: o.GetDBIndex(), Key: o.GetKey(), JSON: string(js)}
			if exp := o.GetExpiration(); exp != nil {
				r.ExpireAt = exp.UnixMilli()
			}
			keys = append(keys, r)
		}
		return true
	})
	if err != nil {
		tb.Fatalf("reference decoder: %v", err)
	}
	return keys, funcs
}

// jsonKeyCount counts the keys listed in the .json beside a fixture.
func jsonKeyCount(tb testing.TB, path string) (int, bool) {
	b, err := os.ReadFile(strings.TrimSuffix(path, ".rdb") + ".json")
	if err != nil {
		return 0, false
	}
	var objs []struct{ Type string }
	if err := json.Unmarshal(b, &objs); err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	n := 0
	for _, o := range objs {
		if o.Type != model.AuxType && o.Type != model.FunctionsType && o.Type != model.DBSizeType {
			n++
		}
	}
	return n, true
}

// TestFixtures decodes every RDB shipped with hdt3213/rdb and checks the
// keys against the reference decoder and the .json listing, each payload's
// framing and CRC, and that each payload's value bytes decode (with the
// reference decoder) to the same value as the original file.
func TestFixtures(t *testing.T) {
	for _, path := range fixtures(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data := readFile(t, path)
			recs, d, err := decodeAll(bytes.NewReader(data), Options{Now: epoch})
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if d.Offset() != int64(len(data)) {
				t.Errorf("offset %d after EOF, file has %d bytes", d.Offset(), len(data))
			}
			refKeys, refFuncs := refDecode(t, data)
			var keys []record
			var funcs []string
			for _, r := range recs {
				if r.Kind == KindFunction {
					funcs = append(funcs, r.Code)
				} else {
					keys = append(keys, r)
				}
			}
			if n, ok := jsonKeyCount(t, path); ok && n != len(keys) {
				t.Errorf("%d keys, the .json lists %d", len(keys), n)
			}
			if len(keys) != len(refKeys) {
				t.Fatalf("%d keys, reference decoder finds %d", len(keys), len(refKeys))
			}
			if fmt.Sprint(funcs) != fmt.Sprint(refFuncs) {
				t.Errorf("functions %q, reference %q", funcs, refFuncs)
			}
			magic := string(data[:9])
			for i, r := range keys {
				ref := refKeys[i]
				if r.DB != ref.DB || r.Key != ref.Key || r.ExpireAt != ref.ExpireAt {
					t.Errorf("key %d: got db %d %q exp %d, reference db %d %q exp %d",
						i, r.DB, r.Key, r.ExpireAt, ref.DB, ref.Key, ref.ExpireAt)
				}
				checkPayload(t, r, d.Version())
				back, _ := refDecode(t, wrapPayload(r, magic))
				if len(back) != 1 || back[0].JSON != ref.JSON {
					t.Errorf("key %q: payload decodes to %v, want %s", r.Key, back, ref.JSON)
				}
			}
		})
	}
}

// TestFixturesExpiry decodes the fixtures with the real clock: keys whose
// expiry has passed are skipped and counted.
func TestFixturesExpiry(t *testing.T) {
	now := time.Now()
	total := 0
	for _, path := range fixtures(t) {
		data := readFile(t, path)
		refKeys, _ := refDecode(t, data)
		wantExpired := 0
		for _, k := range refKeys {
			if k.ExpireAt != 0 && k.ExpireAt <= now.UnixMilli() {
				wantExpired++
			}
		}
		recs, d, err := decodeAll(bytes.NewReader(data), Options{Now: func() time.Time { return now }})
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if d.Expired() != int64(wantExpired) {
			t.Errorf("%s: Expired() = %d, want %d", path, d.Expired(), wantExpired)
		}
		for _, r := range recs {
			if r.ExpireAt != 0 && r.ExpireAt <= now.UnixMilli() {
				t.Errorf("%s: expired key %q returned", path, r.Key)
			}
		}
		total += wantExpired
	}
	if total == 0 {
		t.Fatal("no fixture has an expired key; the test proves nothing")
	}
}
