package live

import (
	"testing"

	"github.com/kaigi-meet/kaigi/internal/wire"
)

// TestLiveMeetingsLeaveOutAnEndedRoom: a room that has ended is closed
// under its lock before the hub forgets it; an administrator's listing in
// between (an admin lock right after a host ended the meeting) must not
// count the people its core still holds as a live meeting.
func TestLiveMeetingsLeaveOutAnEndedRoom(t *testing.T) {
	hub, dir := newTestHub(t)
	room, _ := join(t, hub, dir.rec.ID, &fakeConn{}, "ada", wire.ClientMessage{Name: "Ada", KeyPackage: []byte("kp")})
	if lm := hub.LiveMeetings(); len(lm) != 1 || lm[0].Participants != 1 {
		t.Fatalf("live meetings with Ada in one: %+v", lm)
	}
	room.mu.Lock()
	room.closed = true // ended; the hub has not forgotten it yet
	room.mu.Unlock()
	if lm := hub.LiveMeetings(); len(lm) != 0 {
		t.Fatalf("an ended meeting is listed as live: %+v", lm)
	}
}
