package signal

import (
	"testing"

	"github.com/kaigi-meet/kaigi/internal/meeting"
)

// TestEndedSince: a socket tracked before its account's end counts as
// ended, one tracked after does not; an end is forgotten once no socket
// still to join was tracked before it, and only then.
func TestEndedSince(t *testing.T) {
	s := NewServer(Options{})
	early := &session{identity: meeting.Identity{UserID: "u1"}}
	other := &session{identity: meeting.Identity{UserID: "u2"}}
	guest := &session{}
	for _, sess := range []*session{early, other, guest} {
		if !s.track(sess) {
			t.Fatal("track")
		}
	}
	s.EndAccount("u1", "signed_out", "bye")
	late := &session{identity: meeting.Identity{UserID: "u1"}}
	s.track(late)
	if !s.endedSince(early) || s.endedSince(other) || s.endedSince(guest) || s.endedSince(late) {
		t.Fatalf("ended since: early %v, other %v, guest %v, late %v", s.endedSince(early), s.endedSince(other), s.endedSince(guest), s.endedSince(late))
	}
	// Another end while early has not joined keeps u1's.
	s.EndAccount("u2", "signed_out", "bye")
	if !s.endedSince(early) || !s.endedSince(other) || len(s.ended) != 2 {
		t.Fatalf("after u2's end: early %v, other %v, %d kept", s.endedSince(early), s.endedSince(other), len(s.ended))
	}
	// An end goes once every socket tracked before it has joined (or gone).
	early.joined.Store(true)
	guest.joined.Store(true)
	s.untrack(other)
	s.EndAccount("u3", "signed_out", "bye")
	if _, kept := s.ended["u1"]; kept || len(s.ended) != 2 || s.endedSince(late) {
		t.Fatalf("with late (tracked after u1's end) still to join: kept %v, late ended %v; want u2's and u3's", s.ended, s.endedSince(late))
	}
	late.joined.Store(true)
	s.EndAccount("u4", "signed_out", "bye")
	if len(s.ended) != 0 {
		t.Fatalf("ends kept with no socket to check them: %v", s.ended)
	}
	if s.endedSince(late) {
		t.Fatal("a socket tracked after the end counts as ended")
	}
}
