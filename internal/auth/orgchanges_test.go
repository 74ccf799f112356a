package auth_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/audit"
	"github.com/kaigi-meet/kaigi/internal/auth"
	"github.com/kaigi-meet/kaigi/internal/meeting"
)

// lastPolicyEntry is the newest audit entry, which must be a policy change.
func lastPolicyEntry(t *testing.T, f *fixture, admin auth.User) audit.Entry {
	t.Helper()
	page, err := f.svc.AuditLog(ctx, admin, 0, 1)
	if err != nil || len(page.Entries) != 1 {
		t.Fatalf("audit log: %v %+v", err, page)
	}
	e := page.Entries[0]
	if e.Action != audit.OrgPolicyChanged {
		t.Fatalf("newest entry is %s", e.Action)
	}
	return e
}

// TestOrgChangesRecordsEveryField: an admin changes every field of the
// policy at once, more than an entry's details hold; every changed field
// is in the entry, with its value or named in "more", whatever the map
// order (so the change is made several times).
func TestOrgChangesRecordsEveryField(t *testing.T) {
	want := []string{"name", "require2FA", "allowSignUp", "country.mode", "country.codes", "country.private", "country.unknown",
		"meetingDefaults.e2ee", "meetingDefaults.passcode", "meetingDefaults.waitingRoom", "meetingDefaults.requireSignIn",
		"meetingDefaults.joinBeforeHost", "meetingDefaults.locked", "meetingDefaults.screenShare", "meetingDefaults.unmute",
		"meetingDefaults.chat", "meetingDefaults.rename", "meetingDefaults.country",
		"retention.meetingDays", "retention.expiredSessionDays", "retention.auditDays"}
	for i := 0; i < 10; i++ {
		f := newFixture(t)
		ada, _, _ := f.svc.SignUp(ctx, "ada@example.org", "Ada", pw, "10.0.0.1")
		o, _ := f.svc.Org(ctx)
		o.Require2FA = true
		if err := f.svc.UpdateOrg(ctx, ada, o); err != nil {
			t.Fatal(err)
		}
		o.Name, o.Require2FA, o.AllowSignUp = "Other", false, true
		d := &o.MeetingDefaults
		d.E2EE, d.Passcode, d.WaitingRoom, d.RequireSignIn, d.JoinBeforeHost, d.Locked = !d.E2EE, !d.Passcode, !d.WaitingRoom, !d.RequireSignIn, !d.JoinBeforeHost, !d.Locked
		for _, w := range []*meeting.Who{&d.ScreenShare, &d.Unmute, &d.Chat, &d.Rename} {
			if *w == meeting.WhoHosts {
				*w = meeting.WhoEveryone
			} else {
				*w = meeting.WhoHosts
			}
		}
		d.Country = &meeting.CountryRule{Mode: meeting.CountryDeny, Codes: []string{"DE"}, Private: meeting.AddressAllow, Unknown: meeting.AddressAllow}
		r := *o.Retention
		r.MeetingDays, r.ExpiredSessionDays, r.AuditDays = r.MeetingDays+1, r.ExpiredSessionDays+1, r.AuditDays+1
		o.Retention = &r
		o.Country = meeting.CountryRule{Mode: meeting.CountryDeny, Codes: []string{"FR"}, Private: meeting.AddressRefuse, Unknown: meeting.AddressRefuse}
		if err := f.svc.UpdateOrg(ctx, ada, o); err != nil {
			t.Fatal(err)
		}
		e := lastPolicyEntry(t, f, ada)
		more := strings.Split(e.Details["more"], ",")
		for _, k := range want {
			if _, ok := e.Details[k]; !ok && !slices.Contains(more, k) {
				t.Fatalf("run %d: %s is neither recorded nor named: %v", i+1, k, e.Details)
			}
		}
		if e.Details["require2FA"] != "false" && !slices.Contains(more, "require2FA") {
			t.Fatalf("run %d: require2FA recorded as %q", i+1, e.Details["require2FA"])
		}
	}
}

// TestOrgChangesRecordsRemoval: removing the meeting defaults' country
// rule is recorded as the field's removal.
func TestOrgChangesRecordsRemoval(t *testing.T) {
	f := newFixture(t)
	ada, _, _ := f.svc.SignUp(ctx, "ada@example.org", "Ada", pw, "10.0.0.1")
	o, _ := f.svc.Org(ctx)
	o.MeetingDefaults.Country = &meeting.CountryRule{Mode: meeting.CountryDeny, Codes: []string{"FR"}, Private: meeting.AddressAllow, Unknown: meeting.AddressAllow}
	if err := f.svc.UpdateOrg(ctx, ada, o); err != nil {
		t.Fatal(err)
	}
	if e := lastPolicyEntry(t, f, ada); !strings.Contains(e.Details["meetingDefaults.country"], `"FR"`) {
		t.Fatalf("setting the rule: %v", e.Details)
	}
	o.MeetingDefaults.Country = nil
	if err := f.svc.UpdateOrg(ctx, ada, o); err != nil {
		t.Fatal(err)
	}
	if e := lastPolicyEntry(t, f, ada); e.Details["meetingDefaults.country"] != "(removed)" || len(e.Details) != 1 {
		t.Fatalf("removing the rule: %v", e.Details)
	}
}

// TestOrgChangesLongValue: a 60-country list is longer than a detail
// holds; changing only its last code still changes the recorded value.
func TestOrgChangesLongValue(t *testing.T) {
	var known []string
	for a := 'A'; a <= 'Z'; a++ {
		for b := 'A'; b <= 'Z'; b++ {
			if c := string([]rune{a, b}); meeting.KnownCountry(c) {
				known = append(known, c)
			}
		}
	}
	if len(known) < 61 {
		t.Fatalf("only %d known countries", len(known))
	}
	f := newFixture(t)
	ada, _, _ := f.svc.SignUp(ctx, "ada@example.org", "Ada", pw, "10.0.0.1")
	o, _ := f.svc.Org(ctx)
	o.Country = meeting.CountryRule{Mode: meeting.CountryDeny, Codes: slices.Clone(known[:60]), Private: meeting.AddressAllow, Unknown: meeting.AddressAllow}
	if err := f.svc.UpdateOrg(ctx, ada, o); err != nil {
		t.Fatal(err)
	}
	first := lastPolicyEntry(t, f, ada).Details["country.codes"]
	o.Country.Codes = append(slices.Clone(known[:59]), known[60])
	if err := f.svc.UpdateOrg(ctx, ada, o); err != nil {
		t.Fatal(err)
	}
	second, ok := lastPolicyEntry(t, f, ada).Details["country.codes"]
	if !ok || second == first {
		t.Fatalf("changing the last of 60 codes: recorded %v %q, before %q", ok, second, first)
	}
	if len(second) > audit.MaxDetailText || !strings.HasPrefix(second, `["`+known[0]) || !strings.Contains(second, "sha256:") {
		t.Fatalf("a long value is recorded as %q", second)
	}
}
