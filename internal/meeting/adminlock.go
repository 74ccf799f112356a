package meeting

// SetLocked locks or unlocks the meeting at an administrator's request,
// as a host's lock does (nobody new may join; the owner always may). No
// participant acts, so no role is checked. It reports whether the lock
// changed.
func (m *Meeting) SetLocked(locked bool) bool {
	if m.rec.Settings.Locked == locked {
		return false
	}
	m.rec.Settings.Locked = locked
	return true
}
