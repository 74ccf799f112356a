package meeting

// Banned reports whether Join would refuse this identity with ErrBanned:
// a ban on its account, its browser, or, for a guest, its network; never
// the meeting's owner. Nothing else that Join checks (lock, passcode,
// sign-in, capacity) enters into it, so that a pre-join page can tell a
// banned person before their camera turns on without learning anything
// about the meeting.
func (m *Meeting) Banned(id Identity) bool {
	return !m.IsOwner(id) && m.banned(id)
}
