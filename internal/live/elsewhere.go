package live

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/sfu"
)

// MediaElsewhere is a Conn whose participant's PeerConnection is on
// another node of the cluster (the node their socket entered by: see
// signal/entry.go). The room makes no SFU peer for such a participant:
// it tells the connection to open one in the meeting's router on that
// node once they are admitted, and sends it the host's blocks, which the
// peer there enforces. The connection's ending ends that peer. Rooms call
// its methods under their lock: none may block or call back into a room.
type MediaElsewhere interface {
	// MediaElsewhere reports whether this connection's media is on
	// another node (false: the room makes the peer here as for a local
	// socket).
	MediaElsewhere() bool
	// OpenMedia opens the participant's peer in the router named key
	// (MediaKey) on their node, with what they may forward (false: the
	// SFU drops that source) and whether they may publish a screen, as
	// SetMediaBlocks says, so that the peer never opens without them.
	OpenMedia(key string, pid meeting.ParticipantID, may meeting.MediaState, shareScreen bool)
	// SetMediaBlocks sends what the participant may forward (false: the
	// SFU drops that source) and whether they may publish a screen.
	SetMediaBlocks(may meeting.MediaState, shareScreen bool)
}

// mediaElsewhere returns conn as a MediaElsewhere if its media is on
// another node.
func mediaElsewhere(conn Conn) (MediaElsewhere, bool) {
	el, ok := conn.(MediaElsewhere)
	if !ok || !el.MediaElsewhere() {
		return nil, false
	}
	return el, true
}

// AdmittedElsewhere reports whether the participant is admitted on conn,
// their current connection, with their media on another node (so with no
// peer here: Peer returns nil).
func (r *Room) AdmittedElsewhere(pid meeting.ParticipantID, conn Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.members[pid]
	if m == nil || m.conn != conn || m.waiting || m.peer != nil {
		return false
	}
	_, ok := mediaElsewhere(conn)
	return ok
}

// MediaKey names the room's SFU router across the cluster: the meeting's
// ID, and a breakout room's number after a slash (as its router is named).
func (r *Room) MediaKey() string {
	if r.parent != nil {
		return fmt.Sprintf("%s/%d", r.id, r.number)
	}
	return string(r.id)
}

// openElsewhereLocked opens an admitted participant's peer on their
// connection's node, if it is elsewhere; it reports whether it was.
func (r *Room) openElsewhereLocked(pid meeting.ParticipantID, conn Conn) bool {
	el, ok := mediaElsewhere(conn)
	if !ok {
		return false
	}
	el.OpenMedia(r.MediaKey(), pid, r.core.MayForward(pid), r.core.Can(pid, meeting.ActShareScreen))
	return true
}

// blocksElsewhereLocked sends a participant's blocks to their peer's node,
// if their media is elsewhere; it reports whether it was.
func (r *Room) blocksElsewhereLocked(pid meeting.ParticipantID) bool {
	m := r.members[pid]
	if m == nil || m.peer != nil || m.conn == nil || m.waiting {
		return false
	}
	el, ok := mediaElsewhere(m.conn)
	if !ok {
		return false
	}
	el.SetMediaBlocks(r.core.MayForward(pid), r.core.Can(pid, meeting.ActShareScreen))
	return true
}

// MediaRouter returns the router named key (Room.MediaKey) of a meeting
// live here, or nil.
func (h *Hub) MediaRouter(key string) *sfu.Router {
	if r := h.roomByKey(key); r != nil {
		return r.router
	}
	return nil
}

// roomByKey returns the room named key (Room.MediaKey) of a meeting live
// here, or nil.
func (h *Hub) roomByKey(key string) *Room {
	id, number, breakout := strings.Cut(key, "/")
	h.mu.Lock()
	main := h.rooms[meeting.ID(id)]
	h.mu.Unlock()
	if main == nil || !breakout {
		return main
	}
	n, err := strconv.Atoi(number)
	if err != nil {
		return nil
	}
	main.mu.Lock()
	defer main.mu.Unlock()
	if b := main.breakouts; b != nil {
		for _, room := range b.rooms {
			if room.number == n {
				return room
			}
		}
	}
	return nil
}

// MediaElsewhereOn reports whether the room named key (Room.MediaKey)
// has an admitted member, on their current connection, whose media is on
// another node and for which on says yes: the meeting's node relays a
// room's media only to nodes that hold such members.
func (h *Hub) MediaElsewhereOn(key string, on func(MediaElsewhere) bool) bool {
	r := h.roomByKey(key)
	if r == nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.members {
		if m.conn == nil || m.waiting || m.peer != nil {
			continue
		}
		if el, ok := mediaElsewhere(m.conn); ok && on(el) {
			return true
		}
	}
	return false
}

// MediaElsewhereFor reports whether participant pid is an admitted
// member of the room named key (Room.MediaKey), on their current
// connection, whose media is on another node and for which on says yes:
// the meeting's node takes relayed tracks only of such members, from the
// node their media is on (signal's mediaPublisher).
func (h *Hub) MediaElsewhereFor(key string, pid meeting.ParticipantID, on func(MediaElsewhere) bool) bool {
	r := h.roomByKey(key)
	if r == nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.members[pid]
	if m == nil || m.conn == nil || m.waiting || m.peer != nil {
		return false
	}
	el, ok := mediaElsewhere(m.conn)
	return ok && on(el)
}

// Connections calls f, outside the rooms' locks, with each meeting live
// here, its own regions (as its room has them, changed or not by its
// hosts), and the connections of everyone in it or waiting for it, in
// every room of the meeting, for which keep says yes (called under a
// room's lock: it must not block). Meetings with none are left out.
func (h *Hub) Connections(keep func(Conn) bool, f func(id meeting.ID, own *meeting.Regions, conns []Conn)) {
	for _, main := range h.liveRooms() {
		var conns []Conn
		collect := func(r *Room) {
			for _, m := range r.members {
				if m.conn != nil && keep(m.conn) {
					conns = append(conns, m.conn)
				}
			}
		}
		main.mu.Lock()
		own := main.core.Settings().Regions
		collect(main)
		if b := main.breakouts; b != nil {
			for _, room := range b.rooms {
				room.mu.Lock()
				collect(room)
				room.mu.Unlock()
			}
		}
		main.mu.Unlock()
		if len(conns) > 0 {
			f(main.id, own, conns)
		}
	}
}

// regionsChangedLocked tells Options.RegionsChanged that the room's
// regions are no longer before.
func (r *Room) regionsChangedLocked(before *meeting.Regions) {
	if f := r.hub.opts.RegionsChanged; f != nil && !reflect.DeepEqual(before, r.core.Settings().Regions) {
		go f(r.id)
	}
}
