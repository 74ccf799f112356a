package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/auth"
	"github.com/kaigi-meet/kaigi/internal/config"
	"github.com/kaigi-meet/kaigi/internal/meeting"
)

// TestOrgCommands: `kaigi admin org show` prints a fresh server's policy;
// `org set` saves a changed one as the operator, recorded with the reason;
// a file that is not JSON, an unknown field, a retention below the legal
// minimum, a country rule without a GeoIP database and a missing reason
// are refused and change nothing.
func TestOrgCommands(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	if err := admin([]string{"create-user", "--data", dir, "--email", "ada@example.org", "--name", "Ada"},
		strings.NewReader("correct horse battery\n"), &out, &errOut); err != nil {
		t.Fatalf("create-user: %v (%s)", err, errOut.String())
	}
	show := func() (auth.Org, string) {
		t.Helper()
		var out, errOut bytes.Buffer
		if err := admin([]string{"org", "show", "--data", dir}, nil, &out, &errOut); err != nil {
			t.Fatalf("org show: %v (%s)", err, errOut.String())
		}
		var o auth.Org
		dec := json.NewDecoder(bytes.NewReader(out.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&o); err != nil {
			t.Fatalf("org show printed %q: %v", out.String(), err)
		}
		return o, out.String()
	}
	set := func(policy, reason string, extra ...string) error {
		file := filepath.Join(t.TempDir(), "org.json")
		if err := os.WriteFile(file, []byte(policy), 0o600); err != nil {
			t.Fatal(err)
		}
		args := append([]string{"org", "set", "--data", dir, "--file", file}, extra...)
		if reason != "" {
			args = append(args, "--reason", reason)
		}
		var out, errOut bytes.Buffer
		return admin(args, nil, &out, &errOut)
	}

	want := auth.DefaultOrg()
	want.Retention.AuditMinimumDays = config.Default().Retention.AuditMinimumDays
	got, text := show()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("a fresh server's policy: %+v, want %+v", got, want)
	}
	if !strings.Contains(text, "\n  \"require2FA\": false,\n") {
		t.Errorf("not indented JSON: %q", text)
	}

	changed := got
	changed.Require2FA = true
	changed.MeetingDefaults.WaitingRoom = !got.MeetingDefaults.WaitingRoom
	b, err := json.Marshal(changed)
	if err != nil {
		t.Fatal(err)
	}
	if err := set(string(b), ""); err == nil || !strings.Contains(err.Error(), "reason") {
		t.Fatalf("set without a reason: %v", err)
	}
	if after, _ := show(); !reflect.DeepEqual(after, want) {
		t.Fatalf("set without a reason changed the policy: %+v", after)
	}
	if err := set(string(b), "audit asked for two-factor"); err != nil {
		t.Fatalf("org set: %v", err)
	}
	after, _ := show()
	if !reflect.DeepEqual(after, changed) {
		t.Fatalf("after set: %+v, want %+v", after, changed)
	}

	var log bytes.Buffer
	if err := auditCmd([]string{"list", "--data", dir, "--json", "--reason", "check the change"}, &log, &errOut); err != nil {
		t.Fatal(err)
	}
	var entry map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(log.String()), "\n") {
		var e map[string]any
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if e["action"] == "org.policy_changed" {
			if entry != nil {
				t.Fatalf("two policy changes recorded: %s", log.String())
			}
			entry = e
		}
	}
	details, _ := entry["details"].(map[string]any)
	if entry == nil || entry["actorKind"] != "operator" || entry["actorId"] != nil || entry["subjectKind"] != "org" ||
		entry["reason"] != "audit asked for two-factor" || details["require2FA"] != "true" ||
		details["meetingDefaults.waitingRoom"] != fmt.Sprint(changed.MeetingDefaults.WaitingRoom) || len(details) != 2 {
		t.Fatalf("recorded: %v", entry)
	}

	// Each refused change leaves the policy as it is.
	strict := strings.Replace(string(b), `"require2FA":true`, `"require2FA":false,"requireTwoFactor":true`, 1)
	low := changed
	r := *changed.Retention
	r.AuditDays = 400
	low.Retention = &r
	lowJSON, _ := json.Marshal(low)
	countryOn := changed
	countryOn.Require2FA = false
	countryOn.Country = meeting.CountryRule{Mode: meeting.CountryDeny, Codes: []string{"DE"}, Private: "allow", Unknown: "allow"}
	countryJSON, _ := json.Marshal(countryOn)
	defaultOn := changed
	defaultOn.MeetingDefaults.Country = &countryOn.Country
	defaultJSON, _ := json.Marshal(defaultOn)
	cfg := filepath.Join(t.TempDir(), "kaigi.yaml")
	if err := os.WriteFile(cfg, []byte("retention: {audit_minimum_days: 500}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, policy, msg string
		extra             []string
	}{
		{"not JSON", "require2FA: false", "not the organisation's policy", nil},
		{"two objects", string(b) + string(b), "data after", nil},
		{"an unknown field", strict, "unknown field", nil},
		{"audit days below the legal minimum", string(lowJSON), "at least 500 days", []string{"--config", cfg}},
		{"a country rule without a database", string(countryJSON), "GeoIP", nil},
		{"a meeting default's country rule without a database", string(defaultJSON), "GeoIP", nil},
	} {
		if err := set(c.policy, "try", c.extra...); err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.msg)
		}
		if now, _ := show(); !reflect.DeepEqual(now, changed) {
			t.Errorf("%s changed the policy: %+v", c.name, now)
		}
	}
	// The same low retention passes where the legal minimum is 365: the
	// refusal above was the configuration's minimum's.
	if err := set(string(lowJSON), "shorter audit retention"); err != nil {
		t.Fatalf("audit days 400 with a minimum of 365: %v", err)
	}
	if now, _ := show(); now.Retention.AuditDays != 400 {
		t.Fatalf("audit days after set: %+v", now.Retention)
	}
	if err := admin([]string{"org", "set", "--data", dir, "--reason", "x"}, nil, &out, &errOut); err == nil {
		t.Error("set without --file was accepted")
	}
	if err := admin([]string{"org", "show", "--data", t.TempDir()}, nil, &out, &errOut); err == nil {
		t.Error("show on a directory without a database was accepted")
	}
}
