package geo

import (
	"context"
	"net/netip"

	"github.com/kaigi-meet/kaigi/internal/meeting"
)

// Refusal says why a country rule keeps someone out; the zero value
// admits.
type Refusal struct {
	// Place is where the joiner's address is.
	Place meeting.Place
	// ByOrganisation: the organisation's rule refused (else the meeting's).
	ByOrganisation bool
	// Message is the sentence the joiner is shown, naming the rule.
	Message string
}

// Refused reports whether someone is refused.
func (r Refusal) Refused() bool { return r.Message != "" }

// Decide applies the organisation's rule, then the meeting's, to someone
// at p. The organisation's rule is checked first, so a refusal names it
// whenever it refuses: a meeting's rule can only keep out more people,
// never let in someone the organisation's rule keeps out.
func Decide(org, mtg *meeting.CountryRule, p meeting.Place) Refusal {
	switch {
	case !org.Admits(p):
		return Refusal{Place: p, ByOrganisation: true,
			Message: "This meeting does not admit participants connecting from " + p.String() + " (organisation rule)."}
	case !mtg.Admits(p):
		return Refusal{Place: p,
			Message: "This meeting does not admit participants connecting from " + p.String() + " (this meeting's rule, set by its host)."}
	}
	return Refusal{Place: p}
}

// Policy checks joiners against the organisation's rule and the meeting's,
// with a database. A nil *Policy (no database configured) refuses nobody
// and looks nothing up.
type Policy struct {
	DB *DB
	// Org returns the organisation's rule as it is now (read on every
	// check, so a change applies to the next join).
	Org func(ctx context.Context) (*meeting.CountryRule, error)
}

// Check decides whether someone connecting from addr may join a meeting
// whose own rule is mtg. Nothing is looked up unless a rule is on.
func (p *Policy) Check(ctx context.Context, addr netip.Addr, mtg *meeting.CountryRule) (Refusal, error) {
	if p == nil || p.DB == nil {
		return Refusal{}, nil
	}
	org, err := p.Org(ctx)
	if err != nil {
		return Refusal{}, err
	}
	if !org.On() && !mtg.On() {
		return Refusal{}, nil
	}
	return Decide(org, mtg, p.DB.Place(addr)), nil
}
