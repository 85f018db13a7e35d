package forwarder

import "testing"

func TestSlot(t *testing.T) {
	// Values from the Redis Cluster specification and CLUSTER KEYSLOT.
	cases := map[string]int{
		"123456789":    0x31c3 & 16383,
		"foo":          12182,
		"bar":          5061,
		"{user1000}.a": Slot([]byte("user1000")),
		"foo{}{bar}":   Slot([]byte("foo{}{bar}")),
		"foo{{bar}}":   Slot([]byte("{bar")),
		"":             0,
	}
	for k, want := range cases {
		if got := Slot([]byte(k)); got != want {
			t.Errorf("Slot(%q) = %d, want %d", k, got, want)
		}
	}
	if Slot([]byte("foo{}{bar}")) != int(crc16([]byte("foo{}{bar}"))&16383) {
		t.Error("an empty tag must hash the whole key")
	}
}

func TestSlotTag(t *testing.T) {
	for s := 0; s < SlotCount; s++ {
		tag := SlotTag(s)
		if tag == "" || Slot([]byte("{"+tag+"}x")) != s {
			t.Fatalf("SlotTag(%d) = %q lands in slot %d", s, tag, Slot([]byte("{"+tag+"}x")))
		}
	}
}
