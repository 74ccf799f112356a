package meeting

import (
	"fmt"
	"slices"
	"strings"
)

// CountryMode says how a country rule reads its list of codes.
type CountryMode string

// The modes of a country rule.
const (
	CountryOff   CountryMode = ""      // no rule: nobody is refused for where they connect from
	CountryAllow CountryMode = "allow" // only addresses in the listed countries are admitted
	CountryDeny  CountryMode = "deny"  // addresses in the listed countries are refused
)

// AddressAction is what a country rule does with addresses that have no
// country: private networks, and addresses the database does not know.
type AddressAction string

// The actions for addresses without a country.
const (
	AddressAllow  AddressAction = "allow"
	AddressRefuse AddressAction = "refuse"
)

// MaxCountryCodes bounds a rule's list.
const MaxCountryCodes = 300

// CountryRule admits or refuses people by the country their address is
// in (ISO 3166-1 alpha-2 codes, looked up in a GeoIP database). The
// organisation has one that applies to every meeting; a meeting may add
// its own, which can only refuse more people, never admit someone the
// organisation's rule refuses.
type CountryRule struct {
	Mode CountryMode `json:"mode"`
	// Codes are upper-case ISO 3166-1 alpha-2 codes, sorted, no repeats.
	Codes []string `json:"codes"`
	// Private is what happens to addresses in private networks (RFC 1918,
	// loopback, link-local, IPv6 ULA, carrier-grade NAT) that the database
	// does not map to a country.
	Private AddressAction `json:"private"`
	// Unknown is what happens to public addresses the database has no
	// country for.
	Unknown AddressAction `json:"unknown"`
}

// On reports whether r refuses anyone at all (a nil rule is off).
func (r *CountryRule) On() bool { return r != nil && r.Mode != CountryOff }

// Validate checks the rule, naming the first bad field. An off rule must
// say nothing else; a rule that is on must list valid, distinct codes (an
// allow-list at least one) and say explicitly what happens to private and
// unknown addresses.
func (r *CountryRule) Validate() error {
	if r == nil {
		return nil
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: country: "+format, append([]any{ErrBadSettings}, args...)...)
	}
	switch r.Mode {
	case CountryOff:
		if len(r.Codes) > 0 {
			return bad("codes are listed but mode is off; set mode to %q or %q", CountryAllow, CountryDeny)
		}
		for _, a := range []AddressAction{r.Private, r.Unknown} {
			if a != "" && a != AddressAllow && a != AddressRefuse {
				return bad("private and unknown must be %q or %q", AddressAllow, AddressRefuse)
			}
		}
		return nil
	case CountryAllow, CountryDeny:
	default:
		return bad("mode must be %q, %q or empty (off)", CountryAllow, CountryDeny)
	}
	if r.Mode == CountryAllow && len(r.Codes) == 0 {
		return bad("an allow-list must name at least one country")
	}
	if len(r.Codes) > MaxCountryCodes {
		return bad("at most %d codes", MaxCountryCodes)
	}
	seen := make(map[string]bool, len(r.Codes))
	for _, c := range r.Codes {
		if !KnownCountry(c) {
			return bad("%q is not an ISO 3166-1 alpha-2 country code (two upper-case letters, like DE)", truncate(c, 8))
		}
		if seen[c] {
			return bad("%s is listed twice", c)
		}
		seen[c] = true
	}
	if r.Private != AddressAllow && r.Private != AddressRefuse {
		return bad("private must be %q or %q", AddressAllow, AddressRefuse)
	}
	if r.Unknown != AddressAllow && r.Unknown != AddressRefuse {
		return bad("unknown must be %q or %q", AddressAllow, AddressRefuse)
	}
	return nil
}

// Normalised returns a copy with the codes sorted (for stable storage and
// audit entries); nil or off rules become nil.
func (r *CountryRule) Normalised() *CountryRule {
	if !r.On() {
		return nil
	}
	c := *r
	c.Codes = slices.Clone(r.Codes)
	slices.Sort(c.Codes)
	return &c
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// Place is where an address is, as far as the GeoIP database knows: a
// country, a private network, or neither (unknown).
type Place struct {
	// Country is the upper-case ISO 3166-1 alpha-2 code, or "".
	Country string
	// Private: no country, and the address is in a private network.
	Private bool
}

// Unknown reports whether nothing is known of the place.
func (p Place) Unknown() bool { return p.Country == "" && !p.Private }

// String names the place as a refusal message does: "DE", "a private
// network", "an address whose country is not known".
func (p Place) String() string {
	switch {
	case p.Country != "":
		return p.Country
	case p.Private:
		return "a private network"
	default:
		return "an address whose country is not known"
	}
}

// Admits reports whether the rule lets someone from p in. An off rule
// admits everyone.
func (r *CountryRule) Admits(p Place) bool {
	if !r.On() {
		return true
	}
	switch {
	case p.Country != "":
		return slices.Contains(r.Codes, p.Country) == (r.Mode == CountryAllow)
	case p.Private:
		return r.Private == AddressAllow
	default:
		return r.Unknown == AddressAllow
	}
}

// KnownCountry reports whether code is an ISO 3166-1 alpha-2 code
// officially assigned to a country or territory, or XK (Kosovo, a
// user-assigned code that GeoIP databases use).
func KnownCountry(code string) bool {
	if len(code) != 2 || code[0] < 'A' || code[0] > 'Z' || code[1] < 'A' || code[1] > 'Z' {
		return false
	}
	return countryCodes[code]
}

// countryCodes are ISO 3166-1's 249 officially assigned alpha-2 codes
// (Debian's iso-codes 4.15) and XK.
var countryCodes = func() map[string]bool {
	m := map[string]bool{"XK": true}
	for _, c := range strings.Fields(`
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE
BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD
CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM
DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF
GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU
ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN
KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME
MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA
NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM
PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI
SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK
TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI
VN VU WF WS YE YT ZA ZM ZW`) {
		m[c] = true
	}
	return m
}()
