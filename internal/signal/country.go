package signal

import (
	"context"
	"fmt"
	"net/netip"
	"reflect"
	"sync/atomic"

	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/wire"
)

// CountryCheck decides whether someone connecting from addr may join a
// meeting whose own country rule is rule: "" admits, else the sentence
// that refuses them, naming the rule (internal/geo). Options.Countries is
// nil when the server has no GeoIP database: nobody is looked up, and no
// country rule can be set.
type CountryCheck func(ctx context.Context, addr netip.Addr, rule *meeting.CountryRule) (refusal string, err error)

// ruleRefused is a join refused by where it comes from or where the
// meeting may be held: the refusal's code (country_not_allowed,
// region_not_allowed) and the sentence that says which rule.
type ruleRefused struct{ code, message string }

func (e *ruleRefused) Error() string { return e.code }

var errNoGeoIP = fmt.Errorf("%w: country rules need a GeoIP database, and this server has none", meeting.ErrBadSettings)

// checkCountry runs the country check for a new joiner of the stored
// meeting st (nil for a meeting no longer stored, which admits only those
// coming back: nothing to check). It is done before the room's lock is
// taken, and its verdict is applied only to someone entering afresh
// (Room.join), never to a participant resuming or moving between rooms.
func (s *session) checkCountry(st *stored) {
	check := s.srv.opts.Countries
	if check == nil || st == nil {
		return
	}
	refusal, err := check(s.ctx, s.identity.Addr, st.rec.Settings.Country)
	switch {
	case err != nil:
		st.country = fmt.Errorf("country check: %w", err) // refused as an internal error
	case refusal != "":
		st.country = &ruleRefused{code: wire.CodeCountryNotAllowed, message: refusal}
	}
}

// refusedByCountry is Room.join's test: the country check's verdict on
// this joiner (nil admits). Returned from inside join, so that a room
// opened for a joiner it refuses is closed again like after any refusal.
func refusedByCountry(st *stored) error {
	if st == nil {
		return nil
	}
	return st.country
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

// countryRuleSettable refuses a country rule set or changed on a server
// without a GeoIP database (one set before the database went is kept).
func (s *Server) countryRuleSettable(cur, next *meeting.CountryRule) error {
	if s.opts.Countries == nil && next.On() && !reflect.DeepEqual(next, cur) {
		return errNoGeoIP
	}
	return nil
}
