package meeting

import (
	"errors"
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

func fixedClock() func() time.Time {
	t := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	return func() time.Time { t = t.Add(time.Second); return t }
}

func TestJoinLeaveOrder(t *testing.T) {
	m := New("7k3m-q9xd-2hfa-b8rn", Options{Now: fixedClock()})
	a, err := m.Join(JoinRequest{Name: "Ada", Media: MediaState{Audio: true}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := m.Join(JoinRequest{Name: "Bob"})
	c, _ := m.Join(JoinRequest{Name: "Cy"})
	if a.ID == b.ID || b.ID == c.ID || a.ID == c.ID {
		t.Fatalf("participant IDs repeat: %s %s %s", a.ID, b.ID, c.ID)
	}
	if !a.Connected || a.Role != RoleParticipant || !a.Media.Audio || a.Media.Video {
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
	if m.Len() != 2 {
		t.Errorf("Len = %d", m.Len())
	}
}

func TestJoinRefusals(t *testing.T) {
	tests := []struct {
		name    string
		max     int
		already int
		join    string
		wantErr error
	}{
		{"admitted", 3, 2, "Dee", nil},
		{"full", 3, 3, "Dee", ErrMeetingFull},
		{"bad name", 3, 0, "\x07", ErrBadName},
		{"bad name checked before capacity", 1, 1, "", ErrBadName},
		{"default limit", 0, DefaultMaxParticipants, "Dee", ErrMeetingFull},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New("7k3m-q9xd-2hfa-b8rn", Options{MaxParticipants: tt.max})
			for range tt.already {
				if _, err := m.Join(JoinRequest{Name: "x"}); err != nil {
					t.Fatal(err)
				}
			}
			_, err := m.Join(JoinRequest{Name: tt.join})
			if !errors.Is(err, tt.wantErr) && !(err == nil && tt.wantErr == nil) {
				t.Errorf("Join = %v, want %v", err, tt.wantErr)
			}
			want := tt.already
			if tt.wantErr == nil {
				want++
			}
			if m.Len() != want {
				t.Errorf("Len = %d, want %d (a refusal must change nothing)", m.Len(), want)
			}
		})
	}
}

func TestSetMediaAndConnected(t *testing.T) {
	m := New("7k3m-q9xd-2hfa-b8rn", Options{})
	p, _ := m.Join(JoinRequest{Name: "Ada"})

	got, changed, err := m.SetMedia(p.ID, MediaState{Audio: true, Video: true})
	if err != nil || !changed || !got.Media.Audio || !got.Media.Video {
		t.Errorf("SetMedia = %+v, %v, %v", got, changed, err)
	}
	if _, changed, _ = m.SetMedia(p.ID, MediaState{Audio: true, Video: true}); changed {
		t.Error("SetMedia with the same state reported a change")
	}
	got, changed, err = m.SetConnected(p.ID, false)
	if err != nil || !changed || got.Connected {
		t.Errorf("SetConnected(false) = %+v, %v, %v", got, changed, err)
	}
	if q, _ := m.Participant(p.ID); q.Connected || !q.Media.Video {
		t.Errorf("Participant = %+v", q)
	}
	if _, _, err := m.SetMedia("nobody", MediaState{}); !errors.Is(err, ErrNoSuchParticipant) {
		t.Errorf("SetMedia(nobody) = %v", err)
	}
	if _, _, err := m.SetConnected("nobody", true); !errors.Is(err, ErrNoSuchParticipant) {
		t.Errorf("SetConnected(nobody) = %v", err)
	}
}

func TestParticipantsIsACopy(t *testing.T) {
	m := New("7k3m-q9xd-2hfa-b8rn", Options{})
	m.Join(JoinRequest{Name: "Ada"})
	ps := m.Participants()
	ps[0].Name = "Mallory"
	if m.Participants()[0].Name != "Ada" {
		t.Error("changing the returned roster changed the meeting")
	}
}

func names(ps []Participant) string {
	var s []string
	for _, p := range ps {
		s = append(s, p.Name)
	}
	return strings.Join(s, ",")
}
