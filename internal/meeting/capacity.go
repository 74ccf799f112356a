package meeting

import "github.com/kaigi-meet/kaigi/internal/policy"

// The waiting room has limits of its own, apart from the participant
// limit, so that people who only know the link cannot fill the meeting by
// parking in it.
const (
	// DefaultMaxWaiting is the most people waiting at once when Options
	// leaves it zero.
	DefaultMaxWaiting = 100
	// DefaultMaxWaitingPerAddress is the most guests from one address (one
	// IPv6 /64) waiting at once when Options leaves it zero. Signed-in
	// people are counted per account instead.
	DefaultMaxWaitingPerAddress = 5
)

// exempt reports whether capacity limits never keep this person out: the
// meeting's owner, and anyone signed in to the account of a host or
// co-host already in the meeting (their second device).
func (m *Meeting) exempt(id Identity) bool {
	if m.IsOwner(id) {
		return true
	}
	if id.UserID == "" {
		return false
	}
	for _, p := range m.participants {
		if p.Role.moderates() && p.Identity.UserID == id.UserID {
			return true
		}
	}
	return false
}

// hasRoom reports whether one more person may be admitted.
func (m *Meeting) hasRoom(id Identity) bool {
	return len(m.participants) < m.max || m.exempt(id)
}

// mayWait checks the waiting room's limits for one more person.
func (m *Meeting) mayWait(id Identity) error {
	if m.exempt(id) {
		return nil
	}
	if len(m.waiting) >= m.maxWaiting {
		return ErrWaitingRoomFull
	}
	same := 0
	for _, p := range m.waiting {
		if sameSource(p.Identity, id) {
			same++
		}
	}
	if same >= m.maxWaitingPerSource {
		return ErrTooManyWaiting
	}
	return nil
}

// sameSource: the same account, or for guests the same address (IPv6 /64).
func sameSource(a, b Identity) bool {
	if a.UserID != "" || b.UserID != "" {
		return a.UserID == b.UserID
	}
	return a.Addr.IsValid() && policy.AddressKey(a.Addr) == policy.AddressKey(b.Addr)
}
