package live

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/kaigi-meet/kaigi/internal/e2ee"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/sfu"
	"github.com/kaigi-meet/kaigi/internal/wire"
)

// ErrRoomClosed: the room closed (it emptied) as the joiner arrived;
// open the meeting again for a fresh one.
var ErrRoomClosed = errors.New("room closed")

// Room is a live meeting: the meeting core, its SFU router and the
// connections of its participants and of those in its waiting room. Its lock
// serialises every change, so that every client sees events in the order
// the core applied them.
type Room struct {
	hub *Hub
	id  meeting.ID
	log *slog.Logger

	mu        sync.Mutex
	core      *meeting.Meeting
	router    *sfu.Router
	group     *e2ee.Group
	e2eeTimer *time.Timer
	members   map[meeting.ParticipantID]*member
	closed    bool

	// invites are the one-time tokens of people sent here by a move
	// (breakout.go), by hash.
	invites map[[sha256.Size]byte]invite
	// breakouts are a main room's open breakout rooms; parent, number and
	// name are set for a breakout room.
	breakouts *breakouts
	parent    *Room
	number    int
	name      string

	// recording is the meeting's running recording (recording.go).
	recording *recordingState
}

// member is a participant's (or waiting Joiner's) connection state.
type member struct {
	conn       Conn      // nil while reconnecting
	peer       *sfu.Peer // nil while waiting or reconnecting
	waiting    bool
	resumeHash [sha256.Size]byte
	grace      *time.Timer
	// keyPackage is the E2EE KeyPackage from hello, until admission hands
	// it to the group; admittedBy is the host who let them in, whose client
	// then commits their Add.
	keyPackage []byte
	admittedBy meeting.ParticipantID
	// restored: kept from an earlier run of the server (kept.go), not
	// back yet.
	restored bool
}

func newRoom(hub *Hub, rec meeting.Record, bans []meeting.Ban) *Room {
	return withFloodWatch(&Room{
		hub: hub,
		id:  rec.ID,
		log: hub.log.With("meeting", rec.ID),
		core: meeting.New(rec, meeting.Options{MaxParticipants: hub.opts.MaxParticipants,
			MaxWaiting: hub.opts.MaxWaiting, MaxWaitingPerAddress: hub.opts.MaxWaitingPerAddress, Bans: bans}),
		router:  hub.opts.SFU.NewRouter(string(rec.ID)),
		group:   e2ee.NewGroup(nil),
		members: make(map[meeting.ParticipantID]*member),
	})
}

// Join admits a connection, puts it in the waiting room, or refuses it:
// as a returning participant if its resume token is valid, otherwise as a
// new one, by the meeting as stored now (st; nil if it was deleted:
// nobody new may join). A refusal that leaves the room empty closes it,
// so that refused joins leave nothing behind.
func (r *Room) Join(j *Joiner, st *Stored) (err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrRoomClosed
	}
	defer func() {
		if err != nil && len(r.members) == 0 && r.core.Len() == 0 && r.parent == nil && r.breakouts == nil {
			r.closeLocked()
		}
	}()
	conn, hello := j.Conn, j.Hello
	if j.EndedSince != nil && j.EndedSince() {
		// The account was signed out everywhere, suspended or deleted
		// after this socket was identified as it: it joins as what it is
		// now, a guest, and no resume or move token of the account's
		// works for it. Checked under the room's lock, so EndAccount
		// either sees this join or this join sees its end.
		j.Identity.UserID = ""
		r.log.Info("socket identified before its account's participation ended: joining as a guest")
	}
	if err := refusedByRegion(st); err != nil {
		return err
	}

	if pid, m, ok := r.resumeLocked(hello.Resume, j.Identity.UserID); ok {
		if m.conn != nil {
			old := m.conn
			r.router.RemovePeer(string(pid))
			m.peer = nil
			old.Close(Closed(wire.ClosedReplaced, "You joined this meeting from another window."))
		}
		if m.grace != nil {
			m.grace.Stop()
			m.grace = nil
		}
		if p, changed, err := r.core.SetConnected(pid, true); err == nil && changed {
			r.broadcastLocked(wire.ParticipantEvent{Type: wire.TypeParticipantUpdated, Participant: toParticipantJSON(p)}, pid)
		}
		m.conn = conn
		j.place(r, pid) // before welcome: a drain starting now must tell them
		r.e2eeClaimLocked(pid, hello)
		if err := r.welcomeLocked(pid, true); err != nil {
			return err
		}
		r.e2eeResumeLocked(pid, conn, hello)
		if r.hub.isDraining() {
			conn.Send(r.hub.DrainingMessage())
		}
		return nil
	}
	if r.hub.isDraining() {
		return ErrDraining // only those already in come back
	}
	if hello.Token != "" {
		p, ok := r.takeInviteLocked(hello.Token, j.Identity.UserID)
		if !ok {
			return ErrBadInvite
		}
		return r.enterLocked(j, p)
	}
	if r.parent != nil {
		return ErrBadInvite // a breakout room is entered only by a move
	}

	if st == nil {
		return ErrNoSuchMeeting
	}
	r.core.Refresh(st.Record, st.Bans)
	if err := refusedByCountry(st); err != nil {
		return err
	}
	if r.e2eeOn() && (len(hello.KeyPackage) == 0 || len(hello.KeyPackage) > e2ee.MaxKeyPackage) {
		return ErrE2EERequired
	}
	id := j.Identity
	id.Device = hello.Device
	res, err := r.core.Join(meeting.JoinRequest{
		Name:     hello.Name,
		Media:    meeting.MediaState{Audio: hello.Audio, Video: hello.Video},
		Identity: id,
		Passcode: hello.Passcode,
	})
	if errors.Is(err, meeting.ErrWrongPasscode) && !r.hub.passcodes.Allow(string(r.id)) {
		r.sendWaitingRoomLocked() // tell the hosts that passcodes are being guessed
	}
	if err != nil {
		return err
	}
	p := res.Participant
	r.members[p.ID] = &member{conn: conn, waiting: p.Waiting != "", keyPackage: hello.KeyPackage}
	j.place(r, p.ID) // before welcome: a drain starting now must tell them
	if p.Waiting != "" {
		conn.Send(wire.Waiting{Type: wire.TypeWaiting, Reason: string(p.Waiting)})
		r.log.Info("joiner waiting", "participant", p.ID, "reason", p.Waiting, "client", hello.Client)
		r.sendWaitingRoomLocked()
		return nil
	}
	if err := r.welcomeLocked(p.ID, false); err != nil {
		return err
	}
	r.log.Info("participant joined", "participant", p.ID, "role", p.Role, "client", hello.Client)
	r.afterSettleLocked(res)
	return nil
}

// guessingLocked reports whether more wrong passcodes than people mistype
// have been tried for this meeting lately. It only alerts the hosts: the
// guessers are throttled per address, and refusing the meeting's right
// passcode would let them keep everyone out.
func (r *Room) guessingLocked() bool {
	return !r.hub.passcodes.Peek(string(r.id))
}

// welcomeLocked completes an admission: a fresh resume token, welcome,
// the roster event for everyone else, and the participant's peer (whose
// first renegotiate must follow welcome).
func (r *Room) welcomeLocked(pid meeting.ParticipantID, resumed bool) error {
	m := r.members[pid]
	conn := m.conn
	m.waiting = false
	r.usageAdmittedLocked(pid)
	token := newResumeToken()
	m.resumeHash = sha256.Sum256([]byte(token))
	self, _ := r.core.Participant(pid)
	roster := r.core.Participants()
	w := wire.Welcome{
		Type:         "welcome",
		V:            wire.Version,
		Server:       r.hub.opts.ServerVersion,
		Meeting:      wire.MeetingRef{ID: string(r.id)},
		Self:         toParticipantJSON(self),
		Participants: make([]wire.Participant, len(roster)),
		Resume:       token,
		Resumed:      resumed,
		ICEServers:   r.hub.iceServers(conn, string(pid)),
		Settings:     r.core.Settings(),
		E2EE:         r.e2eeOn(),
		Simulcast:    true,
		E2EERestart:  resumed && r.e2eeRestartLocked(pid),
		E2EEEpoch:    r.e2eeContinuedLocked(pid, resumed),
	}
	if r.parent != nil {
		w.Breakout = &wire.BreakoutRef{Room: r.number, Name: r.name}
	}
	m.restored = false
	r.keepLocked(pid)
	if claim := r.hub.opts.E2EEClaim; claim != nil {
		w.E2EE = claim(string(r.id), resumed, w.E2EE)
	}
	if w.ICEServers == nil {
		w.ICEServers = []wire.ICEServer{}
	}
	for i, p := range roster {
		w.Participants[i] = toParticipantJSON(p)
	}
	conn.Send(w)
	r.sendRecordingToLocked(conn)
	if !resumed {
		r.broadcastLocked(wire.ParticipantEvent{Type: wire.TypeParticipantJoined, Participant: toParticipantJSON(self)}, pid)
	}

	if !r.openElsewhereLocked(pid, conn) { // elsewhere.go
		peer, err := r.router.AddPeer(string(pid), conn)
		if err != nil {
			m.conn = nil
			r.removeLocked(pid, wire.LeftDisconnected)
			return fmt.Errorf("add peer: %w", err)
		}
		m.peer = peer
	}
	r.applyBlocksLocked(pid)
	if self.Role != meeting.RoleParticipant {
		r.sendWaitingRoomTo(conn)
	}
	if !resumed {
		r.e2eeAdmittedLocked(pid)
	}
	return nil
}

// afterSettleLocked acts on the waiting people a change moved: admitted
// ones get welcome, the others their new reason.
func (r *Room) afterSettleLocked(res meeting.JoinResult) {
	for _, p := range res.Admitted {
		if m := r.members[p.ID]; m != nil && m.conn != nil {
			if err := r.welcomeLocked(p.ID, false); err != nil {
				r.log.Error("admit", "participant", p.ID, "err", err)
			}
		}
	}
	for _, p := range res.Rewaiting {
		if m := r.members[p.ID]; m != nil && m.conn != nil {
			m.conn.Send(wire.Waiting{Type: wire.TypeWaiting, Reason: string(p.Waiting)})
		}
	}
	if len(res.Admitted)+len(res.Rewaiting) > 0 {
		r.sendWaitingRoomLocked()
	}
}

// applyBlocksLocked makes the SFU forward only what the core allows.
func (r *Room) applyBlocksLocked(pid meeting.ParticipantID) {
	m := r.members[pid]
	if r.blocksElsewhereLocked(pid) || m == nil || m.peer == nil {
		return
	}
	may := r.core.MayForward(pid)
	m.peer.SetBlocked(sfu.SourceMicrophone, !may.Audio)
	m.peer.SetBlocked(sfu.SourceCamera, !may.Video)
	m.peer.SetBlocked(sfu.SourceScreen, !may.Screen)
	m.peer.SetBlocked(sfu.SourceScreenAudio, !may.Screen)
}

// resumeLocked finds the admitted member a resume token belongs to, if
// the socket comes with the account they joined with: one signed out of
// it (a browser's sign-out, "sign out everywhere") joins afresh, as who
// it is now, and keeps nothing the account gave it.
func (r *Room) resumeLocked(token, userID string) (meeting.ParticipantID, *member, bool) {
	if token == "" {
		return "", nil, false
	}
	h := sha256.Sum256([]byte(token))
	for pid, m := range r.members {
		if !m.waiting && m.resumeHash == h {
			if p, ok := r.core.Participant(pid); !ok || p.Identity.UserID != userID {
				return "", nil, false
			}
			return pid, m, true
		}
	}
	return "", nil, false
}

// endAccount takes everyone on an account out of the meeting, its waiting
// room and its breakout rooms, because its sessions were ended (signed
// out everywhere, suspended, deleted): what the account gave them, a
// host's powers above all, must not outlive that on a live socket or
// through a resume or move token. r is a main room; the locks are taken
// main room first, then each breakout room, as endLocked does.
func (r *Room) endAccount(userID, reason, message string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.endAccountLocked(userID, reason, message)
	if b := r.breakouts; b != nil {
		for _, room := range b.rooms {
			room.mu.Lock()
			room.endAccountLocked(userID, reason, message)
			room.mu.Unlock()
		}
	}
}

// endAccountLocked is endAccount in one room (main or breakout): the
// account's members go, and its moves' tokens into this room.
func (r *Room) endAccountLocked(userID, reason, message string) {
	for h, inv := range r.invites {
		if inv.p.Identity.UserID == userID {
			delete(r.invites, h)
		}
	}
	var ended []meeting.ParticipantID
	for _, p := range append(r.core.Participants(), r.core.Waiting()...) {
		if p.Identity.UserID == userID {
			ended = append(ended, p.ID)
		}
	}
	for _, pid := range ended {
		if m := r.members[pid]; m != nil && m.conn != nil {
			m.conn.Close(Closed(reason, message))
			m.conn = nil
		}
		r.removeLocked(pid, wire.LeftLeft)
		r.log.Info("participant's account ended", "participant", pid, "reason", reason)
	}
}

// Peer returns the participant's peer while conn is their connection,
// or nil if they are not admitted.
func (r *Room) Peer(pid meeting.ParticipantID, conn Conn) *sfu.Peer {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m := r.members[pid]; m != nil && m.conn == conn {
		return m.peer
	}
	return nil
}

// CheckPublish refuses sources the participant may not send (a screen
// when sharing is for hosts only).
func (r *Room) CheckPublish(pid meeting.ParticipantID, tracks []sfu.PublishedTrack) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, t := range tracks {
		if (t.Source == sfu.SourceScreen || t.Source == sfu.SourceScreenAudio) && !r.core.Can(pid, meeting.ActShareScreen) {
			return fmt.Errorf("publish %s: %w", t.Source, meeting.ErrForbidden)
		}
	}
	return nil
}

// Disconnect handles a connection that ended without leave: an admitted
// participant's media stops and their place is kept for the resume grace
// period; a waiting Joiner simply goes.
func (r *Room) Disconnect(pid meeting.ParticipantID, conn Conn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.members[pid]
	if r.closed || m == nil || m.conn != conn {
		return // already replaced by a resumed connection, or gone
	}
	if m.waiting {
		r.removeLocked(pid, wire.LeftLeft)
		return
	}
	r.router.RemovePeer(string(pid))
	m.conn, m.peer = nil, nil
	if p, changed, err := r.core.SetConnected(pid, false); err == nil && changed {
		r.broadcastLocked(wire.ParticipantEvent{Type: wire.TypeParticipantUpdated, Participant: toParticipantJSON(p)}, pid)
	}
	r.log.Info("participant connection lost", "participant", pid)
	m.grace = time.AfterFunc(r.hub.opts.ResumeGrace, func() { r.expire(pid, m) })
	r.e2eeStepLocked() // a job they were given goes to someone connected
}

// expire removes a participant who did not come back in time.
func (r *Room) expire(pid meeting.ParticipantID, m *member) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.members[pid] != m || m.conn != nil {
		return
	}
	r.removeLocked(pid, wire.LeftDisconnected)
}

// Leave removes a participant at its own request.
func (r *Room) Leave(pid meeting.ParticipantID, conn Conn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m := r.members[pid]; m == nil || m.conn != conn {
		return
	}
	r.removeLocked(pid, wire.LeftLeft)
}

// removeLocked takes a member out of the room and the core.
func (r *Room) removeLocked(pid meeting.ParticipantID, reason string) {
	m := r.members[pid]
	if m == nil {
		return
	}
	if m.grace != nil {
		m.grace.Stop()
	}
	if m.peer != nil {
		r.router.RemovePeer(string(pid))
	}
	delete(r.members, pid)
	if !m.waiting {
		r.unkeepLocked(pid)
		r.usageGoneLocked(pid)
		r.recorderGoneLocked(pid)
	}
	p, err := r.core.Leave(pid)
	if err != nil {
		r.log.Error("remove participant", "participant", pid, "err", err)
	}
	// The others learn that they left before a member is asked to remove
	// their leaf: a client removes only someone no longer in the meeting.
	defer r.e2eeLeftLocked(pid)
	if m.waiting {
		r.sendWaitingRoomLocked()
	} else {
		r.broadcastLocked(wire.ParticipantLeft{Type: wire.TypeParticipantLeft, ID: string(pid), Reason: reason}, pid)
		r.log.Info("participant left", "participant", pid, "reason", reason, "role", p.Role)
		r.breakoutsChanged()
	}
	// A breakout room lasts until the breakouts close; a main room while
	// it has breakout rooms.
	if r.core.Len() == 0 && r.parent == nil && r.breakouts == nil {
		r.closeLocked()
	}
}

// SetMedia records a participant's media state and tells everyone.
func (r *Room) SetMedia(pid meeting.ParticipantID, conn Conn, media meeting.MediaState) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m := r.members[pid]; m == nil || m.conn != conn || m.waiting {
		return ErrNotAdmitted
	}
	p, changed, err := r.core.SetMedia(pid, media)
	if err != nil {
		return err
	}
	r.applyBlocksLocked(pid)
	if changed {
		r.broadcastLocked(wire.ParticipantEvent{Type: wire.TypeParticipantUpdated, Participant: toParticipantJSON(p)}, "")
	}
	return nil
}

// ErrNotAdmitted: the caller is not an admitted member on this
// connection.
var ErrNotAdmitted = errors.New("not admitted")

// broadcastLocked sends msg to every connected, admitted member except one.
func (r *Room) broadcastLocked(msg any, except meeting.ParticipantID) {
	b, err := json.Marshal(msg)
	if err != nil {
		r.log.Error("encode broadcast", "err", err)
		return
	}
	for pid, m := range r.members {
		if pid != except && m.conn != nil && !m.waiting {
			m.conn.SendEncoded(b)
		}
	}
}

// sendWaitingRoomLocked tells every host and co-host who is waiting.
func (r *Room) sendWaitingRoomLocked() {
	for pid, m := range r.members {
		if m.conn == nil || m.waiting {
			continue
		}
		if p, ok := r.core.Participant(pid); ok && p.Role != meeting.RoleParticipant {
			r.sendWaitingRoomTo(m.conn)
		}
	}
}

func (r *Room) sendWaitingRoomTo(conn Conn) {
	waiting := r.core.Waiting()
	msg := wire.WaitingRoom{Type: wire.TypeWaitingRoom, Entries: make([]wire.WaitingEntry, len(waiting)), Guessing: r.guessingLocked()}
	for i, p := range waiting {
		msg.Entries[i] = wire.WaitingEntry{ID: string(p.ID), Name: p.Name, SignedIn: p.SignedIn(), Reason: string(p.Waiting),
			Since: p.JoinedAt.UTC().Format(time.RFC3339), BannedNetwork: p.BannedNetwork}
	}
	conn.Send(msg)
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
	r.usageClosedLocked()
	stopServerRecordingLocked(r.recording)
	for _, m := range r.members {
		if m.grace != nil {
			m.grace.Stop()
		}
	}
	if r.e2eeTimer != nil {
		r.e2eeTimer.Stop()
	}
	if b := r.breakouts; b != nil {
		// The meeting ends (for everyone, or the server stops): so do its
		// breakout rooms.
		r.breakouts = nil
		if b.timer != nil {
			b.timer.Stop()
		}
		for _, room := range b.rooms {
			room.mu.Lock()
			room.closeLocked()
			room.mu.Unlock()
		}
	}
	r.router.Close()
	if r.parent == nil {
		r.hub.forget(r)
	}
}

// persist runs a store write outside the room's lock, with a deadline.
func (r *Room) persist(what string, f func(ctx context.Context) error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f(ctx); err != nil {
		r.log.Error("save "+what, "err", err)
	}
}

// newResumeToken returns 32 random bytes in base64url.
func newResumeToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
