package replicate

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	for raw, want := range map[string]Endpoint{
		"redis://h":                {Addrs: []string{"h:6379"}},
		"redis://u:pw@h:1/":        {Addrs: []string{"h:1"}, Username: "u", Password: "pw"},
		"rediss://pw@h:1":          {Addrs: []string{"h:1"}, Password: "pw", TLS: defaultTLS()},
		"redis+cluster://h:1,h:2":  {Addrs: []string{"h:1", "h:2"}, Cluster: true},
		"rediss+cluster://h:1":     {Addrs: []string{"h:1"}, Cluster: true, TLS: defaultTLS()},
		"localhost:7000":           {Addrs: []string{"localhost:7000"}},
		"127.0.0.1:7000":           {Addrs: []string{"127.0.0.1:7000"}},
		"[::1]:7000":               {Addrs: []string{"[::1]:7000"}},
		"redis://default:pw@[::1]": {Addrs: []string{"[::1]:6379"}, Password: "pw"},
		"redis://h:65535,h:1":      {Addrs: []string{"h:65535", "h:1"}},
	} {
		want.Name = Redact(raw)
		got, err := ParseURL(raw)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%q: got %+v, %v; want %+v", raw, got, err, want)
		}
	}
	if ep, _ := ParseURL("rediss://u:pw@h:1"); ep.Name != "rediss://u:xxxxx@h:1" || ep.tlsFor(ep.addr()).ServerName != "h" {
		t.Errorf("rediss: name %q, TLS %+v", ep.Name, ep.TLS)
	}
}

// TestParseURLRefusals: a URL with no host, port 0, or parts that name
// more than a server (a database, a query) is refused with a message
// saying what to write instead, never taken silently.
func TestParseURLRefusals(t *testing.T) {
	for raw, want := range map[string][]string{
		"":                                 {"empty URL"},
		"redis://":                         {"has no host", "redis://[user:password@]host[:port]"},
		"rediss://":                        {"has no host"},
		"redis:///5":                       {"has no host"},
		"redis://:pw@":                     {"has no host"},
		"redis://h:0":                      {"bad port \"0\"", "1 to 65535"},
		"h:0":                              {"bad port \"0\""},
		"redis://h:1,h:0":                  {"bad port \"0\""},
		"redis://h:70000":                  {"bad port"},
		"redis://h:1/5":                    {"database in the URL (/5)", "--db 5", "--db-map"},
		"redis://u:pw@h/0":                 {"database in the URL (/0)", "--db 0"},
		"redis://h:1/x/y":                  {"path in the URL (/x/y)"},
		"redis://h:1?db=5":                 {"query in the URL", "flags"},
		"redis://h:1/?timeout":             {"query in the URL"},
		"redis://h:1?":                     {"query in the URL"},
		"redis://h:1#s3cret":               {"fragment"},
		"redis://h:1?password=s3cret":      {"query in the URL"},
		"redis://u:s3cret@h:1/?a=s3cret&b": {"query in the URL"},
		"redis:":                           {"not a redis:// URL"},
		"h:":                               {"not a redis:// URL"},
		":1":                               {"not a redis:// URL"},
		"h:1/5":                            {"not a redis:// URL"},
		"http://h:1":                       {"scheme \"http\""},
	} {
		_, err := ParseURL(raw)
		if err == nil {
			t.Errorf("%q: no error", raw)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%q: error shows the password: %v", raw, err)
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q: error %q does not say %q", raw, err, w)
			}
		}
	}
}

// TestRedactedErrors: a URL that does not parse is reported without its
// password.
func TestRedactedErrors(t *testing.T) {
	for _, raw := range []string{
		"redis://:s3cret@",
		"redis://user:s3cret@",
		"redis://user:s3cr%zzet@host:1",
		"user:s3cr%zzet@host:1",
		"ftp://user:s3cret@host:1",
		"redis://user:s3cret@host:99999",
		"redis://user:s3cret@host:1,:x",
	} {
		_, err := ParseURL(raw)
		if err == nil {
			t.Fatalf("%q: no error", raw)
		}
		if strings.Contains(err.Error(), "s3cr") {
			t.Errorf("%q: error shows the password: %v", raw, err)
		}
	}
	for raw, want := range map[string]string{
		"redis://u:pw@h:1":      "redis://u:xxxxx@h:1",
		"redis://pw@h:1":        "redis://xxxxx@h:1",
		"redis://h:1":           "redis://h:1",
		"redis://u:p%zzw@h:1":   "redis://xxxxx@h:1",
		"rediss://u:p%zz@w@h:1": "rediss://xxxxx@h:1",
		"redis://h:1,h:2":       "redis://h:1,h:2",
		"redis://:pw@h:1,h:2":   "redis://:xxxxx@h:1,h:2",
	} {
		if got := Redact(raw); got != want {
			t.Errorf("Redact(%q) = %q, want %q", raw, got, want)
		}
	}
}
