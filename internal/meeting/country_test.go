package meeting

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// TestCountryRuleValidate: codes must be known ISO 3166-1 alpha-2 codes
// in upper case, listed once; an allow-list names at least one; private
// and unknown are explicit when the rule is on; an off rule lists nothing.
func TestCountryRuleValidate(t *testing.T) {
	ok := []*CountryRule{
		nil,
		{},
		{Private: AddressAllow, Unknown: AddressRefuse}, // off, the choices kept
		{Mode: CountryAllow, Codes: []string{"DE", "FR", "XK"}, Private: AddressAllow, Unknown: AddressAllow},
		{Mode: CountryDeny, Codes: []string{"RU"}, Private: AddressRefuse, Unknown: AddressRefuse},
		{Mode: CountryDeny, Private: AddressAllow, Unknown: AddressRefuse}, // refuses unknown addresses only
	}
	for _, r := range ok {
		if err := r.Validate(); err != nil {
			t.Errorf("%+v: %v", r, err)
		}
	}
	bad := map[string]*CountryRule{
		"mode":            {Mode: "block", Codes: []string{"DE"}, Private: AddressAllow, Unknown: AddressAllow},
		"lower case":      {Mode: CountryDeny, Codes: []string{"de"}, Private: AddressAllow, Unknown: AddressAllow},
		"three letters":   {Mode: CountryDeny, Codes: []string{"DEU"}, Private: AddressAllow, Unknown: AddressAllow},
		"not assigned":    {Mode: CountryDeny, Codes: []string{"EU"}, Private: AddressAllow, Unknown: AddressAllow},
		"UK is GB":        {Mode: CountryDeny, Codes: []string{"UK"}, Private: AddressAllow, Unknown: AddressAllow},
		"twice":           {Mode: CountryDeny, Codes: []string{"DE", "DE"}, Private: AddressAllow, Unknown: AddressAllow},
		"empty allow":     {Mode: CountryAllow, Private: AddressAllow, Unknown: AddressAllow},
		"private missing": {Mode: CountryDeny, Codes: []string{"DE"}, Unknown: AddressAllow},
		"unknown missing": {Mode: CountryDeny, Codes: []string{"DE"}, Private: AddressAllow},
		"unknown wrong":   {Mode: CountryDeny, Codes: []string{"DE"}, Private: AddressAllow, Unknown: "maybe"},
		"off with codes":  {Codes: []string{"DE"}},
		"off, bad choice": {Private: "maybe"},
		"too many":        {Mode: CountryDeny, Codes: make([]string, MaxCountryCodes+1), Private: AddressAllow, Unknown: AddressAllow},
	}
	for name, r := range bad {
		err := r.Validate()
		if !errors.Is(err, ErrBadSettings) || !strings.Contains(err.Error(), "country") {
			t.Errorf("%s: Validate = %v, want ErrBadSettings naming country", name, err)
		}
		s := DefaultSettings()
		s.Country = r
		if err := s.Validate(); !errors.Is(err, ErrBadSettings) {
			t.Errorf("%s: Settings.Validate = %v", name, err)
		}
	}
}

// TestCountryRuleAdmits: allow- and deny-lists, and the explicit choices
// for private and unknown addresses.
func TestCountryRuleAdmits(t *testing.T) {
	allow := &CountryRule{Mode: CountryAllow, Codes: []string{"DE", "FR"}, Private: AddressAllow, Unknown: AddressRefuse}
	deny := &CountryRule{Mode: CountryDeny, Codes: []string{"DE"}, Private: AddressRefuse, Unknown: AddressAllow}
	for _, c := range []struct {
		r    *CountryRule
		p    Place
		want bool
	}{
		{nil, Place{}, true},
		{&CountryRule{Private: AddressRefuse, Unknown: AddressRefuse}, Place{}, true}, // off
		{allow, Place{Country: "DE"}, true},
		{allow, Place{Country: "US"}, false},
		{allow, Place{Private: true}, true},
		{allow, Place{}, false},
		{deny, Place{Country: "DE"}, false},
		{deny, Place{Country: "US"}, true},
		{deny, Place{Private: true}, false},
		{deny, Place{}, true},
	} {
		if got := c.r.Admits(c.p); got != c.want {
			t.Errorf("%+v admits %+v = %v, want %v", c.r, c.p, got, c.want)
		}
	}
}

// TestSettingsCountryJSON: the rule travels as settings.country, is left
// out when off (so settings stored before it existed read the same), and
// settings stay comparable.
func TestSettingsCountryJSON(t *testing.T) {
	s := DefaultSettings()
	b, _ := json.Marshal(s)
	if strings.Contains(string(b), "country") {
		t.Errorf("no rule, yet %s", b)
	}
	s.Country = &CountryRule{Mode: CountryDeny, Codes: []string{"FR", "DE"}, Private: AddressAllow, Unknown: AddressAllow}
	b, _ = json.Marshal(s)
	var back Settings
	if err := json.Unmarshal(b, &back); err != nil || back.Country == nil || back.Country.Mode != CountryDeny || len(back.Country.Codes) != 2 {
		t.Fatalf("round trip of %s: %+v %v", b, back.Country, err)
	}
	if n := back.Country.Normalised(); n.Codes[0] != "DE" || back.Country.Codes[0] != "FR" {
		t.Errorf("Normalised = %v (and the original %v)", n.Codes, back.Country.Codes)
	}
	if (&CountryRule{Private: AddressAllow}).Normalised() != nil {
		t.Error("an off rule normalises to a rule")
	}
	if a, b := DefaultSettings(), DefaultSettings(); a != b { // comparable, and the same every time
		t.Errorf("DefaultSettings differs between calls: %+v, %+v", a, b)
	}
}
