package meeting

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestNormaliseName(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"Ada", "Ada", true},
		{"  Ada Lovelace  ", "Ada Lovelace", true},
		{"渡辺 さくら", "渡辺 さくら", true},
		{"👩🏽‍💻 dev", "👩🏽‍💻 dev", true},
		{strings.Repeat("a", MaxNameLength), strings.Repeat("a", MaxNameLength), true},
		{strings.Repeat("é", MaxNameLength), strings.Repeat("é", MaxNameLength), true},
		{strings.Repeat("a", MaxNameLength+1), "", false},
		{"", "", false},
		{"   ", "", false},
		{"Ada\nLovelace", "", false},
		{"Ada\x00", "", false},
		{"evil\u202egnp.exe", "", false},
		{"\u2066isolate", "", false},
		{"bad \xff utf8", "", false},
		// Invisible format characters: one name passing for another.
		{"Ada\u200b", "", false},
		{"A\u200cda", "", false},
		{"Ad\u200da", "", false},
		{"\u200eAda", "", false},
		{"Ada\u200f", "", false},
		{"\ufeffAda", "", false},
		{"Ada\u00ad", "", false},
		{"Ada\u2060", "", false},
		{"Ada\u061c", "", false},
		{"Ada\U000e0041", "", false},
		{"Ada\u2028Lovelace", "", false},
		{"\u200d", "", false},
		{"Ada \u200d💻", "", false},
		{"\u3000Ada\u0085", "Ada", true},
		{"🏳️‍🌈 Ada", "🏳️‍🌈 Ada", true},
		{"Ada ❤️‍🔥", "Ada ❤️‍🔥", true},
	}
	for _, tt := range tests {
		got, err := NormaliseName(tt.in)
		if tt.ok != (err == nil) || got != tt.want {
			t.Errorf("NormaliseName(%q) = %q, %v; want %q, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrBadName) {
			t.Errorf("NormaliseName(%q) error %v is not ErrBadName", tt.in, err)
		}
	}
}

func TestHiddenCharacter(t *testing.T) {
	for _, s := range []string{"Planning", "渡辺 さくら", "مرحبا", "👩🏽‍💻 standup", "Q3 — review"} {
		if r, ok := HiddenCharacter(s); ok {
			t.Errorf("HiddenCharacter(%q) = %U", s, r)
		}
	}
	for s, want := range map[string]rune{
		"Plan\u200bning": 0x200b, "\u202eplan": 0x202e, "plan\u2066": 0x2066, "\ufeffplan": 0xfeff,
		"plan\u0085": 0x85, "plan\u2029": 0x2029, "a\u200db": 0x200d, "`\u200d©": 0x200d, "plan\ufffd": 0xfffd,
	} {
		if r, ok := HiddenCharacter(s); !ok || r != want {
			t.Errorf("HiddenCharacter(%q) = %U, %v; want %U", s, r, ok, want)
		}
	}
}

func fixedClock() func() time.Time {
	t := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	return func() time.Time { t = t.Add(time.Second); return t }
}

const owner = "user-owner"

// open is a meeting with no passcode, no waiting room and join-before-host
// on: everyone is admitted at once.
func open() *Meeting {
	s := DefaultSettings()
	s.Passcode, s.WaitingRoom, s.JoinBeforeHost = false, false, true
	return New(Record{ID: "7k3m-q9xd-2hfa-b8rn", OwnerID: owner, Settings: s}, Options{Now: fixedClock()})
}

func withSettings(change func(*Settings)) *Meeting {
	s := DefaultSettings()
	if change != nil {
		change(&s)
	}
	return New(Record{ID: "7k3m-q9xd-2hfa-b8rn", OwnerID: owner, Settings: s, Passcode: "123456789"}, Options{Now: fixedClock()})
}

func mustJoin(t *testing.T, m *Meeting, req JoinRequest) Participant {
	t.Helper()
	res, err := m.Join(req)
	if err != nil {
		t.Fatalf("join %q: %v", req.Name, err)
	}
	return res.Participant
}

func guest(name string) JoinRequest { return JoinRequest{Name: name, Passcode: "123456789"} }
func host() JoinRequest {
	return JoinRequest{Name: "Host", Identity: Identity{UserID: owner}}
}

func TestJoinLeaveOrder(t *testing.T) {
	m := open()
	a := mustJoin(t, m, JoinRequest{Name: "Ada", Media: MediaState{Audio: true}})
	b := mustJoin(t, m, JoinRequest{Name: "Bob"})
	c := mustJoin(t, m, JoinRequest{Name: "Cy"})
	if a.ID == b.ID || b.ID == c.ID || a.ID == c.ID {
		t.Fatalf("participant IDs repeat: %s %s %s", a.ID, b.ID, c.ID)
	}
	if !a.Connected || a.Role != RoleParticipant || !a.Media.Audio || a.Media.Video || a.Waiting != "" {
		t.Errorf("joined participant = %+v", a)
	}
	if !a.JoinedAt.Before(b.JoinedAt) {
		t.Errorf("JoinedAt not increasing: %v, %v", a.JoinedAt, b.JoinedAt)
	}
	if got := names(m.Participants()); got != "Ada,Bob,Cy" {
		t.Errorf("roster = %s", got)
	}
	if _, err := m.Leave(b.ID); err != nil {
		t.Fatal(err)
	}
	if got := names(m.Participants()); got != "Ada,Cy" {
		t.Errorf("roster after Bob left = %s", got)
	}
	if _, err := m.Leave(b.ID); !errors.Is(err, ErrNoSuchParticipant) {
		t.Errorf("second Leave = %v, want ErrNoSuchParticipant", err)
	}
}

func TestDefaultsAreSafe(t *testing.T) {
	s := DefaultSettings()
	if !s.E2EE || !s.Passcode || !s.WaitingRoom || s.JoinBeforeHost || s.RequireSignIn || s.ScreenShare != WhoHosts || s.Locked {
		t.Fatalf("defaults %+v are not the safe ones the product promises", s)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := (Settings{ScreenShare: "anyone"}).Validate(); !errors.Is(err, ErrBadSettings) {
		t.Errorf("Validate accepted a bad Who: %v", err)
	}
}

// TestJoinDecisions is the table of who gets in, who waits and who is
// refused, and why.
func TestJoinDecisions(t *testing.T) {
	addr := netip.MustParseAddr("203.0.113.9")
	tests := []struct {
		name     string
		settings func(*Settings)
		hostIn   bool
		bans     []Ban
		req      JoinRequest
		err      error
		waiting  WaitReason
		role     Role
	}{
		{"defaults, host absent: wait for host", nil, false, nil, guest("Gus"), nil, WaitForHost, RoleParticipant},
		{"defaults, host in: waiting room", nil, true, nil, guest("Gus"), nil, WaitForRoom, RoleParticipant},
		{"no waiting room, host in: admitted", func(s *Settings) { s.WaitingRoom = false }, true, nil, guest("Gus"), nil, "", RoleParticipant},
		{"join before host, no waiting room", func(s *Settings) { s.WaitingRoom, s.JoinBeforeHost = false, true }, false, nil, guest("Gus"), nil, "", RoleParticipant},
		{"join before host, waiting room", func(s *Settings) { s.JoinBeforeHost = true }, false, nil, guest("Gus"), nil, WaitForRoom, RoleParticipant},
		{"owner is admitted as host", nil, false, nil, host(), nil, "", RoleHost},
		{"wrong passcode", nil, true, nil, JoinRequest{Name: "Gus", Passcode: "111111111"}, ErrWrongPasscode, "", ""},
		{"missing passcode", nil, true, nil, JoinRequest{Name: "Gus"}, ErrWrongPasscode, "", ""},
		{"passcode with spaces", nil, true, nil, JoinRequest{Name: "Gus", Passcode: " 123 456 789 "}, nil, WaitForRoom, RoleParticipant},
		{"passcode off", func(s *Settings) { s.Passcode = false }, true, nil, JoinRequest{Name: "Gus"}, nil, WaitForRoom, RoleParticipant},
		{"owner needs no passcode", nil, false, nil, host(), nil, "", RoleHost},
		{"locked", func(s *Settings) { s.Locked = true }, true, nil, guest("Gus"), ErrLocked, "", ""},
		{"locked, even for the right passcode and no waiting room", func(s *Settings) { s.Locked, s.WaitingRoom = true, false }, true, nil, guest("Gus"), ErrLocked, "", ""},
		{"locked does not keep the owner out", func(s *Settings) { s.Locked = true }, false, nil, host(), nil, "", RoleHost},
		{"sign-in required, guest", func(s *Settings) { s.RequireSignIn = true }, true, nil, guest("Gus"), ErrSignInRequired, "", ""},
		{"sign-in required, signed in", func(s *Settings) { s.RequireSignIn = true }, true, nil,
			JoinRequest{Name: "Una", Passcode: "123456789", Identity: Identity{UserID: "u2"}}, nil, WaitForRoom, RoleParticipant},
		{"banned account", nil, true, []Ban{{BanUser, "u2"}}, JoinRequest{Name: "Una", Passcode: "123456789", Identity: Identity{UserID: "u2"}}, ErrBanned, "", ""},
		{"banned device", nil, true, []Ban{{BanDevice, "dev1"}}, JoinRequest{Name: "Gus", Passcode: "123456789", Identity: Identity{Device: "dev1"}}, ErrBanned, "", ""},
		{"banned guest address", nil, true, []Ban{{BanAddress, addr.String()}}, JoinRequest{Name: "Gus", Passcode: "123456789", Identity: Identity{Addr: addr}}, ErrBanned, "", ""},
		{"an account from a banned address waits, even without a waiting room", func(s *Settings) { s.WaitingRoom = false }, true, []Ban{{BanAddress, addr.String()}},
			JoinRequest{Name: "Una", Passcode: "123456789", Identity: Identity{UserID: "u2", Addr: addr}}, nil, WaitForRoom, RoleParticipant},
		{"a guest from a banned IPv6 /64, another address in it", nil, true, []Ban{{BanAddress, "2001:db8:7:9::/64"}},
			JoinRequest{Name: "Gus", Passcode: "123456789", Identity: Identity{Addr: netip.MustParseAddr("2001:db8:7:9:aaaa::1")}}, ErrBanned, "", ""},
		{"a guest from the next IPv6 /64", func(s *Settings) { s.WaitingRoom = false }, true, []Ban{{BanAddress, "2001:db8:7:9::/64"}},
			JoinRequest{Name: "Gus", Passcode: "123456789", Identity: Identity{Addr: netip.MustParseAddr("2001:db8:7:a::1")}}, nil, "", RoleParticipant},
		{"bad name", nil, true, nil, guest("\x1b[31m"), ErrBadName, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := DefaultSettings()
			if tt.settings != nil {
				tt.settings(&s)
			}
			m := New(Record{ID: "7k3m-q9xd-2hfa-b8rn", OwnerID: owner, Settings: s, Passcode: "123456789"}, Options{Bans: tt.bans})
			if tt.hostIn {
				// The host joins first with the meeting unlocked, then the
				// settings under test apply.
				m.rec.Settings.Locked = false
				mustJoin(t, m, host())
				m.rec.Settings = s
			}
			before := m.Len()
			res, err := m.Join(tt.req)
			if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
				t.Fatalf("Join = %v, want %v", err, tt.err)
			}
			if err != nil {
				if m.Len() != before {
					t.Errorf("a refused join changed the meeting")
				}
				return
			}
			if res.Participant.Waiting != tt.waiting || res.Participant.Role != tt.role {
				t.Errorf("Join = waiting %q role %q, want %q %q", res.Participant.Waiting, res.Participant.Role, tt.waiting, tt.role)
			}
		})
	}
}

func TestMeetingFull(t *testing.T) {
	s := DefaultSettings()
	s.Passcode, s.WaitingRoom, s.JoinBeforeHost = false, false, true
	m := New(Record{OwnerID: owner, Settings: s}, Options{MaxParticipants: 2})
	mustJoin(t, m, JoinRequest{Name: "One"})
	mustJoin(t, m, JoinRequest{Name: "Two"})
	if _, err := m.Join(JoinRequest{Name: "Third"}); !errors.Is(err, ErrMeetingFull) {
		t.Fatalf("third join = %v, want ErrMeetingFull", err)
	}
	// The owner is never refused for capacity.
	if p := mustJoin(t, m, host()); p.Role != RoleHost {
		t.Fatalf("the owner joined a full meeting as %q", p.Role)
	}
}

// TestWaitingRoomLimits: the waiting room does not count against the
// participant limit; it has its own, overall and per address.
func TestWaitingRoomLimits(t *testing.T) {
	a := netip.MustParseAddr("192.0.2.1")
	b := netip.MustParseAddr("2001:db8::1")
	b2 := netip.MustParseAddr("2001:db8::2") // same /64 as b
	from := func(addr netip.Addr) JoinRequest {
		return JoinRequest{Name: "Bot", Passcode: "123456789", Identity: Identity{Addr: addr}}
	}
	m := New(Record{OwnerID: owner, Settings: DefaultSettings(), Passcode: "123456789"},
		Options{MaxParticipants: 2, MaxWaiting: 4, MaxWaitingPerAddress: 2})
	mustJoin(t, m, from(a))
	mustJoin(t, m, from(a))
	if _, err := m.Join(from(a)); !errors.Is(err, ErrTooManyWaiting) {
		t.Fatalf("third from one address = %v, want ErrTooManyWaiting", err)
	}
	mustJoin(t, m, from(b))
	if _, err := m.Join(from(b2)); err != nil {
		t.Fatalf("second from one /64 = %v", err)
	}
	if _, err := m.Join(from(netip.MustParseAddr("198.51.100.1"))); !errors.Is(err, ErrWaitingRoomFull) {
		t.Fatalf("fifth waiting = %v, want ErrWaitingRoomFull", err)
	}
	// Four waiting, a limit of two participants: the owner gets in, and
	// "admit all" lets in only as many as there is room for.
	h := mustJoin(t, m, host())
	admitted, err := m.AdmitAll(h.ID)
	if err != nil || len(admitted) != 1 || len(m.Waiting()) != 3 {
		t.Fatalf("admit all into a meeting with one free place: %v, %v; %d waiting", admitted, err, len(m.Waiting()))
	}
	if _, err := m.Admit(h.ID, m.Waiting()[0].ID); !errors.Is(err, ErrMeetingFull) {
		t.Fatalf("admit into a full meeting = %v", err)
	}
	denied, err := m.DenyAll(h.ID)
	if err != nil || len(denied) != 3 || len(m.Waiting()) != 0 {
		t.Fatalf("deny all: %v, %v; %d waiting", denied, err, len(m.Waiting()))
	}
	if _, err := m.DenyAll(admitted[0].ID); !errors.Is(err, ErrForbidden) {
		t.Fatalf("a participant denying all = %v", err)
	}
}

func TestHostArrivalMovesTheWaiting(t *testing.T) {
	t.Run("waiting room on: they wait to be admitted", func(t *testing.T) {
		m := withSettings(nil)
		g := mustJoin(t, m, guest("Gus"))
		if g.Waiting != WaitForHost {
			t.Fatalf("before the host: %q", g.Waiting)
		}
		res, err := m.Join(host())
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Admitted) != 0 || len(res.Rewaiting) != 1 || res.Rewaiting[0].Waiting != WaitForRoom {
			t.Fatalf("host arrival: admitted %v, rewaiting %v", res.Admitted, res.Rewaiting)
		}
	})
	t.Run("waiting room off: they come in", func(t *testing.T) {
		m := withSettings(func(s *Settings) { s.WaitingRoom = false })
		mustJoin(t, m, guest("Gus"))
		res, _ := m.Join(host())
		if len(res.Admitted) != 1 || res.Admitted[0].Name != "Gus" || len(m.Waiting()) != 0 {
			t.Fatalf("host arrival: admitted %v, still waiting %v", res.Admitted, m.Waiting())
		}
		if got := names(m.Participants()); got != "Host,Gus" {
			t.Errorf("roster %s", got)
		}
	})
}

func TestWaitingRoom(t *testing.T) {
	m := withSettings(nil)
	h := mustJoin(t, m, host())
	a := mustJoin(t, m, guest("Ada"))
	b := mustJoin(t, m, guest("Bob"))
	c := mustJoin(t, m, guest("Cy"))
	if got := names(m.Waiting()); got != "Ada,Bob,Cy" {
		t.Fatalf("waiting %s", got)
	}
	if _, err := m.Admit(a.ID, b.ID); !errors.Is(err, ErrForbidden) {
		t.Errorf("a waiting person admitted someone: %v", err)
	}
	if p, err := m.Admit(h.ID, a.ID); err != nil || p.Waiting != "" {
		t.Fatalf("admit = %+v, %v", p, err)
	}
	if _, err := m.Admit(a.ID, b.ID); !errors.Is(err, ErrForbidden) {
		t.Errorf("a participant admitted someone: %v", err)
	}
	if _, err := m.Deny(h.ID, b.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Admit(h.ID, b.ID); !errors.Is(err, ErrNotWaiting) {
		t.Errorf("admitting a denied person = %v", err)
	}
	all, err := m.AdmitAll(h.ID)
	if err != nil || len(all) != 1 || all[0].ID != c.ID {
		t.Fatalf("AdmitAll = %v, %v", all, err)
	}
	if got := names(m.Participants()); got != "Host,Ada,Cy" {
		t.Errorf("roster %s", got)
	}
}

func TestTurningWaitingRoomOffAdmitsEveryone(t *testing.T) {
	m := withSettings(nil)
	h := mustJoin(t, m, host())
	mustJoin(t, m, guest("Ada"))
	s := m.Settings()
	s.WaitingRoom = false
	res, err := m.UpdateSettings(h.ID, s)
	if err != nil || len(res.Admitted) != 1 {
		t.Fatalf("UpdateSettings = %+v, %v", res, err)
	}
}

func TestRemoveAndBan(t *testing.T) {
	addr := netip.MustParseAddr("198.51.100.4")
	m := withSettings(func(s *Settings) { s.WaitingRoom = false })
	h := mustJoin(t, m, host())
	troll := mustJoin(t, m, JoinRequest{Name: "Troll", Passcode: "123456789", Identity: Identity{Device: "dev-t", Addr: addr}})
	una := mustJoin(t, m, JoinRequest{Name: "Una", Passcode: "123456789", Identity: Identity{UserID: "u-una", Device: "dev-u"}})

	if _, _, err := m.Remove(una.ID, troll.ID, true); !errors.Is(err, ErrForbidden) {
		t.Errorf("a participant removed someone: %v", err)
	}
	if _, _, err := m.Remove(h.ID, h.ID, false); !errors.Is(err, ErrForbidden) {
		t.Errorf("the host removed themselves: %v", err)
	}
	_, bans, err := m.Remove(h.ID, troll.ID, true)
	if err != nil || len(bans) != 2 {
		t.Fatalf("remove+ban guest = %v, %v; want device and address bans", bans, err)
	}
	// Same browser, or same address as a guest: refused.
	if _, err := m.Join(JoinRequest{Name: "Troll2", Passcode: "123456789", Identity: Identity{Device: "dev-t"}}); !errors.Is(err, ErrBanned) {
		t.Errorf("rejoin from the same browser = %v", err)
	}
	if _, err := m.Join(JoinRequest{Name: "Troll3", Passcode: "123456789", Identity: Identity{Addr: addr}}); !errors.Is(err, ErrBanned) {
		t.Errorf("rejoin from the same address = %v", err)
	}
	// The same person signed in with some account, from the same network
	// and a fresh browser: not refused (an office shares addresses) but
	// held for a host, who sees why, and not let in by "admit all".
	acct, err := m.Join(JoinRequest{Name: "Troll4", Passcode: "123456789", Identity: Identity{UserID: "u-new", Device: "dev-x", Addr: addr}})
	if err != nil || acct.Participant.Waiting != WaitForRoom || !acct.Participant.BannedNetwork {
		t.Fatalf("an account from the banned address = %+v, %v; want waiting, flagged", acct.Participant, err)
	}
	if in, err := m.AdmitAll(h.ID); err != nil || len(in) != 0 {
		t.Errorf("admit all let in %v (%v); want nobody from the banned network", in, err)
	}
	if p, err := m.Admit(h.ID, acct.Participant.ID); err != nil || p.Waiting != "" {
		t.Errorf("a host admitting them one by one = %+v, %v", p, err)
	}

	// A banned member who signs out comes back as a guest from the same
	// network and another browser: refused.
	mem := mustJoin(t, m, JoinRequest{Name: "Mel", Passcode: "123456789", Identity: Identity{UserID: "u-mel", Device: "dev-m", Addr: netip.MustParseAddr("2001:db8::5")}})
	_, bans, err = m.Remove(h.ID, mem.ID, true)
	if err != nil || len(bans) != 3 {
		t.Fatalf("remove+ban member = %v, %v; want account, device and network bans", bans, err)
	}
	if _, err := m.Join(JoinRequest{Name: "Mel", Passcode: "123456789", Identity: Identity{Device: "dev-m2", Addr: netip.MustParseAddr("2001:db8::77")}}); !errors.Is(err, ErrBanned) {
		t.Errorf("the banned member signed out, from the same /64 = %v", err)
	}

	// Removed without a ban: may come back.
	_, bans, err = m.Remove(h.ID, una.ID, false)
	if err != nil || len(bans) != 0 {
		t.Fatalf("remove without ban = %v, %v", bans, err)
	}
	if _, err := m.Join(JoinRequest{Name: "Una", Passcode: "123456789", Identity: Identity{UserID: "u-una"}}); err != nil {
		t.Errorf("rejoin after a plain removal = %v", err)
	}
}

func TestMuteAndUnmutePermission(t *testing.T) {
	for _, unmute := range []Who{WhoEveryone, WhoHosts} {
		t.Run(string(unmute), func(t *testing.T) {
			m := withSettings(func(s *Settings) { s.WaitingRoom = false; s.Unmute = unmute })
			h := mustJoin(t, m, host())
			a := mustJoin(t, m, JoinRequest{Name: "Ada", Passcode: "123456789", Media: MediaState{Audio: true}})
			b := mustJoin(t, m, JoinRequest{Name: "Bob", Passcode: "123456789", Media: MediaState{Audio: true}})
			if _, err := m.Mute(a.ID, b.ID); !errors.Is(err, ErrForbidden) {
				t.Errorf("a participant muted another: %v", err)
			}
			p, err := m.Mute(h.ID, a.ID)
			if err != nil || p.Media.Audio || !p.MutedByHost {
				t.Fatalf("Mute = %+v, %v", p, err)
			}
			_, _, err = m.SetMedia(a.ID, MediaState{Audio: true})
			if unmute == WhoEveryone && err != nil {
				t.Errorf("unmute allowed for everyone, got %v", err)
			}
			if unmute == WhoHosts {
				if !errors.Is(err, ErrForbidden) {
					t.Errorf("unmute restricted to hosts, got %v", err)
				}
				if q, _ := m.Participant(a.ID); q.Media.Audio {
					t.Error("a refused unmute changed the state")
				}
			}
			// Never muted by a host: turning the mic off and on is always fine.
			if _, _, err := m.SetMedia(b.ID, MediaState{}); err != nil {
				t.Fatal(err)
			}
			if _, _, err := m.SetMedia(b.ID, MediaState{Audio: true}); err != nil {
				t.Errorf("self-unmute after a self-mute: %v", err)
			}
			muted, err := m.MuteAll(h.ID)
			if err != nil || len(muted) != 2 {
				t.Errorf("MuteAll = %v, %v", muted, err)
			}
			if q, _ := m.Participant(h.ID); q.MutedByHost {
				t.Error("MuteAll muted the host")
			}
		})
	}
}

func TestScreenShareNeedsPermission(t *testing.T) {
	m := withSettings(func(s *Settings) { s.WaitingRoom = false })
	h := mustJoin(t, m, host())
	a := mustJoin(t, m, guest("Ada"))
	if _, _, err := m.SetMedia(a.ID, MediaState{Screen: true}); !errors.Is(err, ErrForbidden) {
		t.Errorf("participant shared the screen under host-only: %v", err)
	}
	if _, _, err := m.SetMedia(h.ID, MediaState{Screen: true}); err != nil {
		t.Errorf("host could not share: %v", err)
	}
	if m.Can(a.ID, ActShareScreen) {
		t.Error("Can says yes")
	}
	if _, err := m.SetRole(h.ID, a.ID, RoleCoHost); err != nil {
		t.Fatal(err)
	}
	if !m.Can(a.ID, ActShareScreen) {
		t.Error("a co-host may not share")
	}
	b := mustJoin(t, m, guest("Bob"))
	if _, _, err := m.SetMedia(b.ID, MediaState{Screen: true}); !errors.Is(err, ErrForbidden) {
		t.Fatal(err)
	}
	if _, err := m.StopVideo(a.ID, h.ID, true); !errors.Is(err, ErrForbidden) {
		t.Errorf("a co-host stopped the host's share: %v", err)
	}
	if _, err := m.Mute(a.ID, h.ID); !errors.Is(err, ErrForbidden) {
		t.Errorf("a co-host muted the host: %v", err)
	}
	if _, err := m.Rename(a.ID, h.ID, "Boss"); !errors.Is(err, ErrForbidden) {
		t.Errorf("a co-host renamed the host: %v", err)
	}
	if _, err := m.StopVideo(h.ID, a.ID, false); err != nil {
		t.Errorf("the host could not stop a co-host's video: %v", err)
	}
	if _, err := m.StopVideo(a.ID, b.ID, false); err != nil {
		t.Errorf("a co-host could not stop a participant's video: %v", err)
	}
}

func TestRolesAndRename(t *testing.T) {
	m := withSettings(func(s *Settings) { s.WaitingRoom = false; s.Rename = WhoHosts })
	h := mustJoin(t, m, host())
	a := mustJoin(t, m, guest("Ada"))
	b := mustJoin(t, m, guest("Bob"))
	if _, err := m.Rename(a.ID, a.ID, "Ada L"); !errors.Is(err, ErrForbidden) {
		t.Errorf("self-rename under hosts-only: %v", err)
	}
	if p, err := m.Rename(h.ID, a.ID, "Ada L"); err != nil || p.Name != "Ada L" {
		t.Errorf("host rename = %+v, %v", p, err)
	}
	if _, err := m.Rename(h.ID, a.ID, ""); !errors.Is(err, ErrBadName) {
		t.Errorf("rename to nothing = %v", err)
	}
	if _, err := m.SetRole(a.ID, b.ID, RoleCoHost); !errors.Is(err, ErrForbidden) {
		t.Errorf("participant made a co-host: %v", err)
	}
	if _, err := m.SetRole(h.ID, b.ID, RoleCoHost); err != nil {
		t.Fatal(err)
	}
	if _, err := m.SetRole(b.ID, a.ID, RoleCoHost); !errors.Is(err, ErrForbidden) {
		t.Errorf("a co-host handed out co-host: %v", err)
	}
	if _, err := m.SetRole(h.ID, h.ID, RoleParticipant); !errors.Is(err, ErrBadRole) {
		t.Errorf("the host demoted themselves: %v", err)
	}
	if _, err := m.SetRole(h.ID, b.ID, RoleHost); !errors.Is(err, ErrBadRole) {
		t.Errorf("made a second host: %v", err)
	}
	if err := m.CheckEnd(b.ID); !errors.Is(err, ErrForbidden) {
		t.Errorf("a co-host may end for all: %v", err)
	}
	if err := m.CheckEnd(h.ID); err != nil {
		t.Errorf("the host may not end for all: %v", err)
	}
}

// TestPermissionTable: role × action × setting → allowed.
func TestPermissionTable(t *testing.T) {
	hostsOnly := Settings{ScreenShare: WhoHosts, Unmute: WhoHosts, Chat: WhoHosts, Rename: WhoHosts}
	everyone := Settings{ScreenShare: WhoEveryone, Unmute: WhoEveryone, Chat: WhoEveryone, Rename: WhoEveryone}
	self := []Action{ActShareScreen, ActUnmuteSelf, ActChat, ActRenameSelf}
	moderation := []Action{ActAdmit, ActLock, ActRemove, ActMuteOthers, ActStopVideo, ActRenameOthers, ActChangeSettings}
	hostOnly := []Action{ActEndForAll, ActSetRoles}
	type row struct {
		role     Role
		settings Settings
		acts     []Action
		want     bool
	}
	rows := []row{
		{RoleParticipant, hostsOnly, self, false},
		{RoleParticipant, everyone, self, true},
		{RoleCoHost, hostsOnly, self, true},
		{RoleHost, hostsOnly, self, true},
		{RoleParticipant, everyone, moderation, false},
		{RoleCoHost, hostsOnly, moderation, true},
		{RoleHost, hostsOnly, moderation, true},
		{RoleParticipant, everyone, hostOnly, false},
		{RoleCoHost, everyone, hostOnly, false},
		{RoleHost, hostsOnly, hostOnly, true},
		{"", everyone, append(append(self, moderation...), hostOnly...), false},
	}
	for _, r := range rows {
		for _, a := range r.acts {
			if got := Allowed(r.role, a, r.settings); got != r.want {
				t.Errorf("Allowed(%q, %s, %+v) = %v, want %v", r.role, a, r.settings, got, r.want)
			}
		}
	}
	// Each self-service action follows its own setting.
	for act, set := range map[Action]func(*Settings){
		ActShareScreen: func(s *Settings) { s.ScreenShare = WhoEveryone },
		ActUnmuteSelf:  func(s *Settings) { s.Unmute = WhoEveryone },
		ActChat:        func(s *Settings) { s.Chat = WhoEveryone },
		ActRenameSelf:  func(s *Settings) { s.Rename = WhoEveryone },
	} {
		s := hostsOnly
		set(&s)
		for _, other := range self {
			if got := Allowed(RoleParticipant, other, s); got != (other == act) {
				t.Errorf("with only %s opened, Allowed(participant, %s) = %v", act, other, got)
			}
		}
	}
	if Allowed(RoleHost, "fly", everyone) {
		t.Error("an unknown action is allowed")
	}
}

func TestUpdateSettings(t *testing.T) {
	m := withSettings(nil)
	h := mustJoin(t, m, host())
	bad := m.Settings()
	bad.Chat = "nobody"
	if _, err := m.UpdateSettings(h.ID, bad); !errors.Is(err, ErrBadSettings) {
		t.Errorf("bad settings accepted: %v", err)
	}
	noCode := New(Record{OwnerID: owner, Settings: Settings{ScreenShare: WhoHosts, Unmute: WhoHosts, Chat: WhoHosts, Rename: WhoHosts}}, Options{})
	nh := mustJoin(t, noCode, host())
	s := noCode.Settings()
	s.Passcode = true
	if _, err := noCode.UpdateSettings(nh.ID, s); !errors.Is(err, ErrBadSettings) {
		t.Errorf("required a passcode that does not exist: %v", err)
	}
	s = m.Settings()
	s.Locked = true
	if _, err := m.UpdateSettings(h.ID, s); err != nil || !m.Settings().Locked {
		t.Fatalf("lock = %v", err)
	}
	s.E2EE = false
	if _, err := m.UpdateSettings(h.ID, s); !errors.Is(err, ErrBadSettings) || !m.Settings().E2EE {
		t.Fatalf("switched E2EE off mid-meeting: %v", err)
	}
}

func TestSetConnected(t *testing.T) {
	m := open()
	p := mustJoin(t, m, JoinRequest{Name: "Ada"})
	got, changed, err := m.SetConnected(p.ID, false)
	if err != nil || !changed || got.Connected {
		t.Errorf("SetConnected(false) = %+v, %v, %v", got, changed, err)
	}
	if _, _, err := m.SetConnected("nobody", true); !errors.Is(err, ErrNoSuchParticipant) {
		t.Errorf("SetConnected(nobody) = %v", err)
	}
}

func TestParticipantsIsACopy(t *testing.T) {
	m := open()
	mustJoin(t, m, JoinRequest{Name: "Ada"})
	ps := m.Participants()
	ps[0].Name = "Mallory"
	if m.Participants()[0].Name != "Ada" {
		t.Error("changing the returned roster changed the meeting")
	}
}

func TestPasscodes(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		p := NewPasscode()
		if len(p) != passcodeDigits || strings.Trim(p, "0123456789") != "" {
			t.Fatalf("passcode %q", p)
		}
		seen[p] = true
	}
	if len(seen) < 990 {
		t.Errorf("only %d distinct passcodes in 1000", len(seen))
	}
}

func names(ps []Participant) string {
	var s []string
	for _, p := range ps {
		s = append(s, p.Name)
	}
	return strings.Join(s, ",")
}

func TestMayForward(t *testing.T) {
	m := withSettings(func(s *Settings) { s.WaitingRoom = false; s.ScreenShare = WhoEveryone })
	h := mustJoin(t, m, host())
	a := mustJoin(t, m, JoinRequest{Name: "Ada", Passcode: "123456789", Media: MediaState{Audio: true, Video: true}})
	if got := m.MayForward(a.ID); got != (MediaState{Audio: true, Video: true, Screen: true}) {
		t.Fatalf("fresh participant may forward %+v", got)
	}
	m.Mute(h.ID, a.ID)
	m.StopVideo(h.ID, a.ID, false)
	if got := m.MayForward(a.ID); got.Audio || got.Video || !got.Screen {
		t.Fatalf("after mute and stop video: %+v", got)
	}
	// Starting the camera again is the participant's right; so is unmuting
	// here (unmute: everyone).
	if _, _, err := m.SetMedia(a.ID, MediaState{Audio: true, Video: true}); err != nil {
		t.Fatal(err)
	}
	if got := m.MayForward(a.ID); !got.Audio || !got.Video {
		t.Fatalf("after turning back on: %+v", got)
	}
	// Taking screen sharing away stops a share in progress.
	s := m.Settings()
	s.ScreenShare = WhoHosts
	m.UpdateSettings(h.ID, s)
	if m.MayForward(a.ID).Screen {
		t.Fatal("screen still forwarded after sharing became host-only")
	}
	if m.MayForward("nobody") != (MediaState{}) {
		t.Fatal("an unknown participant may forward something")
	}
}

// TestRefresh: a running meeting takes its stored passcode and bans at
// once, and its stored settings only while nobody is admitted.
func TestRefresh(t *testing.T) {
	rec := Record{OwnerID: owner, Settings: DefaultSettings(), Passcode: "111111111"}
	m := New(rec, Options{})
	g := JoinRequest{Name: "Gus", Passcode: "111111111", Identity: Identity{Device: "d1"}}
	mustJoin(t, m, g)
	open := rec
	open.Settings.WaitingRoom, open.Settings.E2EE = false, false
	m.Refresh(open, nil)
	if s := m.Settings(); s.WaitingRoom || !s.E2EE {
		t.Fatalf("with nobody admitted, the stored settings (but not E2EE) apply: %+v", s)
	}
	mustJoin(t, m, host())
	rotated := rec
	rotated.Passcode = "222222222"
	m.Refresh(rotated, []Ban{{BanDevice, "d1"}})
	if m.Settings().WaitingRoom {
		t.Fatal("stored settings replaced those of a running meeting")
	}
	if _, err := m.Join(JoinRequest{Name: "Old", Passcode: "111111111"}); !errors.Is(err, ErrWrongPasscode) {
		t.Fatalf("the replaced passcode = %v", err)
	}
	if _, err := m.Join(g); !errors.Is(err, ErrBanned) {
		t.Fatalf("a stored ban = %v", err)
	}
	blank := rec
	blank.Passcode = ""
	m.Refresh(blank, nil)
	if _, err := m.Join(JoinRequest{Name: "Blank"}); !errors.Is(err, ErrWrongPasscode) {
		t.Fatalf("a required passcode became empty: %v", err)
	}
}

// TestRestore: after a restart the server puts back who was admitted,
// as reconnecting; a ban stored since keeps one out, and a "host" that is
// not the owner's account comes back as a participant.
func TestRestore(t *testing.T) {
	m := New(Record{ID: "7k3m-q9xd-2hfa-b8rn", OwnerID: owner, Settings: DefaultSettings()},
		Options{Bans: []Ban{{BanDevice, "dev-banned"}}})
	h, err := m.Restore(Participant{ID: "p-host", Name: "Hana", Role: RoleHost, Identity: Identity{UserID: owner}, Connected: true})
	if err != nil || h.Role != RoleHost || h.Connected {
		t.Fatalf("restoring the owner = %+v, %v", h, err)
	}
	co, err := m.Restore(Participant{ID: "p-co", Name: "Cole", Role: RoleCoHost})
	if err != nil || co.Role != RoleCoHost {
		t.Fatalf("restoring a co-host = %+v, %v", co, err)
	}
	fake, err := m.Restore(Participant{ID: "p-fake", Name: "Faux", Role: RoleHost, Identity: Identity{UserID: "u-other"}})
	if err != nil || fake.Role != RoleParticipant {
		t.Fatalf("a host that is not the owner = %+v, %v; want a participant", fake, err)
	}
	if _, err := m.Restore(Participant{ID: "p-ban", Name: "Bane", Identity: Identity{Device: "dev-banned"}}); !errors.Is(err, ErrBanned) {
		t.Errorf("restoring a banned browser = %v", err)
	}
	if _, err := m.Restore(Participant{ID: "p-co", Name: "Again"}); err == nil {
		t.Errorf("restored the same participant twice")
	}
	if _, err := m.Restore(Participant{ID: "p-bad", Name: "\x1b[31m"}); !errors.Is(err, ErrBadName) {
		t.Errorf("restoring a bad name = %v", err)
	}
	if got := len(m.Participants()); got != 3 {
		t.Errorf("%d participants after restoring, want 3", got)
	}
	// Back: connected again through the usual path.
	if p, changed, err := m.SetConnected("p-co", true); err != nil || !changed || !p.Connected {
		t.Errorf("reconnecting a restored participant = %+v, %v, %v", p, changed, err)
	}
}
