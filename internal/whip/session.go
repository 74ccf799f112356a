package whip

import (
	"sync"

	"github.com/kaigi-meet/kaigi/internal/live"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/sfu"
	"github.com/pion/webrtc/v4"
)

// session is one WHIP session, a source in a meeting's room, or one WHEP
// session, a viewer. It is the program's live.Conn: the room's messages
// to participants mean nothing to a streaming program and are dropped;
// the SFU's answer is read from the peer once its candidates are
// gathered, and it never asks for a turn (a publisher is never
// subscribed to anything, and a viewer's tracks are fixed by its offer).
type session struct {
	id      string    // the resource's name, in its Location
	proto   *protocol // whipProtocol or whepProtocol
	tokenID string
	hash    [32]byte // the token's SHA-256, which a DELETE must match
	meeting meeting.ID
	h       *Handler

	mu     sync.Mutex
	room   *live.Room // nil until the room took the source
	pid    meeting.ParticipantID
	peer   *sfu.Peer
	viewer *sfu.Viewer // a WHEP session's
	closed bool

	done     chan struct{} // closed when the session ends (finish)
	doneOnce sync.Once
}

// finish marks the session ended for its token's recheck; safe more than
// once.
func (s *session) finish() { s.doneOnce.Do(func() { close(s.done) }) }

var _ live.Conn = (*session)(nil)

func (s *session) Send(any)                          {}
func (s *session) SendEncoded([]byte)                {}
func (s *session) Congested() bool                   { return false }
func (s *session) Renegotiate()                      {}
func (s *session) Offer(string, []sfu.TrackInfo)     {}
func (s *session) Answer(string)                     {}
func (s *session) Candidate(webrtc.ICECandidateInit) {}

// Close is the room ending the source (a host removed it, the meeting
// ended or stopped allowing sources): the session is forgotten. Called
// under the room's lock, it only touches the handler's own state.
func (s *session) Close(live.Reason) {
	s.mu.Lock()
	s.closed = true
	v := s.viewer
	s.mu.Unlock()
	if v != nil {
		go v.Close() // not under the room's lock
	}
	s.finish()
	s.h.forget(s)
}

// placed records where the room put the source.
func (s *session) placed(room *live.Room, pid meeting.ParticipantID, peer *sfu.Peer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.room, s.pid, s.peer = room, pid, peer
}

// end takes the source out of its room (a DELETE, a revoked token, a
// transport that failed); the room then closes it. Safe more than once.
func (s *session) end() {
	s.mu.Lock()
	room, pid, v := s.room, s.pid, s.viewer
	s.mu.Unlock()
	if v != nil {
		v.Close()
	}
	if room != nil {
		room.Leave(pid, s)
	}
	s.finish()
	s.h.forget(s)
}
