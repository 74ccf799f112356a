package signal

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/kaigi-meet/kaigi/internal/e2ee"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/wire"
)

// Breakout rooms. A host or co-host splits the meeting into rooms for a
// while. Each room is a Room of its own inside the meeting's: its own SFU
// router, so no media crosses between rooms, and its own MLS group, so its
// own keys and security code. People move by reconnecting: the server
// hands each a one-time token for where it is sent (`breakout`, or
// `breakout_return` for the main room); a hello with it skips the passcode
// and the waiting room, keeps the participant's ID and role, and must come
// from the same account. Nothing of this is stored: a restart of the
// server brings everyone back to the main room (kept.go keeps the main
// room only).

// Limits on breakout rooms.
const (
	maxBreakoutRooms = 50
	// maxBreakoutSeconds bounds the countdowns hosts give.
	maxBreakoutSeconds = 60
	// maxBreakoutPeople bounds the assignments of one breakout_open.
	maxBreakoutPeople = 2000
	// inviteLifetime is how long a move's token may be used.
	inviteLifetime = 2 * time.Minute
	// breakoutLinger keeps closed rooms after a close's countdown for those
	// still on their way back.
	breakoutLinger = 30 * time.Second
)

var (
	errBreakoutsOpen = errors.New("breakout rooms are open already")
	errNoBreakouts   = errors.New("no breakout rooms are open")
	errBadBreakout   = errors.New("bad breakout rooms")
	errBadInvite     = errors.New("the move's token is not valid")
	errAlreadyThere  = errors.New("already in that room")
	errReconnecting  = errors.New("they are reconnecting")
)

// invite lets one participant into a room once.
type invite struct {
	p       meeting.Participant
	expires time.Time
}

// breakouts are the main room's breakout rooms while they are open.
type breakouts struct {
	rooms   []*Room
	closing bool
	timer   *time.Timer
}

// main is the meeting's main room (r itself, or a breakout room's parent).
func (r *Room) main() *Room {
	if r.parent != nil {
		return r.parent
	}
	return r
}

// breakoutRoom returns open breakout room n (1-based), or nil.
func (r *Room) breakoutRoom(n int) *Room {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.breakouts == nil || n < 1 || n > len(r.breakouts.rooms) {
		return nil
	}
	return r.breakouts.rooms[n-1]
}

// inviteLocked makes a one-time token that lets p into r.
func (r *Room) inviteLocked(p meeting.Participant) string {
	if r.invites == nil {
		r.invites = map[[sha256.Size]byte]invite{}
	}
	now := time.Now()
	for h, inv := range r.invites {
		if now.After(inv.expires) {
			delete(r.invites, h)
		}
	}
	token := newResumeToken()
	r.invites[sha256.Sum256([]byte(token))] = invite{p: p, expires: now.Add(inviteLifetime)}
	return token
}

// takeInviteLocked uses up a token, if it is valid for this account.
func (r *Room) takeInviteLocked(token, userID string) (meeting.Participant, bool) {
	h := sha256.Sum256([]byte(token))
	inv, ok := r.invites[h]
	if !ok || time.Now().After(inv.expires) || inv.p.Identity.UserID != userID {
		return meeting.Participant{}, false
	}
	delete(r.invites, h)
	return inv.p, true
}

// enterLocked admits someone a move's token lets in: the same participant
// (ID, name, role), without passcode or waiting room.
func (r *Room) enterLocked(j *joiner, p meeting.Participant) error {
	hello := j.hello
	if old := r.members[p.ID]; old != nil {
		// A second use of a move (a reload on the way): the newer socket wins.
		if old.conn != nil {
			old.conn.Close(closedBecause(wire.ClosedReplaced, "You joined this room from another window."))
		}
		r.removeLocked(p.ID, wire.LeftLeft)
	}
	if r.e2eeOn() && (len(hello.KeyPackage) == 0 || len(hello.KeyPackage) > e2ee.MaxKeyPackage) {
		return errE2EERequired
	}
	p.Media = meeting.MediaState{Audio: hello.Audio, Video: hello.Video}
	if _, err := r.core.Restore(p); err != nil {
		return err
	}
	if _, _, err := r.core.SetConnected(p.ID, true); err != nil {
		return err
	}
	r.core.SetMedia(p.ID, p.Media)
	r.members[p.ID] = &member{conn: j.conn, keyPackage: hello.KeyPackage}
	j.place(r, p.ID) // before welcome: a drain starting now must tell them
	if err := r.welcomeLocked(p.ID, false); err != nil {
		return err
	}
	r.log.Info("participant moved in", "participant", p.ID, "breakout", r.number)
	r.breakoutsChanged()
	return nil
}

// breakoutsChanged tells the hosts, later and outside this room's lock
// (the main room's lock comes before a breakout room's).
func (r *Room) breakoutsChanged() {
	m := r.main()
	if m.breakouts == nil && r == m {
		return
	}
	go m.sendBreakouts()
}

// checkModerator checks that the caller is in r and may run breakouts.
func (r *Room) checkModeratorLocked(by meeting.ParticipantID, conn Conn) error {
	if err := r.callerLocked(by, conn); err != nil {
		return err
	}
	if !r.core.Can(by, meeting.ActBreakouts) {
		return fmt.Errorf("breakouts: %w", meeting.ErrForbidden)
	}
	return nil
}

// breakoutOpen opens breakout rooms and sends the people assigned to them.
func (r *Room) breakoutOpen(by meeting.ParticipantID, conn Conn, specs []wire.BreakoutSpec, seconds int) error {
	if r.parent != nil {
		return fmt.Errorf("%w: open them from the main room", errBadBreakout)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.checkModeratorLocked(by, conn); err != nil {
		return err
	}
	if r.breakouts != nil {
		return errBreakoutsOpen
	}
	names := make([]string, len(specs))
	seen := map[meeting.ParticipantID]bool{}
	for i, spec := range specs {
		name, err := meeting.NormaliseName(spec.Name)
		if err != nil {
			return fmt.Errorf("%w: room %d's name: %v", errBadBreakout, i+1, err)
		}
		names[i] = name
		for _, id := range spec.Participants {
			pid := meeting.ParticipantID(id)
			if _, ok := r.core.Participant(pid); !ok || seen[pid] {
				return fmt.Errorf("%w: %q is not in the meeting, or is in two rooms", errBadBreakout, id)
			}
			seen[pid] = true
		}
	}
	b := &breakouts{}
	for i, name := range names {
		b.rooms = append(b.rooms, newBreakoutRoom(r, i+1, name))
	}
	r.breakouts = b
	for i, spec := range specs {
		for _, id := range spec.Participants {
			r.sendToBreakoutLocked(b.rooms[i], meeting.ParticipantID(id), seconds)
		}
	}
	r.log.Info("breakout rooms opened", "by", by, "rooms", len(b.rooms), "assigned", len(seen))
	go r.sendBreakouts()
	return nil
}

// sendToBreakoutLocked invites a participant of the main room into a
// breakout room and tells them (both locks are taken here: main, then the
// breakout room).
func (r *Room) sendToBreakoutLocked(to *Room, pid meeting.ParticipantID, seconds int) {
	p, ok := r.core.Participant(pid)
	m := r.members[pid]
	if !ok || m == nil || m.conn == nil {
		return // reconnecting: a host can move them once they are back
	}
	to.mu.Lock()
	token := to.inviteLocked(p)
	to.mu.Unlock()
	m.conn.Send(wire.Breakout{Type: wire.TypeBreakout, Room: to.number, Name: to.name, Seconds: seconds, Token: token})
}

// checkModeratorUnderMain checks the caller, in r, with the main room
// already locked (r may be the main room itself or one of its rooms).
func (r *Room) checkModeratorUnderMain(main *Room, by meeting.ParticipantID, conn Conn) error {
	if r == main {
		return r.checkModeratorLocked(by, conn)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.checkModeratorLocked(by, conn)
}

// withOpenBreakouts runs f under the main room's lock once the caller, in
// r (the main room or one of its rooms), is checked to be a host or
// co-host and the breakout rooms are open and not closing.
func (r *Room) withOpenBreakouts(by meeting.ParticipantID, conn Conn, f func(main *Room, b *breakouts) error) error {
	main := r.main()
	main.mu.Lock()
	defer main.mu.Unlock()
	if err := r.checkModeratorUnderMain(main, by, conn); err != nil {
		return err
	}
	b := main.breakouts
	if b == nil || b.closing {
		return errNoBreakouts
	}
	return f(main, b)
}

// breakoutMove moves a participant (in the main room or a breakout room)
// to breakout room n, or back to the main room (n = 0).
func (r *Room) breakoutMove(by meeting.ParticipantID, conn Conn, target meeting.ParticipantID, n int) error {
	return r.withOpenBreakouts(by, conn, func(main *Room, b *breakouts) error {
		return main.moveLocked(b, target, n)
	})
}

// moveLocked is breakoutMove with the main room (r) locked.
func (r *Room) moveLocked(b *breakouts, target meeting.ParticipantID, n int) error {
	if n < 0 || n > len(b.rooms) {
		return fmt.Errorf("%w: there is no room %d", errBadBreakout, n)
	}
	if _, ok := r.core.Participant(target); ok {
		if n == 0 {
			return errAlreadyThere
		}
		r.sendToBreakoutLocked(b.rooms[n-1], target, 0)
		return nil
	}
	for _, from := range b.rooms {
		from.mu.Lock()
		p, ok := from.core.Participant(target)
		var conn Conn
		if m := from.members[target]; m != nil {
			conn = m.conn
		}
		from.mu.Unlock()
		if !ok {
			continue
		}
		switch {
		case n == from.number:
			return errAlreadyThere
		case conn == nil:
			return errReconnecting
		case n == 0:
			conn.Send(wire.BreakoutReturn{Type: wire.TypeBreakoutReturn, Seconds: 0, Token: r.inviteLocked(p)})
		default:
			to := b.rooms[n-1]
			to.mu.Lock()
			token := to.inviteLocked(p)
			to.mu.Unlock()
			conn.Send(wire.Breakout{Type: wire.TypeBreakout, Room: to.number, Name: to.name, Token: token})
		}
		return nil
	}
	return fmt.Errorf("%w", meeting.ErrNoSuchParticipant)
}

// breakoutClose brings everyone back after a countdown; the rooms close
// breakoutLinger after it.
func (r *Room) breakoutClose(by meeting.ParticipantID, conn Conn, seconds int) error {
	return r.withOpenBreakouts(by, conn, func(main *Room, b *breakouts) error {
		main.closeBreakoutsLocked(b, by, seconds)
		return nil
	})
}

// closeBreakoutsLocked is breakoutClose with the main room (r) locked.
func (r *Room) closeBreakoutsLocked(b *breakouts, by meeting.ParticipantID, seconds int) {
	b.closing = true
	for _, room := range b.rooms {
		room.mu.Lock()
		for pid, m := range room.members {
			p, ok := room.core.Participant(pid)
			if m.conn == nil || !ok {
				continue
			}
			m.conn.Send(wire.BreakoutReturn{Type: wire.TypeBreakoutReturn, Seconds: seconds, Token: r.inviteLocked(p)})
		}
		room.mu.Unlock()
	}
	b.timer = time.AfterFunc(time.Duration(seconds)*time.Second+breakoutLinger, r.endBreakouts)
	r.log.Info("breakout rooms closing", "by", by, "seconds", seconds)
	go r.sendBreakouts()
}

// endBreakouts closes the breakout rooms once everyone had time to return.
func (r *Room) endBreakouts() {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.breakouts
	if b == nil {
		return
	}
	r.breakouts = nil
	for _, room := range b.rooms {
		room.mu.Lock()
		for _, m := range room.members {
			if m.conn != nil {
				m.conn.Close(closedBecause(wire.ClosedBreakoutEnded, "The breakout rooms have closed. Rejoin the meeting."))
			}
		}
		room.closeLocked()
		room.mu.Unlock()
	}
	r.log.Info("breakout rooms closed")
	if r.core.Len() == 0 {
		r.closeLocked()
		return
	}
	r.sendBreakoutsLocked()
}

// sendBreakouts tells every host and co-host (in any room) who is where.
func (r *Room) sendBreakouts() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sendBreakoutsLocked()
}

func (r *Room) sendBreakoutsLocked() {
	msg := wire.Breakouts{Type: wire.TypeBreakouts, Main: people(r.core.Participants()), Rooms: []wire.BreakoutRoomStatus{}}
	var to []Conn
	collect := func(room *Room) {
		for pid, m := range room.members {
			if p, ok := room.core.Participant(pid); ok && m.conn != nil && p.Role != meeting.RoleParticipant {
				to = append(to, m.conn)
			}
		}
	}
	collect(r)
	if b := r.breakouts; b != nil {
		msg.Open, msg.Closing = true, b.closing
		for _, room := range b.rooms {
			room.mu.Lock()
			msg.Rooms = append(msg.Rooms, wire.BreakoutRoomStatus{Room: room.number, Name: room.name, Participants: people(room.core.Participants())})
			collect(room)
			room.mu.Unlock()
		}
	}
	for _, conn := range to {
		conn.Send(msg)
	}
}

func people(ps []meeting.Participant) []wire.BreakoutPerson {
	out := make([]wire.BreakoutPerson, len(ps))
	for i, p := range ps {
		out[i] = wire.BreakoutPerson{ID: string(p.ID), Name: p.Name}
	}
	return out
}

// newBreakoutRoom makes breakout room n of a main room.
func newBreakoutRoom(main *Room, n int, name string) *Room {
	key := fmt.Sprintf("%s/%d", main.id, n)
	rec := meeting.Record{ID: main.id, OwnerID: main.core.OwnerID(), Settings: main.core.Settings()}
	return &Room{
		srv:     main.srv,
		id:      main.id,
		log:     main.log.With("breakout", n),
		core:    meeting.New(rec, meeting.Options{MaxParticipants: main.srv.opts.MaxParticipants}),
		router:  main.srv.opts.SFU.NewRouter(key),
		group:   e2ee.NewGroup(nil),
		members: make(map[meeting.ParticipantID]*member),
		parent:  main,
		number:  n,
		name:    name,
	}
}

// Limits on a host's broadcast to all rooms (breakout_broadcast).
const (
	// maxBroadcastPayload bounds a sealed broadcast: a 24-byte nonce, a
	// 16-byte tag and, sealed, a 64-byte signature and a JSON body whose
	// text is at most 1,000 characters without control characters (at
	// most 3 bytes each in UTF-8), with room to spare.
	maxBroadcastPayload = 6 << 10
	// maxBroadcastText bounds a broadcast in clear (a meeting without
	// end-to-end encryption), in characters.
	maxBroadcastText = 1000
)

var errBroadcastRate = errors.New("too many broadcasts")

// breakoutBroadcast relays a host's or co-host's message (from any room)
// to everyone in the main room and every breakout room while the rooms
// are open. The server cannot read a sealed one: it checks who sends, how
// large and how often, and says who sent it.
// allow spends the sender's broadcast allowance, if it has any left.
func (r *Room) breakoutBroadcast(by meeting.ParticipantID, conn Conn, payload []byte, text string, allow func() bool) error {
	return r.withOpenBreakouts(by, conn, func(main *Room, b *breakouts) error {
		if main.e2eeOn() != (len(payload) > 0) {
			return fmt.Errorf("%w: a broadcast is sealed in an end-to-end encrypted meeting, in clear in another", errBadBreakout)
		}
		if !allow() {
			return errBroadcastRate
		}
		msg := wire.BreakoutBroadcast{Type: wire.TypeBreakoutBroadcast, From: string(by), Payload: payload, Text: text}
		main.broadcastLocked(msg, "")
		for _, room := range b.rooms {
			room.mu.Lock()
			room.broadcastLocked(msg, "")
			room.mu.Unlock()
		}
		main.log.Info("breakout broadcast", "by", by, "bytes", len(payload)+len(text))
		return nil
	})
}

// endFromBreakout ends the whole meeting, every room with it, at the word
// of a host in breakout room r (the rule is the main room's: CheckEnd, on
// the caller's role, which is the same in every room).
func (r *Room) endFromBreakout(by meeting.ParticipantID, conn Conn) error {
	main := r.main()
	main.mu.Lock()
	defer main.mu.Unlock()
	r.mu.Lock()
	err := r.callerLocked(by, conn)
	if err == nil {
		err = r.core.CheckEnd(by)
	}
	r.mu.Unlock()
	if err != nil {
		return err
	}
	main.endLocked(by, hostEnded)
	return nil
}
