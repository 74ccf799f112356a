package meeting

import (
	"errors"
	"strings"
	"testing"
)

func TestRegionVerdict(t *testing.T) {
	rs := func(r ...string) *Regions { x := Regions(r); return &x }
	for _, tc := range []struct {
		name, node string
		org        []string
		own        *Regions
		named      bool
		allowed    string
		refused    string // part of the sentence, "" for held here
	}{
		{"nothing named: anywhere, even on a node without a region", "", nil, nil, false, "", ""},
		{"the meeting's own, this node among them", "eu-central", nil, rs("eu-central", "eu-west"), true, "eu-central,eu-west", ""},
		{"the meeting's own, elsewhere", "eu-central", nil, rs("us-east"), true, "us-east", "only in us-east, and this is a server in eu-central"},
		{"the organisation's", "eu-central", []string{"us-east"}, nil, true, "us-east", "only in us-east"},
		{"a meeting narrows the organisation's", "eu-west", []string{"eu-central", "eu-west"}, rs("eu-west"), true, "eu-west", ""},
		{"a meeting cannot widen it", "us-east", []string{"eu-central"}, rs("eu-central", "us-east"), true, "eu-central", "only in eu-central"},
		{"nothing in common", "eu-central", []string{"eu-central"}, rs("us-east"), true, "", "in no region at all"},
		{"a node without a region holds no meeting that names one", "", nil, rs("eu-central"), true, "eu-central", "a server with no region"},
	} {
		refusal, allowed, named := RegionVerdict(tc.node, tc.org, tc.own)
		if named != tc.named || strings.Join(allowed, ",") != tc.allowed {
			t.Errorf("%s: allowed %v (named %v), want %q (%v)", tc.name, allowed, named, tc.allowed, tc.named)
		}
		if (tc.refused == "") != (refusal == "") || !strings.Contains(refusal, tc.refused) {
			t.Errorf("%s: refusal %q, want one containing %q", tc.name, refusal, tc.refused)
		}
	}
}

func TestRegionsValidate(t *testing.T) {
	for _, bad := range []Regions{{"EU-Central"}, {""}, {"-eu"}, {"eu central"}, {strings.Repeat("a", 33)}, {"eu\u200bwest"}, make(Regions, MaxRegions+1)} {
		if err := bad.Validate(); !errors.Is(err, ErrBadSettings) {
			t.Errorf("%q accepted", bad)
		}
	}
	good := Regions{"us-east-2", "eu-central", "eu-central"}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	if n := good.Normalised(); strings.Join(*n, ",") != "eu-central,us-east-2" {
		t.Errorf("normalised to %v", *n)
	}
	if (&Regions{}).Normalised() != nil {
		t.Error("an empty set does not normalise to none")
	}
	s := Settings{ScreenShare: WhoHosts, Unmute: WhoHosts, Chat: WhoHosts, Rename: WhoHosts, Regions: &Regions{"Mars"}}
	if err := s.Validate(); !errors.Is(err, ErrBadSettings) {
		t.Error("settings with a bad region accepted")
	}
}
