package live

import (
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/wire"
)

// CloseForMove closes the meeting's room on this node because it moves to
// another one (an administrator's move, its placement already changed):
// everyone connected, in the main room, its waiting room and its breakout
// rooms, is closed as at a server restart (wire.ClosedShutdown, message),
// so that clients resume at once, through the node they reached, into the
// room the new node opens. Unlike an end, who is admitted stays kept
// (kept.go): the new node restores them from the store, same participant,
// same role, no waiting room, and the end-to-end encrypted group goes on
// from the members' own claims (e2ee.go), as after a node's loss. It
// reports whether the meeting was live here.
func (h *Hub) CloseForMove(id meeting.ID, message string) bool {
	return h.withLiveRoom(id, func(r *Room) {
		reason := Closed(wire.ClosedShutdown, message)
		if b := r.breakouts; b != nil {
			for _, room := range b.rooms {
				room.mu.Lock()
				for _, m := range room.members {
					if m.conn != nil {
						m.conn.Close(reason)
					}
				}
				room.mu.Unlock()
			}
		}
		for _, m := range r.members {
			if m.conn != nil {
				m.conn.Close(reason)
			}
		}
		r.log.Info("meeting moves to another node: its room here closes, its members kept")
		r.closeLocked()
	})
}
