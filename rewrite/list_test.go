package rewrite

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand"
	"testing"

	"github.com/replicant/replicant/test/redistest"
)

func listPayload(typ byte, nodes [][][]byte) []byte {
	return redistest.Payload(typ, redistest.ListValue(typ, nodes), 11)
}

// TestListsOfEveryEncoding: lists of every RDB list type with elements of
// 1 B to 1 MiB, big elements followed by more elements (the shape that
// hdt3213/rdb fails on), rebuilt as RPUSH commands in order.
func TestListsOfEveryEncoding(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	elem := func(n int) []byte { b := make([]byte, n); rng.Read(b); return b }
	nodes := [][][]byte{
		{elem(9000)},                     // plain: over a node's 8 KB
		{elem(1), elem(100), elem(5000)}, // packed, after a plain node
		{elem(1 << 20)},
		{elem(70000)},
		{elem(3), elem(4095), elem(16384)},
	}
	var want [][]byte
	for _, nd := range nodes {
		want = append(want, nd...)
	}
	for _, typ := range []byte{typeList, typeListZiplist, typeListQuicklist, typeListQuickl2} {
		t.Run(fmt.Sprint("type ", typ), func(t *testing.T) {
			var got [][]byte
			err := Key([]byte("l"), listPayload(typ, nodes), 0, Options{Target: TargetOf("7.0.15")},
				func(args [][]byte) error {
					if string(args[0]) == "RPUSH" {
						for _, a := range args[2:] {
							got = append(got, append([]byte(nil), a...))
						}
					}
					return nil
				})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("%d elements, want %d", len(got), len(want))
			}
			for i := range want {
				if !bytes.Equal(got[i], want[i]) {
					t.Fatalf("element %d: %d bytes differ from the %d written", i, len(got[i]), len(want[i]))
				}
			}
		})
	}
}

// TestListCorrupt: a list whose nodes do not parse is an ErrPayload,
// never a panic.
func TestListCorrupt(t *testing.T) {
	good := redistest.ListValue(typeListQuickl2, [][][]byte{{[]byte("a"), []byte("b")}, {[]byte("c")}})
	for cut := 1; cut < len(good); cut++ {
		if err := Key([]byte("l"), redistest.Payload(typeListQuickl2, good[:cut], 11), 0, Options{Target: TargetOf("7.0.15")},
			func([][]byte) error { return nil }); err == nil {
			t.Fatalf("cut at %d of %d: no error", cut, len(good))
		}
	}
	bad := bytes.Clone(good)
	bad[1] = 7 // container of the first node
	if err := Key([]byte("l"), redistest.Payload(typeListQuickl2, bad, 11), 0, Options{Target: TargetOf("7.0.15")},
		func([][]byte) error { return nil }); err == nil {
		t.Fatal("a bad container: no error")
	}
}

func hashWithFieldTTLs(fields map[string]int64) []byte {
	return redistest.Payload(redistest.RDBHashFieldTTLs, redistest.HashFieldTTLsValue(fields), 12)
}

// TestHashFieldTTLsOnOlderTarget: a hash in the encoding with field TTLs
// but none set (all removed by HPERSIST) is rebuilt on 7.0; one with a TTL
// set is refused, or with DropFieldTTL copied without it, counted.
func TestHashFieldTTLsOnOlderTarget(t *testing.T) {
	o := Options{Target: TargetOf("7.0.15")}
	var cmds []string
	record := func(args [][]byte) error { cmds = append(cmds, string(args[0])); return nil }
	if err := Key([]byte("h"), hashWithFieldTTLs(map[string]int64{"a": 0, "b": 0}), 0, o, record); err != nil {
		t.Fatalf("no TTL set: %v", err)
	}
	if fmt.Sprint(cmds) != "[DEL HSET]" {
		t.Fatalf("no TTL set: commands %v", cmds)
	}
	withTTL := hashWithFieldTTLs(map[string]int64{"a": 0, "b": 4102444800000})
	cmds = nil
	var ue *UnrepresentableError
	if err := Key([]byte("h"), withTTL, 0, o, record); !errors.As(err, &ue) || len(cmds) != 0 {
		t.Fatalf("a TTL set: %v, commands %v", err, cmds)
	}
	dropped := 0
	o.DropFieldTTL, o.FieldTTLsDropped = true, func(n int) { dropped += n }
	if err := Key([]byte("h"), withTTL, 0, o, record); err != nil || fmt.Sprint(cmds) != "[DEL HSET]" || dropped != 1 {
		t.Fatalf("--drop-field-ttl: %v, commands %v, %d dropped", err, cmds, dropped)
	}
	cmds = nil
	if err := Key([]byte("h"), withTTL, 0, Options{Target: TargetOf("7.4.1")}, record); err != nil || fmt.Sprint(cmds) != "[DEL HSET HPEXPIREAT]" {
		t.Fatalf("into 7.4: %v, commands %v", err, cmds)
	}
}
