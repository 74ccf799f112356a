package signal

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/kaigi-meet/kaigi/internal/cluster"
	"github.com/kaigi-meet/kaigi/internal/e2ee"
	"github.com/kaigi-meet/kaigi/internal/live"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/policy"
	"github.com/kaigi-meet/kaigi/internal/sfu"
	"github.com/kaigi-meet/kaigi/internal/wire"
	"github.com/pion/webrtc/v4"
)

const (
	// outboxSize is how many messages may wait for a slow client before the
	// server gives up on its socket.
	outboxSize   = 256
	writeTimeout = 10 * time.Second
)

// frame is one outgoing message, or (with close set) the last one; media
// is a node's message about a relayed member's media (entry.go).
type frame struct {
	data  []byte
	close *websocket.StatusCode
	media bool
}

// session is one signalling socket. Its reader goroutine owns the join
// state; any goroutine may send.
type session struct {
	srv    *Server
	conn   *websocket.Conn
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	out    *outbox // outbox.go
	// pinger pings the client (keepalive); set by run, under pingMu.
	pingMu sync.Mutex
	pinger *time.Timer
	// budget limits what the client sends (budget.go); reader only.
	budget *budget
	// kinds limits application messages per kind (kinds.go); reader only.
	kinds kindLimits

	// queued is the bytes waiting in out, and congestedAt when they went
	// over the relay mark (backpressure.go).
	queued      atomic.Int64
	congestedAt atomic.Int64

	closeOnce sync.Once
	closing   atomic.Bool // a last frame is queued; let the writer send it
	joined    atomic.Bool // hello was accepted

	// identity is who opened the socket: account (from the session
	// cookie) and address. The device ID arrives with hello. The account
	// is dropped at join if it was ended since (Server.endedSince).
	identity meeting.Identity
	// epoch is the server's EndAccount count when the socket was
	// tracked, before its account was identified (Server.mu).
	epoch uint64

	// Set once joined (admitted or waiting); used by the reader goroutine
	// only.
	room *live.Room
	pid  meeting.ParticipantID
	left bool

	// raw is the message being handled, as the client sent it (a hello
	// relayed to another node goes as sent); refused is the code the
	// session was refused with. Reader only.
	raw     []byte
	refused string
	// relay is set once the socket is relayed to the node its meeting is
	// placed on (relay.go); remote is set on a session with no socket, a
	// member relayed from another node (remote.go).
	relay      atomic.Pointer[relayLink]
	remote     *remoteLink
	remoteDone atomic.Bool // remote: the entry node was told the socket closes
	// entry is a relayed member's peer on this node, the entry node
	// (entry.go); entryOver is set once the socket ended, before its
	// entry is closed (openEntry then closes one it opens itself).
	entry     atomic.Pointer[entryPeer]
	entryOver atomic.Bool
}

func newSession(srv *Server, conn *websocket.Conn, remote string, id meeting.Identity) *session {
	ctx, cancel := context.WithCancel(context.Background())
	return &session{
		srv:      srv,
		conn:     conn,
		log:      srv.log.With("remote", remote),
		ctx:      ctx,
		cancel:   cancel,
		out:      newOutbox(),
		budget:   newBudget(time.Now()),
		identity: id,
	}
}

// run serves the socket until it closes.
func (s *session) run() {
	s.keepalive()

	s.readGuarded()
	if r := s.relay.Load(); r != nil {
		r.end()
	}
	s.entryOver.Store(true)
	s.closeEntry() // even without a relay: one may have been opening
	s.finish()
}

// finish ends the session once its reader stopped: the last frame is
// written (bounded), the writer stops, and a member still in a room is
// disconnected (they may resume).
func (s *session) finish() {
	if s.closing.Load() {
		// The writer cancels once it has sent the last frame.
		select {
		case <-s.ctx.Done():
		case <-time.After(writeTimeout):
		}
	}
	s.cancel()
	s.stopKeepalive()
	s.out.stop()
	if s.room != nil && !s.left {
		s.room.Disconnect(s.pid, s)
	}
	if s.remote != nil {
		if !s.remoteDone.Load() { // dropped, not closed: the socket goes as a lost connection would
			s.remote.cl.node.Publish(s.remote.node, s.remote.member, cluster.Message{Close: int(websocket.StatusGoingAway)})
		}
		return
	}
	s.conn.CloseNow()
}

// readGuarded is read, with a panic while handling a client's message
// ending only this session: the session runs on a goroutine of its own,
// not net/http's (which recovered a handler's panic), so without this one
// message that reached any bug would end the process and every meeting
// on the node. The panic is logged with its stack (never the message),
// the socket closed, and the session ends as after a lost connection
// (finish: the member leaves the room and may resume).
func (s *session) readGuarded() {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("signalling session panicked; its socket is closed", "participant", s.pid, "panic", p, "stack", string(debug.Stack()))
			s.conn.CloseNow()
		}
	}()
	s.read()
}

func (s *session) read() {
	helloTimer := time.AfterFunc(s.srv.opts.HelloTimeout, func() {
		if !s.joined.Load() {
			s.closeWith(nil, websocket.StatusPolicyViolation)
		}
	})
	defer helloTimer.Stop()
	for {
		typ, b, err := s.conn.Read(s.ctx)
		if err != nil {
			return
		}
		var msg *wire.ClientMessage
		if typ == websocket.MessageText {
			msg, err = decodeClientMessage(b)
		}
		if !s.pace(len(b), relayedBytes(msg, err)) {
			return
		}
		if r := s.relay.Load(); r != nil && typ == websocket.MessageText && err == nil {
			if !s.entryMessage(msg) { // their media is here (entry.go)
				r.forward(b) // the meeting's node handles it
			}
			continue
		}
		if typ != websocket.MessageText {
			s.sendError(wire.CodeBadMessage, "Messages must be JSON text.", 0)
			continue
		}
		if err != nil {
			var pe *protocolError
			errors.As(err, &pe)
			var ref int64
			if msg != nil {
				ref = msg.ID
			}
			if s.room == nil && msg != nil && msg.Type == "hello" {
				s.refuse(wire.CodeBadRequest, pe.message)
				return
			}
			s.sendError(pe.code, pe.message, ref)
			continue
		}
		s.raw = b
		goOn := s.handle(msg)
		// Not kept until the next message: an offer's SDP is kilobytes,
		// and a subscriber may send nothing more for the whole call.
		s.raw = nil
		if !goOn {
			return
		}
	}
}

// relayedBytes is how many bytes of a message the server relays to other
// members, or -1 for a message it does not relay.
func relayedBytes(m *wire.ClientMessage, decodeErr error) int {
	switch {
	case decodeErr != nil || m == nil:
		return -1
	case m.Type == "e2ee_message":
		return len(m.Data)
	case m.Type == "breakout_broadcast":
		return len(m.Payload) + len(m.Text)
	}
	return -1
}

// pace charges a message to the socket's budget and, while the budget is
// overdrawn, stops reading the socket. It returns false when the session
// is over: closed for flooding, or ended while held back.
func (s *session) pace(size, relayed int) bool {
	wait, exhausted := s.budget.charge(time.Now(), size, relayed)
	if exhausted {
		// Reconnecting to flood again counts against the address like a
		// failed join.
		s.srv.failures.Allow(policy.AddressKey(s.identity.Addr))
		s.log.Warn("client flooding; closing its socket", "participant", s.pid)
		s.Close(live.Closed(wire.ClosedFlooding, "This connection sent more than the server allows and was closed."))
		return false
	}
	if wait == 0 {
		s.budget.slowed = false
		return true
	}
	if !s.budget.slowed {
		s.budget.slowed = true
		s.log.Info("client over its budget; slowing it down", "participant", s.pid)
		s.sendError(wire.CodeRateLimited, "You are sending too fast; the server is slowing this connection down.", 0)
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.ctx.Done():
		return false
	}
}

// handle acts on one message; it returns false when the session is over.
func (s *session) handle(m *wire.ClientMessage) bool {
	if m.Type == "hello" {
		if s.room != nil {
			s.sendError(wire.CodeAlreadyJoined, "This connection has already joined.", m.ID)
			return true
		}
		return s.hello(m)
	}
	if s.room == nil {
		s.sendError(wire.CodeNotJoined, "Send hello first.", m.ID)
		return true
	}
	switch m.Type {
	case "ping":
		s.send(wire.Bare{Type: wire.TypePong})
		return true
	case "leave":
		s.left = true
		s.room.Leave(s.pid, s)
		s.closeWith(nil, websocket.StatusNormalClosure)
		return false
	}
	peer := s.room.Peer(s.pid, s)
	// An admitted member whose media is on their entry node has no peer
	// here (entry.go): only negotiation needs one.
	if peer == nil && (!s.room.AdmittedElsewhere(s.pid, s) || sfuMessage(m.Type)) {
		s.sendError(wire.CodeNotJoined, "You are not in the meeting yet.", m.ID)
		return true
	}
	r, by, target := s.room, s.pid, meeting.ParticipantID(m.Participant)
	var err error
	switch m.Type {
	case "offer":
		tracks := publishedTracks(m)
		if err = r.CheckPublish(by, tracks); err == nil {
			err = peer.HandleOffer(m.SDP, tracks)
		}
	case "answer":
		err = peer.HandleAnswer(m.SDP)
	case "ready":
		err = peer.HandleReady()
	case "candidate":
		err = peer.AddCandidate(*m.Candidate)
	case "video_size":
		// A track that just ended is not an error: the client could not
		// know yet.
		peer.SetVideoSize(m.Participant, sfu.Source(m.Source), *m.Width, *m.Height)
	case "media":
		err = r.SetMedia(by, s, meeting.MediaState{Audio: m.Audio, Video: m.Video, Screen: m.Screen})
	case "admit":
		err = r.Admit(by, s, target, m.All)
	case "deny":
		err = r.Deny(by, s, target, m.All)
	case "remove":
		err = r.Remove(by, s, target, m.Ban)
	case "mute":
		err = r.Mute(by, s, target, false)
	case "mute_all":
		err = r.Mute(by, s, "", true)
	case "stop_video":
		err = r.StopVideo(by, s, target, m.Screen)
	case "rename":
		err = r.Rename(by, s, target, m.Name)
	case "set_role":
		err = r.SetRole(by, s, target, meeting.Role(m.Role))
	case "lock":
		err = r.UpdateSettings(by, s, func(set *meeting.Settings) { set.Locked = m.Locked })
	case "record":
		if m.Server && m.On {
			err = r.RecordOnServer(by, s)
		} else {
			err = r.Record(by, s, m.On, m.Recording)
		}
	case "settings":
		if err = s.srv.regionsSettable(s.ctx, m.Settings.Regions); err == nil {
			err = r.UpdateSettings(by, s, func(set *meeting.Settings) { mergeSettings(set, *m.Settings) })
		}
	case "end":
		if err = r.End(by, s); err == nil {
			return false
		}
	case "breakout_open":
		err = r.BreakoutOpen(by, s, m.Rooms, m.Seconds)
	case "breakout_move":
		err = r.BreakoutMove(by, s, target, m.Room)
	case "breakout_close":
		err = r.BreakoutClose(by, s, m.Seconds)
	case "breakout_broadcast":
		err = r.BreakoutBroadcast(by, s, m.Payload, m.Text, func() bool { return s.kinds.allowBroadcast(time.Now()) })
	case "e2ee_commit":
		err = r.E2EECommit(by, s, m)
	case "e2ee_message":
		if !s.kindAllowed(m.Kind, m.ID) {
			return true
		}
		var slow []live.Conn
		slow, err = r.E2EEMessage(by, s, m.Epoch, m.Kind, m.Data, meeting.ParticipantID(m.To))
		s.reportError(err, m.ID)
		return s.awaitRecipients(slow)
	}
	s.reportError(err, m.ID)
	return true
}

// reportError tells the client why a message was refused.
func (s *session) reportError(err error, ref int64) {
	if err == nil {
		return
	}
	code, msg := wire.CodeInternal, "The server could not handle that."
	switch {
	case errors.Is(err, meeting.ErrForbidden):
		code, msg = wire.CodeForbidden, "You are not allowed to do that in this meeting."
	case errors.Is(err, meeting.ErrNoSuchParticipant):
		code, msg = wire.CodeNoSuchParticipant, "That person is not in the meeting."
	case errors.Is(err, meeting.ErrMeetingFull):
		code, msg = wire.CodeMeetingFull, "The meeting is full: nobody more can be admitted."
	case errors.Is(err, meeting.ErrNotWaiting):
		code, msg = wire.CodeNotWaiting, "That person is not in the waiting room."
	case errors.Is(err, meeting.ErrBadSettings):
		code, msg = wire.CodeBadSettings, "Those meeting settings are not valid."
	case errors.Is(err, meeting.ErrBadRole):
		code, msg = wire.CodeBadRole, "That role change is not possible."
	case errors.Is(err, meeting.ErrBadName):
		code, msg = wire.CodeBadName, "Choose a display name of 1 to 64 characters, without control characters."
	case errors.Is(err, live.ErrBreakoutsOpen), errors.Is(err, live.ErrNoBreakouts), errors.Is(err, live.ErrBadBreakout),
		errors.Is(err, live.ErrAlreadyThere), errors.Is(err, live.ErrReconnecting):
		code, msg = wire.CodeBadBreakout, "That breakout room change is not possible: "+err.Error()+"."
	case errors.Is(err, live.ErrRecording):
		code, msg = wire.CodeBadRecording, "That recording change is not possible ("+err.Error()+")."
	case errors.Is(err, live.ErrBroadcastRate):
		code, msg = wire.CodeRateLimited, "Too many broadcasts: wait a few seconds before the next."
	case errors.Is(err, live.ErrNotAdmitted):
		code, msg = wire.CodeNotJoined, "You are not in the meeting yet."
	case errors.Is(err, e2ee.ErrStaleEpoch):
		code, msg = wire.CodeE2EEStale, "That commit is for an epoch that has passed."
	case errors.Is(err, e2ee.ErrNotCommitter):
		code, msg = wire.CodeE2EENotCommitter, "You were not asked to commit now."
	case errors.Is(err, e2ee.ErrNotMember):
		code, msg = wire.CodeE2EENotMember, "Not a member of the encrypted group."
	case errors.Is(err, e2ee.ErrBadMessage):
		code, msg = wire.CodeE2EEBad, "That end-to-end encryption message is malformed or too large."
	case errors.Is(err, e2ee.ErrTooSoon):
		code, msg = wire.CodeE2EETooSoon, "Your last key update was too recent; try again later."
	case errors.Is(err, e2ee.ErrStillPresent):
		code, msg = wire.CodeE2EEStillPresent, "That commit removes someone who is still in the meeting."
	case errors.Is(err, sfu.ErrBadSDP):
		code, msg = wire.CodeBadSDP, "The session description was not accepted."
	case errors.Is(err, sfu.ErrBadTracks):
		code, msg = wire.CodeBadTracks, "The list of published tracks does not match the offer."
	case errors.Is(err, sfu.ErrBadCandidate):
		code, msg = wire.CodeBadCandidate, "The ICE candidate was not accepted."
	case errors.Is(err, sfu.ErrUnexpectedAnswer):
		code, msg = wire.CodeUnexpectedAnswer, "There is no offer to answer."
	case errors.Is(err, sfu.ErrOutOfTurn):
		code, msg = wire.CodeOutOfTurn, "That negotiation message came out of turn."
	}
	s.log.Debug("client message refused", "participant", s.pid, "code", code, "err", err)
	s.sendError(code, msg, ref)
}

// send queues a message. If the client is too slow to take its messages, the
// session is ended: it will resume when the client reconnects.
func (s *session) send(msg any) {
	b, err := json.Marshal(msg)
	if err != nil {
		s.log.Error("encode message", "err", err)
		return
	}
	if tamper := s.srv.opts.Tamper; tamper != nil {
		if b = tamper(string(s.pid), b); b == nil {
			return
		}
	}
	s.sendBytes(b)
}

func (s *session) sendBytes(b []byte) { s.queue(frame{data: b}) }

func (s *session) queue(f frame) {
	b := f.data
	if s.ctx.Err() != nil {
		return
	}
	ok, start := s.out.put(f)
	if !ok {
		s.log.Warn("client too slow; closing its socket", "participant", s.pid)
		s.cancel()
		return
	}
	s.queued.Add(int64(len(b)))
	s.noteBacklog(time.Now())
	if start {
		go s.write()
	}
}

func (s *session) sendError(code, message string, ref int64) {
	s.send(wire.Error{Type: wire.TypeError, Code: code, Message: message, Ref: ref})
}

// refuse sends refused and closes the socket.
func (s *session) refuse(code, message string) {
	s.refused = code
	s.closeWith(wire.Refused{Type: wire.TypeRefused, Code: code, Message: message}, websocket.StatusPolicyViolation)
}

// closeWith sends msg (if not nil) as the last message and closes the socket
// with status. Safe from any goroutine, more than once.
func (s *session) closeWith(msg any, status websocket.StatusCode) {
	s.closeOnce.Do(func() {
		s.closing.Store(true)
		if msg != nil {
			s.send(msg)
		}
		ok, start := s.out.put(frame{close: &status})
		switch {
		case !ok:
			s.cancel()
		case start:
			go s.write()
		}
	})
}

// write sends the outbox's frames until it is empty or the session
// ends; the next message queued starts it again (outbox.go).
func (s *session) write() {
	for {
		if s.ctx.Err() != nil {
			s.out.quit()
			return
		}
		f, ok := s.out.next()
		if !ok {
			return
		}
		if f.close != nil {
			if s.remote != nil {
				s.remoteDone.Store(true)
				s.remote.cl.node.Publish(s.remote.node, s.remote.member, cluster.Message{Close: int(*f.close)})
			} else {
				s.conn.Close(*f.close, "")
			}
			s.cancel()
			s.out.quit()
			return
		}
		var err error
		if s.remote != nil {
			err = s.remote.cl.node.Publish(s.remote.node, s.remote.member, cluster.Message{Data: f.data, Media: f.media})
		} else {
			ctx, cancel := context.WithTimeout(s.ctx, writeTimeout)
			err = s.conn.Write(ctx, websocket.MessageText, f.data)
			cancel()
		}
		s.queued.Add(-int64(len(f.data)))
		s.noteBacklog(time.Now())
		if err != nil {
			s.cancel()
			s.out.quit()
			return
		}
	}
}

// keepalive pings the client every PingInterval and ends the session if
// a ping is not answered within PingTimeout. It arms a timer rather
// than keeping a goroutine on a ticker: the timer's goroutine lives only
// while a ping is out (a round trip on a live link), so a session costs
// no stack for its keepalive between pings (BENCHMARKS.md, "Memory per
// participant"). The next ping is due PingInterval after the last pong.
func (s *session) keepalive() {
	s.pingMu.Lock()
	defer s.pingMu.Unlock()
	s.pinger = time.AfterFunc(s.srv.opts.PingInterval, s.ping)
}

func (s *session) ping() {
	ctx, cancel := context.WithTimeout(s.ctx, s.srv.opts.PingTimeout)
	err := s.conn.Ping(ctx)
	cancel()
	if err != nil {
		s.cancel()
		return
	}
	s.pingMu.Lock()
	defer s.pingMu.Unlock()
	if s.ctx.Err() == nil { // stopKeepalive comes after the cancel
		s.pinger.Reset(s.srv.opts.PingInterval)
	}
}

// stopKeepalive disarms the timer once the session is cancelled.
func (s *session) stopKeepalive() {
	s.pingMu.Lock()
	defer s.pingMu.Unlock()
	if s.pinger != nil {
		s.pinger.Stop()
	}
}

// The sfu.Signaller methods: called from the SFU's goroutines.

func (s *session) Renegotiate() {
	s.send(wire.Bare{Type: wire.TypeRenegotiate})
}

func (s *session) Offer(sdp string, tracks []sfu.TrackInfo) {
	ts := make([]wire.Track, len(tracks))
	for i, t := range tracks {
		ts[i] = wire.Track{Mid: t.Mid, Participant: t.Participant, Source: string(t.Source), Kind: t.Kind.String()}
	}
	s.send(wire.Offer{Type: wire.TypeOffer, SDP: sdp, Tracks: ts})
}

func (s *session) Answer(sdp string) {
	s.send(wire.Answer{Type: wire.TypeAnswer, SDP: sdp})
}

func (s *session) Candidate(c webrtc.ICECandidateInit) {
	s.send(wire.Candidate{Type: wire.TypeCandidate, Candidate: c})
}
