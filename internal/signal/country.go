package signal

import (
	"context"
	"fmt"
	"net/netip"
	"sync/atomic"

	"github.com/kaigi-meet/kaigi/internal/live"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/wire"
)

// CountryCheck decides whether someone connecting from addr may join a
// meeting whose own country rule is rule: "" admits, else the sentence
// that refuses them, naming the rule (internal/geo). Options.Countries is
// nil when the server has no GeoIP database: nobody is looked up, and no
// country rule can be set.
type CountryCheck func(ctx context.Context, addr netip.Addr, rule *meeting.CountryRule) (refusal string, err error)

// checkCountry runs the country check for a new joiner of the stored
// meeting st (nil for a meeting no longer stored, which admits only those
// coming back: nothing to check). It is done before the room's lock is
// taken, and its verdict is applied only to someone entering afresh
// (live.Room.Join), never to a participant resuming or moving between rooms.
func (s *session) checkCountry(st *live.Stored) {
	check := s.srv.opts.Countries
	if check == nil || st == nil {
		return
	}
	refusal, err := check(s.ctx, s.identity.Addr, st.Record.Settings.Country)
	switch {
	case err != nil:
		st.Country = fmt.Errorf("country check: %w", err) // refused as an internal error
	case refusal != "":
		st.Country = &live.Refusal{Code: wire.CodeCountryNotAllowed, Message: refusal}
	}
}

// counter counts refusals for metrics.
type counter struct{ atomic.Uint64 }

// CountryRefusals is how many joins country rules refused since start.
func (s *Server) CountryRefusals() uint64 { return s.countryRefusals.Load() }

// mergeSettings is what a host's settings message does to the meeting's
// settings: next replaces them, except that a country rule or regions left
// out keep the meeting's (so a client that does not know the field never
// drops the rule; {"mode": ""} turns it off, and [] names no region).
func mergeSettings(cur *meeting.Settings, next meeting.Settings) {
	if next.Country == nil {
		next.Country = cur.Country
	} else {
		next.Country = next.Country.Normalised()
	}
	if next.Regions == nil { // likewise for regions; [] names none
		next.Regions = cur.Regions
	} else {
		next.Regions = next.Regions.Normalised()
	}
	*cur = next
}
