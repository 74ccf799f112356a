package geo

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/meeting"
)

// importTiny builds a database from testdata's tiny tor-format files.
func importTiny(t *testing.T) (*DB, ImportStats) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "country.mmdb")
	st, err := ImportFiles([]string{"testdata/tiny-geoip", "testdata/tiny-geoip6"}, out)
	if err != nil {
		t.Fatal(err)
	}
	db, err := Open(out)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, st
}

// TestImportAndLookup: a tiny tor-format file becomes an MMDB whose
// lookups answer the right country for IPv4 and IPv6 (and IPv4 through its
// IPv6 forms), private for private networks it does not map, and unknown
// for the rest, "??" and codes that are no country included.
func TestImportAndLookup(t *testing.T) {
	db, st := importTiny(t)
	if st.IPv4Ranges != 6 || st.IPv6Ranges != 2 || st.Countries != 6 {
		t.Errorf("stats = %+v, want 6 IPv4 and 2 IPv6 ranges in 6 countries", st)
	}
	if st.Aliased != 1 {
		t.Errorf("aliased = %d, want the 6to4 line", st.Aliased)
	}
	if st.Skipped["??"] != 2 || st.Skipped["EU"] != 1 || len(st.Skipped) != 2 {
		t.Errorf("skipped = %v, want ?? twice and EU once", st.Skipped)
	}
	if kind, built, v6 := db.Info(); kind != DatabaseType || !v6 || time.Since(built) > time.Hour {
		t.Errorf("info = %q %v %v", kind, built, v6)
	}
	for addr, want := range map[string]meeting.Place{
		"1.0.0.0":           {Country: "AU"},
		"1.0.0.255":         {Country: "AU"},
		"1.0.1.0":           {}, // just past the range
		"2.16.0.1":          {Country: "DE"},
		"2.16.1.7":          {Country: "FR"}, // the later, smaller range wins
		"2.16.2.0":          {Country: "DE"},
		"::ffff:2.16.2.0":   {Country: "DE"}, // IPv4-mapped
		"2002:210:200::1":   {Country: "DE"}, // 6to4 of 2.16.2.0
		"5.0.0.1":           {},              // ??
		"6.0.0.1":           {},              // EU
		"7.0.0.1":           {Country: "GB"}, // UK
		"127.0.0.1":         {Private: true},
		"127.0.0.2":         {Country: "DE"}, // mapped, though loopback
		"127.0.0.3":         {Country: "FR"},
		"10.1.2.3":          {Private: true},
		"172.16.0.1":        {Private: true},
		"192.168.1.1":       {Private: true},
		"100.64.0.1":        {Private: true}, // CGNAT
		"100.128.0.1":       {},              // just past CGNAT
		"169.254.1.1":       {Private: true},
		"8.8.8.8":           {},
		"2001:2::1":         {Country: "JP"},
		"2a00:1450:4001::5": {Country: "IE"},
		"2001:db8::1":       {}, // ??
		"::1":               {Private: true},
		"fe80::1":           {Private: true},
		"fd12:3456::1":      {Private: true},
		"2606:4700::1":      {},
	} {
		if got := db.Place(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Place(%s) = %+v, want %+v", addr, got, want)
		}
	}
	if got := db.Place(netip.Addr{}); !got.Unknown() {
		t.Errorf("Place(no address) = %+v, want unknown", got)
	}
	if got := db.Place(netip.MustParseAddr("fe80::1%eth0")); !got.Private {
		t.Errorf("Place(fe80::1%%eth0) = %+v, want private", got)
	}
}

// TestImportRejectsBadLines: a malformed line is an error naming the file
// and line, and the output file is not replaced.
func TestImportRejectsBadLines(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "country.mmdb")
	if err := os.WriteFile(out, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{
		"1,2",                              // two fields
		"2,1,DE",                           // backwards
		"1,4294967296,DE",                  // past IPv4
		"-1,5,DE",                          // negative
		"1,2,DEU",                          // three letters
		"::1,1.2.3.4,DE",                   // mixed
		"::ffff:1.2.3.4,::ffff:1.2.3.5,DE", // IPv4 in IPv6 clothes
		"2001::,2001:zz::,DE",
	} {
		src := filepath.Join(dir, "geoip")
		if err := os.WriteFile(src, []byte("# comment\n16777216,16777471,AU\n"+bad+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := ImportFiles([]string{src}, out)
		if err == nil || !strings.Contains(err.Error(), src+":3:") {
			t.Errorf("line %q: err = %v, want one naming %s:3", bad, err, src)
		}
		if b, _ := os.ReadFile(out); string(b) != "old" {
			t.Fatalf("line %q: the old database was replaced", bad)
		}
	}
	if _, err := ImportFiles([]string{dir + "/none"}, out); err == nil {
		t.Error("a missing source: no error")
	}
	empty := t.TempDir()
	if _, err := ImportFiles([]string{empty}, out); err == nil || !strings.Contains(err.Error(), "neither geoip nor geoip6") {
		t.Errorf("a directory without the files: err = %v", err)
	}
}

// TestOpenRejectsNonDatabase: a file that is no MMDB is refused at open.
func TestOpenRejectsNonDatabase(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.mmdb")
	os.WriteFile(p, bytes.Repeat([]byte("not a database "), 100), 0o644)
	if _, err := Open(p); err == nil {
		t.Fatal("opened a file that is no database")
	}
}

// TestImportRealTorFiles imports Debian's tor-geoipdb files when they are
// there (apt-get install tor-geoipdb, or KAIGI_TOR_GEOIP=DIR with them)
// and logs the time and size; CI has no need of them.
func TestImportRealTorFiles(t *testing.T) {
	dir := os.Getenv("KAIGI_TOR_GEOIP")
	if dir == "" {
		dir = "/usr/share/tor"
	}
	if _, err := os.Stat(filepath.Join(dir, "geoip")); err != nil {
		t.Skip("no tor-geoipdb files in", dir)
	}
	out := filepath.Join(t.TempDir(), "country.mmdb")
	start := time.Now()
	st, err := ImportFiles([]string{dir}, out)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	db, err := Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	t.Logf("imported %d IPv4 and %d IPv6 ranges in %d countries, %d bytes, in %s; left out %v and %d IPv4 aliases", st.IPv4Ranges, st.IPv6Ranges, st.Countries, st.Bytes, took, st.Skipped, st.Aliased)
	if st.IPv4Ranges < 1000 || st.IPv6Ranges < 1000 || st.Countries < 200 {
		t.Errorf("too little imported: %+v", st)
	}
	n, known := 0, 0
	start = time.Now()
	for a := uint32(1 << 24); a < 224<<24; a += 1<<24 - 12345 {
		n++
		if !db.Place(v4(a)).Unknown() {
			known++
		}
	}
	t.Logf("%d of %d sampled IPv4 addresses have a country or are private; %s a lookup", known, n, time.Since(start)/time.Duration(n))
	if known < n/2 {
		t.Errorf("only %d of %d sampled addresses known", known, n)
	}
}

// TestRules: allow- and deny-lists, private and unknown addresses, and
// the organisation's rule before the meeting's, which only narrows it.
func TestRules(t *testing.T) {
	de, fr, us := meeting.Place{Country: "DE"}, meeting.Place{Country: "FR"}, meeting.Place{Country: "US"}
	private, unknown := meeting.Place{Private: true}, meeting.Place{}
	allowEU := &meeting.CountryRule{Mode: meeting.CountryAllow, Codes: []string{"DE", "FR"}, Private: meeting.AddressAllow, Unknown: meeting.AddressRefuse}
	denyDE := &meeting.CountryRule{Mode: meeting.CountryDeny, Codes: []string{"DE"}, Private: meeting.AddressRefuse, Unknown: meeting.AddressAllow}
	cases := []struct {
		name     string
		org, mtg *meeting.CountryRule
		p        meeting.Place
		refused  bool
		byOrg    bool
	}{
		{"no rules", nil, nil, de, false, false},
		{"off rule", &meeting.CountryRule{}, nil, unknown, false, false},
		{"org allows DE", allowEU, nil, de, false, false},
		{"org refuses US", allowEU, nil, us, true, true},
		{"org allows private", allowEU, nil, private, false, false},
		{"org refuses unknown", allowEU, nil, unknown, true, true},
		{"meeting narrows: DE denied", allowEU, denyDE, de, true, false},
		{"meeting narrows: FR still in", allowEU, denyDE, fr, false, false},
		{"meeting cannot widen: US", allowEU, &meeting.CountryRule{Mode: meeting.CountryAllow, Codes: []string{"US"}, Private: meeting.AddressAllow, Unknown: meeting.AddressAllow}, us, true, true},
		{"meeting refuses private", allowEU, denyDE, private, true, false},
		{"org refusal named first", denyDE, allowEU, de, true, true},
		{"meeting only: deny-list admits others", nil, denyDE, us, false, false},
		{"meeting only: unknown allowed", nil, denyDE, unknown, false, false},
	}
	for _, c := range cases {
		r := Decide(c.org, c.mtg, c.p)
		if r.Refused() != c.refused || (c.refused && r.ByOrganisation != c.byOrg) {
			t.Errorf("%s: %+v, want refused=%v byOrg=%v", c.name, r, c.refused, c.byOrg)
		}
		if c.refused && !strings.Contains(r.Message, c.p.String()) {
			t.Errorf("%s: message %q does not name the place %q", c.name, r.Message, c.p)
		}
		if c.refused && strings.Contains(r.Message, "organisation rule") != c.byOrg {
			t.Errorf("%s: message %q names the wrong rule", c.name, r.Message)
		}
	}
}

// TestPolicyCheck: without a database nothing is looked up or refused;
// with one, the organisation's rule as read at the check applies, and an
// error reading it is returned rather than guessed around.
func TestPolicyCheck(t *testing.T) {
	ctx := context.Background()
	var none *Policy
	if r, err := none.Check(ctx, netip.MustParseAddr("127.0.0.2"), &meeting.CountryRule{Mode: meeting.CountryDeny, Codes: []string{"DE"}, Private: "allow", Unknown: "allow"}); err != nil || r.Refused() {
		t.Errorf("no database: %+v %v", r, err)
	}
	db, _ := importTiny(t)
	var org *meeting.CountryRule
	p := &Policy{DB: db, Org: func(context.Context) (*meeting.CountryRule, error) { return org, nil }}
	if r, _ := p.Check(ctx, netip.MustParseAddr("127.0.0.2"), nil); r.Refused() {
		t.Errorf("no rule: refused %+v", r)
	}
	org = &meeting.CountryRule{Mode: meeting.CountryDeny, Codes: []string{"DE"}, Private: "allow", Unknown: "allow"}
	if r, _ := p.Check(ctx, netip.MustParseAddr("127.0.0.2"), nil); !r.Refused() || r.Place.Country != "DE" || !r.ByOrganisation {
		t.Errorf("127.0.0.2 (DE) against an org deny-list of DE: %+v", r)
	}
	if r, _ := p.Check(ctx, netip.MustParseAddr("127.0.0.3"), nil); r.Refused() {
		t.Errorf("127.0.0.3 (FR): refused %+v", r)
	}
	if r, _ := p.Check(ctx, netip.MustParseAddr("127.0.0.1"), nil); r.Refused() || !r.Place.Private {
		t.Errorf("127.0.0.1 (private, allowed): %+v", r)
	}
	boom := errors.New("database gone")
	p.Org = func(context.Context) (*meeting.CountryRule, error) { return nil, boom }
	if _, err := p.Check(ctx, netip.MustParseAddr("127.0.0.3"), nil); !errors.Is(err, boom) {
		t.Errorf("org read error: %v", err)
	}
}
