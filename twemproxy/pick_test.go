package twemproxy

import (
	"strings"
	"testing"
)

func TestPickPool(t *testing.T) {
	c, err := ParseConfig([]byte(twoPools + `
gamma:
  listen: 0.0.0.0:22123
  redis: true
  servers:
   - 127.0.0.1:6382:1
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, listen, want string }{
		{"beta", "", "beta"},
		{"beta", "127.0.0.1:22121", "beta"}, // a name wins over the address
		{"", "127.0.0.1:22121", "alpha"},
		{"", "127.0.0.1:22122", "beta"},
		{"", "proxy.example:22123", "gamma"}, // a wildcard listen, by port
	} {
		p, err := c.PickPool(tc.name, tc.listen)
		if err != nil || p.Name != tc.want {
			t.Errorf("PickPool(%q, %q) = %v, %v; want %s", tc.name, tc.listen, p, err, tc.want)
		}
	}
	for _, tc := range []struct{ name, listen, want string }{
		{"delta", "", `no pool "delta"`},
		{"", "", "3 pools"},
		{"", "127.0.0.1:9999", "no pool listens on 127.0.0.1:9999"},
		{"", "proxy.example:22121", "no pool listens on"}, // 22121 is not a wildcard listen
	} {
		if _, err := c.PickPool(tc.name, tc.listen); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("PickPool(%q, %q): error %v, want %q", tc.name, tc.listen, err, tc.want)
		}
	}
	one, err := ParseConfig([]byte("solo:\n  listen: 127.0.0.1:1\n  servers:\n   - 127.0.0.1:6379:1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p, err := one.PickPool("", "10.1.1.1:5"); err != nil || p.Name != "solo" {
		t.Errorf("the only pool: %v, %v", p, err)
	}
}
