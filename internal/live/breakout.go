package live

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
	MaxBreakoutRooms = 50
	// MaxBreakoutSeconds bounds the countdowns hosts give.
	MaxBreakoutSeconds = 60
	// MaxBreakoutPeople bounds the assignments of one breakout_open.
	MaxBreakoutPeople = 2000
	// inviteLifetime is how long a move's token may be used.
	inviteLifetime = 2 * time.Minute
	// breakoutLinger keeps closed rooms after a close's countdown for those
	// still on their way back.
	breakoutLinger = 30 * time.Second
)

// Why a breakout room change is refused.
var (
	ErrBreakoutsOpen = errors.New("breakout rooms are open already")
	ErrNoBreakouts   = errors.New("no breakout rooms are open")
	ErrBadBreakout   = errors.New("bad breakout rooms")
	ErrBadInvite     = errors.New("the move's token is not valid")
	ErrAlreadyThere  = errors.New("already in that room")
	ErrReconnecting  = errors.New("they are reconnecting")
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

// BreakoutRoom returns open breakout room n (1-based), or nil.
func (r *Room) BreakoutRoom(n int) *Room {
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
func (r *Room) enterLocked(j *Joiner, p meeting.Participant) error {
	hello := j.Hello
	if old := r.members[p.ID]; old != nil {
		// A second use of a move (a reload on the way): the newer socket wins.
		if old.conn != nil {
			old.conn.Close(Closed(wire.ClosedReplaced, "You joined this room from another window."))
		}
		r.removeLocked(p.ID, wire.LeftLeft)
	}
	if r.e2eeOn() && (len(hello.KeyPackage) == 0 || len(hello.KeyPackage) > e2ee.MaxKeyPackage) {
		return ErrE2EERequired
	}
	p.Media = meeting.MediaState{Audio: hello.Audio, Video: hello.Video}
	if _, err := r.core.Restore(p); err != nil {
		return err
	}
	if _, _, err := r.core.SetConnected(p.ID, true); err != nil {
		return err
	}
	r.core.SetMedia(p.ID, p.Media)
	r.members[p.ID] = &member{conn: j.Conn, keyPackage: hello.KeyPackage}
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

// BreakoutOpen opens breakout rooms and sends the people assigned to them.
func (r *Room) BreakoutOpen(by meeting.ParticipantID, conn Conn, specs []wire.BreakoutSpec, seconds int) error {
	if r.parent != nil {
		return fmt.Errorf("%w: open them from the main room", ErrBadBreakout)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.checkModeratorLocked(by, conn); err != nil {
		return err
	}
	if r.breakouts != nil {
		return ErrBreakoutsOpen
	}
	names := make([]string, len(specs))
	seen := map[meeting.ParticipantID]bool{}
	for i, spec := range specs {
		name, err := meeting.NormaliseName(spec.Name)
		if err != nil {
			return fmt.Errorf("%w: room %d's name: %v", ErrBadBreakout, i+1, err)
		}
		names[i] = name
		for _, id := range spec.Participants {
			pid := meeting.ParticipantID(id)
			if _, ok := r.core.Participant(pid); !ok || seen[pid] {
				return fmt.Errorf("%w: %q is not in the meeting, or is in two rooms", ErrBadBreakout, id)
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
		return ErrNoBreakouts
	}
	return f(main, b)
}

// BreakoutMove moves a participant (in the main room or a breakout room)
// to breakout room n, or back to the main room (n = 0).
func (r *Room) BreakoutMove(by meeting.ParticipantID, conn Conn, target meeting.ParticipantID, n int) error {
	return r.withOpenBreakouts(by, conn, func(main *Room, b *breakouts) error {
		return main.moveLocked(b, target, n)
	})
}

// moveLocked is breakoutMove with the main room (r) locked.
func (r *Room) moveLocked(b *breakouts, target meeting.ParticipantID, n int) error {
	if n < 0 || n > len(b.rooms) {
		return fmt.Errorf("%w: there is no room %d", ErrBadBreakout, n)
	}
	if _, ok := r.core.Participant(target); ok {
		if n == 0 {
			return ErrAlreadyThere
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
			return ErrAlreadyThere
		case conn == nil:
			return ErrReconnecting
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

// BreakoutClose brings everyone back after a countdown; the rooms close
// breakoutLinger after it.
func (r *Room) BreakoutClose(by meeting.ParticipantID, conn Conn, seconds int) error {
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
				m.conn.Close(Closed(wire.ClosedBreakoutEnded, "The breakout rooms have closed. Rejoin the meeting."))
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
	return withFloodWatch(&Room{
		hub:     main.hub,
		id:      main.id,
		log:     main.log.With("breakout", n),
		core:    meeting.New(rec, meeting.Options{MaxParticipants: main.hub.opts.MaxParticipants}),
		router:  main.hub.opts.SFU.NewRouter(key),
		group:   e2ee.NewGroup(nil),
		members: make(map[meeting.ParticipantID]*member),
		parent:  main,
		number:  n,
		name:    name,
	})
}

// Limits on a host's broadcast to all rooms (breakout_broadcast).
const (
	// MaxBroadcastPayload bounds a sealed broadcast: a 24-byte nonce, a
	// 16-byte tag and, sealed, a 64-byte signature and a JSON body whose
	// text is at most 1,000 characters without control characters (at
	// most 3 bytes each in UTF-8), with room to spare.
	MaxBroadcastPayload = 6 << 10
	// MaxBroadcastText bounds a broadcast in clear (a meeting without
	// end-to-end encryption), in characters.
	MaxBroadcastText = 1000
)

// ErrBroadcastRate refuses a broadcast over its sender's allowance.
var ErrBroadcastRate = errors.New("too many broadcasts")

// BreakoutBroadcast relays a host's or co-host's message (from any room)
// to everyone in the main room and every breakout room while the rooms
// are open. The server cannot read a sealed one: it checks who sends, how
// large and how often, and says who sent it.
// allow spends the sender's broadcast allowance, if it has any left.
func (r *Room) BreakoutBroadcast(by meeting.ParticipantID, conn Conn, payload []byte, text string, allow func() bool) error {
	return r.withOpenBreakouts(by, conn, func(main *Room, b *breakouts) error {
		if main.e2eeOn() != (len(payload) > 0) {
			return fmt.Errorf("%w: a broadcast is sealed in an end-to-end encrypted meeting, in clear in another", ErrBadBreakout)
		}
		if !allow() {
			return ErrBroadcastRate
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
