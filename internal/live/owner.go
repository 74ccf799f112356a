package live

// ownedEnded is what the people in a meeting are told when the account
// that owns it is deleted: the meeting is gone from the store, and with
// it its owner's right to it, so it ends for everyone.
const ownedEnded = "This meeting ended: the account that owned it was deleted."

// endOwnedBy ends the live meetings an account owned, when the account
// was deleted (EndAccount with reason account_deleted).
func (h *Hub) endOwnedBy(rooms []*Room, userID string) {
	for _, r := range rooms {
		r.mu.Lock()
		if !r.closed && r.core.OwnerID() == userID {
			r.endLocked("", ownedEnded)
			r.log.Info("meeting ended: its owner's account was deleted")
		}
		r.mu.Unlock()
	}
}
