package signal

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/sfu"
)

var errRoomClosed = errors.New("room closed")

// Room is a live meeting: the meeting core, its SFU router and the sockets
// of its participants. Its lock serialises every change, so that every
// client sees roster events in the order the core applied them.
type Room struct {
	srv *Server
	id  meeting.ID
	log *slog.Logger

	mu      sync.Mutex
	core    *meeting.Meeting
	router  *sfu.Router
	members map[meeting.ParticipantID]*member
	closed  bool
}

// member is a participant's connection state.
type member struct {
	session    *session // nil while reconnecting
	resumeHash [sha256.Size]byte
	grace      *time.Timer
}

func newRoom(srv *Server, id meeting.ID) *Room {
	return &Room{
		srv:     srv,
		id:      id,
		log:     srv.log.With("meeting", id),
		core:    meeting.New(id, meeting.Options{MaxParticipants: srv.opts.MaxParticipants}),
		router:  srv.opts.SFU.NewRouter(string(id)),
		members: make(map[meeting.ParticipantID]*member),
	}
}

// join admits a session: as a returning participant if its resume token is
// valid, otherwise as a new one. It sends welcome, then creates the peer
// (whose first offer must follow welcome).
func (r *Room) join(s *session, hello *clientMessage) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return errRoomClosed
	}

	pid, m, resumed := r.resumeLocked(hello.Resume)
	if resumed {
		if m.session != nil {
			old := m.session
			r.router.RemovePeer(string(pid))
			old.closeWith(closedMsg{Type: "closed", Reason: "replaced", Message: "You joined this meeting from another window."},
				websocket.StatusNormalClosure)
		}
		if m.grace != nil {
			m.grace.Stop()
			m.grace = nil
		}
		if p, changed, err := r.core.SetConnected(pid, true); err == nil && changed {
			r.broadcastLocked(participantMsg{Type: "participant_updated", Participant: toParticipantJSON(p)}, pid)
		}
	} else {
		p, err := r.core.Join(meeting.JoinRequest{
			Name:  hello.Name,
			Media: meeting.MediaState{Audio: hello.Audio, Video: hello.Video},
		})
		if err != nil {
			return err
		}
		pid, m = p.ID, &member{}
		r.members[pid] = m
		r.broadcastLocked(participantMsg{Type: "participant_joined", Participant: toParticipantJSON(p)}, pid)
	}

	token := newResumeToken()
	m.resumeHash = sha256.Sum256([]byte(token))
	m.session = s
	self, _ := r.core.Participant(pid)
	roster := r.core.Participants()
	w := welcomeMsg{
		Type:         "welcome",
		V:            ProtocolVersion,
		Server:       r.srv.opts.ServerVersion,
		Meeting:      meetingJSON{ID: string(r.id)},
		Self:         toParticipantJSON(self),
		Participants: make([]participantJSON, len(roster)),
		Resume:       token,
		Resumed:      resumed,
		ICEServers:   r.srv.opts.ICEServers,
	}
	if w.ICEServers == nil {
		w.ICEServers = []ICEServer{}
	}
	for i, p := range roster {
		w.Participants[i] = toParticipantJSON(p)
	}
	s.send(w)

	peer, err := r.router.AddPeer(string(pid), s)
	if err != nil {
		m.session = nil
		r.removeLocked(pid, "disconnected")
		return fmt.Errorf("add peer: %w", err)
	}
	s.room, s.pid, s.peer = r, pid, peer
	r.log.Info("participant joined", "participant", pid, "resumed", resumed, "client", hello.Client)
	return nil
}

// resumeLocked finds the member a resume token belongs to.
func (r *Room) resumeLocked(token string) (meeting.ParticipantID, *member, bool) {
	if token == "" {
		return "", nil, false
	}
	h := sha256.Sum256([]byte(token))
	for pid, m := range r.members {
		if m.resumeHash == h {
			return pid, m, true
		}
	}
	return "", nil, false
}

// disconnect handles a socket that closed without leave: the participant's
// media stops and its place is kept for the resume grace period.
func (r *Room) disconnect(pid meeting.ParticipantID, s *session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.members[pid]
	if m == nil || m.session != s {
		return // already replaced by a resumed session, or gone
	}
	r.router.RemovePeer(string(pid))
	m.session = nil
	if p, changed, err := r.core.SetConnected(pid, false); err == nil && changed {
		r.broadcastLocked(participantMsg{Type: "participant_updated", Participant: toParticipantJSON(p)}, pid)
	}
	r.log.Info("participant connection lost", "participant", pid)
	m.grace = time.AfterFunc(r.srv.opts.ResumeGrace, func() { r.expire(pid, m) })
}

// expire removes a participant who did not come back in time.
func (r *Room) expire(pid meeting.ParticipantID, m *member) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.members[pid] != m || m.session != nil {
		return
	}
	r.removeLocked(pid, "disconnected")
}

// leave removes a participant at its own request.
func (r *Room) leave(pid meeting.ParticipantID, s *session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m := r.members[pid]; m == nil || m.session != s {
		return
	}
	r.router.RemovePeer(string(pid))
	r.removeLocked(pid, "left")
}

func (r *Room) removeLocked(pid meeting.ParticipantID, reason string) {
	if m := r.members[pid]; m != nil && m.grace != nil {
		m.grace.Stop()
	}
	delete(r.members, pid)
	if _, err := r.core.Leave(pid); err != nil {
		r.log.Error("remove participant", "participant", pid, "err", err)
	}
	r.broadcastLocked(participantLeftMsg{Type: "participant_left", ID: string(pid), Reason: reason}, pid)
	r.log.Info("participant left", "participant", pid, "reason", reason)
	if r.core.Len() == 0 {
		r.closeLocked()
	}
}

// setMedia records a participant's media state and tells everyone.
func (r *Room) setMedia(pid meeting.ParticipantID, s *session, media meeting.MediaState) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m := r.members[pid]; m == nil || m.session != s {
		return
	}
	p, changed, err := r.core.SetMedia(pid, media)
	if err != nil || !changed {
		return
	}
	r.broadcastLocked(participantMsg{Type: "participant_updated", Participant: toParticipantJSON(p)}, "")
}

// broadcastLocked sends msg to every connected member except one.
func (r *Room) broadcastLocked(msg any, except meeting.ParticipantID) {
	b, err := json.Marshal(msg)
	if err != nil {
		r.log.Error("encode broadcast", "err", err)
		return
	}
	for pid, m := range r.members {
		if pid != except && m.session != nil {
			m.session.sendBytes(b)
		}
	}
}

func (r *Room) size() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.core.Len()
}

// close ends the room (server shutdown).
func (r *Room) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closeLocked()
}

func (r *Room) closeLocked() {
	if r.closed {
		return
	}
	r.closed = true
	for _, m := range r.members {
		if m.grace != nil {
			m.grace.Stop()
		}
	}
	r.router.Close()
	r.srv.forget(r)
}

// newResumeToken returns 32 random bytes in base64url.
func newResumeToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
