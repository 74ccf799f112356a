package live

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/sfu"
	"github.com/kaigi-meet/kaigi/internal/wire"
	"github.com/pion/webrtc/v4"
)

// fakeConn is a member's connection with no transport at all: it keeps
// what the room sends, as the JSON a client would read, and how the room
// closed it.
type fakeConn struct {
	mu     sync.Mutex
	msgs   []json.RawMessage
	closed []Reason
}

func (c *fakeConn) Send(msg any) {
	b, err := json.Marshal(msg)
	if err != nil {
		panic(err)
	}
	c.SendEncoded(b)
}

func (c *fakeConn) SendEncoded(b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs = append(c.msgs, slices.Clone(b))
}

func (c *fakeConn) Close(r Reason) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = append(c.closed, r)
}

func (c *fakeConn) Congested() bool { return false }

func (c *fakeConn) Renegotiate() { c.Send(wire.Bare{Type: wire.TypeRenegotiate}) }
func (c *fakeConn) Offer(sdp string, _ []sfu.TrackInfo) {
	c.Send(wire.Offer{Type: wire.TypeOffer, SDP: sdp})
}
func (c *fakeConn) Answer(sdp string) { c.Send(wire.Answer{Type: wire.TypeAnswer, SDP: sdp}) }
func (c *fakeConn) Candidate(ice webrtc.ICECandidateInit) {
	c.Send(wire.Candidate{Type: wire.TypeCandidate, Candidate: ice})
}

// last decodes into out the last message of type typ the connection got,
// and reports whether there was one.
func (c *fakeConn) last(t *testing.T, typ string, out any) bool {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := len(c.msgs) - 1; i >= 0; i-- {
		var head struct{ Type string }
		if err := json.Unmarshal(c.msgs[i], &head); err != nil {
			t.Fatalf("message %s: %v", c.msgs[i], err)
		}
		if head.Type == typ {
			if err := json.Unmarshal(c.msgs[i], out); err != nil {
				t.Fatalf("%s: %v", typ, err)
			}
			return true
		}
	}
	return false
}

func (c *fakeConn) closes() []Reason {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.closed)
}

// directory is a store holding one meeting.
type directory struct {
	rec meeting.Record

	mu   sync.Mutex
	bans []meeting.Ban
}

func (d *directory) LookupMeeting(_ context.Context, id meeting.ID) (meeting.Record, []meeting.Ban, bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.rec, slices.Clone(d.bans), id == d.rec.ID, nil
}

func (d *directory) AddBans(_ context.Context, _ meeting.ID, bans []meeting.Ban) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.bans = append(d.bans, bans...)
	return nil
}

func (d *directory) SaveSettings(context.Context, meeting.ID, meeting.Settings) error { return nil }

// newTestHub is a hub over a store with one end-to-end encrypted meeting
// that ada owns, with no passcode or waiting room.
func newTestHub(t *testing.T) (*Hub, *directory) {
	t.Helper()
	s, err := sfu.New(sfu.Config{})
	if err != nil {
		t.Fatal(err)
	}
	set := meeting.DefaultSettings()
	set.Passcode, set.WaitingRoom = false, false
	dir := &directory{rec: meeting.Record{ID: meeting.NewID(), Kind: meeting.KindInstant, OwnerID: "ada", Settings: set}}
	hub := NewHub(Options{Meetings: dir, SFU: s, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	t.Cleanup(func() {
		hub.Close()
		s.Close()
	})
	return hub, dir
}

// join says hello on conn as account (a guest when "") and returns the
// room and the participant ID it was given.
func join(t *testing.T, hub *Hub, id meeting.ID, conn Conn, account string, hello wire.ClientMessage) (*Room, meeting.ParticipantID) {
	t.Helper()
	room, st, err := hub.Open(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	hello.Type, hello.V, hello.Meeting = wire.TypeHello, wire.Version, string(id)
	var pid meeting.ParticipantID
	j := &Joiner{Conn: conn, Hello: &hello, Identity: meeting.Identity{UserID: account, Addr: netip.MustParseAddr("192.0.2.1")},
		Placed: func(r *Room, p meeting.ParticipantID) { pid = p }}
	if err := room.Join(j, st); err != nil {
		t.Fatalf("%s joins: %v", hello.Name, err)
	}
	return room, pid
}

// TestRoomOverFakeConnections drives a room through Conn alone, with no
// socket anywhere: two members join an end-to-end encrypted meeting, the
// first creates the group and adds the second, an application message
// from one reaches the other's connection, a second window of a member
// closes the first as replaced, and a member a host removes is closed as
// removed.
func TestRoomOverFakeConnections(t *testing.T) {
	hub, dir := newTestHub(t)
	ada, bob := &fakeConn{}, &fakeConn{}

	room, adaID := join(t, hub, dir.rec.ID, ada, "ada", wire.ClientMessage{Name: "Ada", KeyPackage: []byte("ada's key package")})
	var welcome wire.Welcome
	if !ada.last(t, wire.TypeWelcome, &welcome) || welcome.Self.ID != string(adaID) || welcome.Self.Role != string(meeting.RoleHost) || !welcome.E2EE {
		t.Fatalf("ada's welcome: %+v", welcome)
	}
	var job wire.E2EEJob
	if !ada.last(t, wire.TypeE2EEJob, &job) || !job.Create {
		t.Fatalf("ada, alone in the meeting, is not asked to create the group: %+v", job)
	}

	_, bobID := join(t, hub, dir.rec.ID, bob, "", wire.ClientMessage{Name: "Bob", KeyPackage: []byte("bob's key package")})
	var joined wire.ParticipantEvent
	if !ada.last(t, wire.TypeParticipantJoined, &joined) || joined.Participant.ID != string(bobID) {
		t.Fatalf("ada is not told bob joined: %+v", joined)
	}
	if !ada.last(t, wire.TypeE2EEJob, &job) || job.Create || len(job.Add) != 1 || job.Add[0].Participant != string(bobID) {
		t.Fatalf("ada is not asked to add bob: %+v", job)
	}
	err := room.E2EECommit(adaID, ada, &wire.ClientMessage{Type: wire.TypeE2EECommit, Epoch: job.Epoch, Commit: []byte("commit"), Welcome: []byte("welcome")})
	if err != nil {
		t.Fatal(err)
	}
	var ew wire.E2EEWelcome
	if !bob.last(t, wire.TypeE2EEWelcome, &ew) || string(ew.Welcome) != "welcome" {
		t.Fatalf("bob's e2ee_welcome: %+v", ew)
	}

	// Only a member's own connection speaks for them.
	if _, err := room.E2EEMessage(adaID, bob, ew.Epoch, "chat", []byte("forged"), ""); err == nil {
		t.Fatal("bob's connection sent a message as ada")
	}
	slow, err := room.E2EEMessage(adaID, ada, ew.Epoch, "chat", []byte("ciphertext"), "")
	if err != nil || len(slow) != 0 {
		t.Fatalf("relay: %v, %d congested", err, len(slow))
	}
	var got wire.E2EEMessage
	if !bob.last(t, wire.TypeE2EEMessage, &got) || got.From != string(adaID) || string(got.Data) != "ciphertext" || got.Kind != "chat" {
		t.Fatalf("bob got %+v, want ada's ciphertext", got)
	}
	if ada.last(t, wire.TypeE2EEMessage, &got) {
		t.Fatal("the sender got its own message back")
	}

	// Bob comes back from a second window with his resume token: the
	// first is closed as replaced, and the new one is the member.
	var bobWelcome wire.Welcome
	bob.last(t, wire.TypeWelcome, &bobWelcome)
	bob2 := &fakeConn{}
	if _, again := join(t, hub, dir.rec.ID, bob2, "", wire.ClientMessage{Name: "Bob", Resume: bobWelcome.Resume}); again != bobID {
		t.Fatalf("resumed as %s, want %s", again, bobID)
	}
	if c := bob.closes(); len(c) != 1 || c[0] != Closed(wire.ClosedReplaced, "You joined this meeting from another window.") || c[0].Refused {
		t.Fatalf("bob's first window closed with %+v, want replaced", c)
	}
	if c := bob.closes(); c[0].Wire() != (wire.Closed{Type: wire.TypeClosed, Reason: wire.ClosedReplaced, Message: c[0].Message}) {
		t.Fatalf("replaced as a wire message: %+v", c[0].Wire())
	}

	if err := room.Remove(adaID, ada, bobID, true); err != nil {
		t.Fatal(err)
	}
	if c := bob2.closes(); len(c) != 1 || c[0].Code != wire.ClosedRemoved || c[0].Refused {
		t.Fatalf("removed bob's connection closed with %+v, want removed", c)
	}
	var left wire.ParticipantLeft
	if !ada.last(t, wire.TypeParticipantLeft, &left) || left.ID != string(bobID) || left.Reason != wire.LeftRemoved {
		t.Fatalf("ada is told %+v, want bob removed", left)
	}
	if len(ada.closes()) != 0 {
		t.Fatalf("ada's connection closed: %+v", ada.closes())
	}
	if dir.bans == nil {
		t.Fatal("bob's ban was not stored")
	}
	if meetings, people := hub.Counts(); meetings != 1 || people != 1 {
		t.Fatalf("%d meetings, %d participants; want ada alone in one", meetings, people)
	}
}

// TestWaitingJoinerDeniedIsRefused: a host turning away someone in the
// waiting room closes their connection with a refusal, not a closed.
func TestWaitingJoinerDeniedIsRefused(t *testing.T) {
	hub, dir := newTestHub(t)
	dir.rec.Settings.WaitingRoom, dir.rec.Settings.E2EE = true, false
	ada, eve := &fakeConn{}, &fakeConn{}
	room, adaID := join(t, hub, dir.rec.ID, ada, "ada", wire.ClientMessage{Name: "Ada"})
	_, eveID := join(t, hub, dir.rec.ID, eve, "", wire.ClientMessage{Name: "Eve"})
	var waiting wire.Waiting
	if !eve.last(t, wire.TypeWaiting, &waiting) {
		t.Fatal("eve is not told she waits")
	}
	var wr wire.WaitingRoom
	if !ada.last(t, wire.TypeWaitingRoom, &wr) || len(wr.Entries) != 1 || wr.Entries[0].ID != string(eveID) {
		t.Fatalf("ada's waiting room: %+v", wr)
	}
	if err := room.Deny(adaID, ada, eveID, false); err != nil {
		t.Fatal(err)
	}
	if c := eve.closes(); len(c) != 1 || !c[0].Refused || c[0].Code != wire.CodeDenied {
		t.Fatalf("eve's connection closed with %+v, want refused denied", c)
	}
	if _, ok := eve.closes()[0].Wire().(wire.Refused); !ok {
		t.Fatal("a refusal's wire message is not refused")
	}
}
