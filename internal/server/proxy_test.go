package server_test

import (
	"net/http"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/client"
	"github.com/kaigi-meet/kaigi/internal/config"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/servertest"
	"github.com/kaigi-meet/kaigi/internal/signal"
)

// forwarding is a client that dials from local and says, as a reverse
// proxy does, that it forwards a request from xff.
func forwarding(local, xff string) *http.Client {
	hc := from(local)
	hc.Transport = forwardedFor{next: hc.Transport, xff: xff}
	return hc
}

type forwardedFor struct {
	next http.RoundTripper
	xff  string
}

func (f forwardedFor) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Forwarded-For", f.xff)
	return f.next.RoundTrip(r)
}

// TestTrustedProxy: behind a reverse proxy the operator trusts (here
// 127.0.0.4), the client's address comes from X-Forwarded-For, so a
// meeting's country rule (DE denied; 127.0.0.2 is DE and 127.0.0.3 FR in
// the test's database) applies to the person, not to the proxy. What a
// client wrote into the header itself is not believed: only the entry the
// trusted proxy added counts, and a peer that is not a trusted proxy is
// its own client whatever it sends.
func TestTrustedProxy(t *testing.T) {
	db := countryDatabase(t)
	srv := startServer(t, func(c *config.Config, _ *signal.Options) {
		c.GeoIP.Database = db
		c.TrustedProxies = []string{"127.0.0.4"}
	})
	settings := servertest.OpenSettings()
	settings.Country = &meeting.CountryRule{Mode: meeting.CountryDeny, Codes: []string{"DE"}, Private: meeting.AddressAllow, Unknown: meeting.AddressAllow}
	m := srv.Admin(t).NewMeeting(t, settings)

	for _, tc := range []struct {
		name, peer, xff string
		refused         bool
	}{
		{"DE through the proxy", "127.0.0.4", "127.0.0.2", true},
		{"FR through the proxy, claiming DE before it", "127.0.0.4", "127.0.0.2, 127.0.0.3", false},
		{"DE through the proxy, claiming FR before it", "127.0.0.4", "127.0.0.3, 127.0.0.2", true},
		{"DE, not through a trusted proxy, claiming FR", "127.0.0.2", "127.0.0.3", true},
		{"the proxy itself (private), with no header", "127.0.0.4", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hc := from(tc.peer)
			if tc.xff != "" {
				hc = forwarding(tc.peer, tc.xff)
			}
			c, err := srv.joinAs(t, client.Options{Meeting: m.ID, Name: "Guest", HTTPClient: hc})
			if tc.refused {
				refusedWith(t, err, "country_not_allowed")
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			c.Leave()
		})
	}
}
