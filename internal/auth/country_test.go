package auth_test

import (
	"errors"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/audit"
	"github.com/kaigi-meet/kaigi/internal/meeting"
)

// TestOrgCountryRule: the organisation's country rule is validated, kept
// with its codes sorted, and its change (turning it off too) is in the
// audit entry of the policy change with the rule's fields.
func TestOrgCountryRule(t *testing.T) {
	f := newFixture(t)
	admin, _, err := f.svc.SignUp(ctx, "ada@example.org", "Ada", pw, "10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	org, _ := f.svc.Org(ctx)
	if org.Country.On() {
		t.Fatalf("a fresh server has a country rule: %+v", org.Country)
	}
	org.Country = meeting.CountryRule{Mode: meeting.CountryDeny, Codes: []string{"de"}, Private: meeting.AddressAllow, Unknown: meeting.AddressAllow}
	if err := f.svc.UpdateOrg(ctx, admin, org); !errors.Is(err, meeting.ErrBadSettings) {
		t.Fatalf("lower-case code: %v", err)
	}
	org.Country.Codes = []string{"RU", "BY"}
	if err := f.svc.UpdateOrg(ctx, admin, org); err != nil {
		t.Fatal(err)
	}
	got, _ := f.svc.Org(ctx)
	if got.Country.Mode != meeting.CountryDeny || len(got.Country.Codes) != 2 || got.Country.Codes[0] != "BY" {
		t.Fatalf("stored rule = %+v", got.Country)
	}
	got.Country = meeting.CountryRule{}
	if err := f.svc.UpdateOrg(ctx, admin, got); err != nil {
		t.Fatal(err)
	}
	entries, err := f.db.AuditEntries(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var changes []map[string]string
	for _, e := range entries {
		if e.Action == audit.OrgPolicyChanged {
			changes = append(changes, e.Details)
		}
	}
	if len(changes) != 2 {
		t.Fatalf("%d policy changes audited, want 2: %+v", len(changes), entries)
	}
	set, off := changes[0], changes[1]
	if set["country.mode"] != `"deny"` || set["country.codes"] != `["BY","RU"]` || set["country.private"] != `"allow"` {
		t.Errorf("setting the rule audited as %v", set)
	}
	if off["country.mode"] != `""` {
		t.Errorf("turning the rule off audited as %v", off)
	}
}
