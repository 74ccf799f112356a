package clientaddr

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tr, err := Parse([]string{"10.0.0.0/8", " 192.0.2.7 ", "2001:db8::/32", "::ffff:198.51.100.1", "10.1.2.3/8"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32", "198.51.100.1/32", "10.0.0.0/8"}
	if len(tr) != len(want) {
		t.Fatalf("got %v", tr)
	}
	for i, p := range tr {
		if p.String() != want[i] {
			t.Errorf("entry %d = %v, want %s", i, p, want[i])
		}
	}
	for _, bad := range []string{"", "proxy.example.org", "10.0.0.0/33", "fe80::1%eth0", "1.2.3.4:80"} {
		if _, err := Parse([]string{bad}); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

func TestClient(t *testing.T) {
	tr, _ := Parse([]string{"10.0.0.0/8", "2001:db8:1::/48"})
	a := netip.MustParseAddr
	for _, tc := range []struct {
		name      string
		peer      string
		forwarded []string
		want      string
	}{
		{"an untrusted peer is the client whatever it says", "203.0.113.9", []string{"198.51.100.1"}, "203.0.113.9"},
		{"a trusted proxy passes on its client", "10.0.0.2", []string{"198.51.100.1"}, "198.51.100.1"},
		{"what the client wrote before is not believed", "10.0.0.2", []string{"127.0.0.1, 8.8.8.8, 198.51.100.1"}, "198.51.100.1"},
		{"a chain of trusted proxies", "10.0.0.2", []string{"198.51.100.1, 10.9.9.9, 10.0.0.3"}, "198.51.100.1"},
		{"header lines in order", "10.0.0.2", []string{"6.6.6.6", "198.51.100.1, 10.0.0.5"}, "198.51.100.1"},
		{"a trusted proxy without the header", "10.0.0.2", nil, "10.0.0.2"},
		{"an entry that is no address stops at the proxy", "10.0.0.2", []string{"198.51.100.1, unknown"}, "10.0.0.2"},
		{"garbage left of the client is never read", "10.0.0.2", []string{"<script>, 198.51.100.1"}, "198.51.100.1"},
		{"entries with ports", "10.0.0.2", []string{"[2001:db8:2::7]:4711, 198.51.100.2:80"}, "198.51.100.2"},
		{"IPv6 client and proxy", "2001:db8:1::9", []string{"2001:db8:2::7"}, "2001:db8:2::7"},
		{"a mapped address is unmapped", "::ffff:10.0.0.2", []string{"::ffff:198.51.100.1"}, "198.51.100.1"},
		{"zones are refused", "10.0.0.2", []string{"fe80::1%eth0"}, "10.0.0.2"},
		{"spaces and empty entries", "10.0.0.2", []string{" 198.51.100.1 ,  "}, "10.0.0.2"},
	} {
		if got := tr.Client(a(tc.peer), tc.forwarded); got != a(tc.want) {
			t.Errorf("%s: Client(%s, %q) = %v, want %s", tc.name, tc.peer, tc.forwarded, got, tc.want)
		}
	}
	// A long chain of trusted addresses is read only so far.
	long := strings.Repeat("10.0.0.1, ", 10000) + "10.0.0.1"
	if got := tr.Client(a("10.0.0.2"), []string{long}); !tr.trusts(got) {
		t.Errorf("a 10,001-entry chain gave %v", got)
	}
	if got := Trusted(nil).Client(a("10.0.0.2"), []string{"198.51.100.1"}); got != a("10.0.0.2") {
		t.Errorf("with no trusted proxies: %v", got)
	}
}

func TestHandler(t *testing.T) {
	tr, _ := Parse([]string{"127.0.0.1"})
	var seen string
	h := tr.Handler(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { seen = r.RemoteAddr }))
	for _, tc := range []struct{ peer, xff, want string }{
		{"127.0.0.1:5000", "198.51.100.1", "198.51.100.1:5000"},
		{"127.0.0.1:5000", "2001:db8::1", "[2001:db8::1]:5000"},
		{"127.0.0.1:5000", "", "127.0.0.1:5000"},
		{"127.0.0.2:5000", "198.51.100.1", "127.0.0.2:5000"},
		{"not an address", "198.51.100.1", "not an address"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.peer
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
		if seen != tc.want {
			t.Errorf("peer %s, X-Forwarded-For %q: handler saw %s, want %s", tc.peer, tc.xff, seen, tc.want)
		}
		if r.RemoteAddr != tc.peer {
			t.Errorf("the caller's request was changed: %s", r.RemoteAddr)
		}
	}
}
