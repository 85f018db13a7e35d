package redisreply

import (
	"reflect"
	"testing"
)

func TestString(t *testing.T) {
	for _, c := range []struct {
		in   any
		want string
	}{{nil, "nil"}, {"x", "x"}, {int64(-3), "-3"}, {1.5, "1.5"}} {
		if got := String(c.in); got != c.want {
			t.Errorf("String(%#v) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestMap: a RESP2 flat array (an odd last element left out) and a RESP3
// map read the same.
func TestMap(t *testing.T) {
	want := map[string]any{"name": "g", "7": int64(1)}
	if got := Map([]any{"name", "g", int64(7), int64(1), "odd"}); !reflect.DeepEqual(got, want) {
		t.Errorf("flat array: %v, want %v", got, want)
	}
	if got := Map(map[any]any{"name": "g", int64(7): int64(1)}); !reflect.DeepEqual(got, want) {
		t.Errorf("map: %v, want %v", got, want)
	}
	if got := Map("scalar"); len(got) != 0 {
		t.Errorf("scalar: %v, want empty", got)
	}
}

func TestTTL(t *testing.T) {
	if TTL(-1) != "none" || TTL(-2) != "none" || TTL(0) != "0ms" || TTL(1500) != "1500ms" {
		t.Errorf("TTL: %q %q %q %q", TTL(-1), TTL(-2), TTL(0), TTL(1500))
	}
}

func TestInfo(t *testing.T) {
	info := "# Server\r\nredis_version:7.2.4\r\nrole:master\r\n# Keyspace\r\ndb0:keys=3,expires=0,avg_ttl=0\r\ndb12:keys=1,expires=1,avg_ttl=5\r\n"
	if v := InfoField(info, "redis_version"); v != "7.2.4" {
		t.Errorf("redis_version %q", v)
	}
	if v := InfoField(info, "role"); v != "master" {
		t.Errorf("role %q", v)
	}
	if v := InfoField(info, "absent"); v != "" {
		t.Errorf("absent %q", v)
	}
	if got := KeyspaceDBs(info); !reflect.DeepEqual(got, []int{0, 12}) {
		t.Errorf("KeyspaceDBs: %v, want [0 12]", got)
	}
}
