package auth

import (
	"context"
	"crypto/subtle"
	"sync"
	"time"
)

// Ceremonies under way: passkey ceremonies (passkeys.go), single sign-on
// flows (ssoflow.go) and sign-ins waiting for their second step
// (challenges.go). They are kept in the store when it is a
// CeremonyStore, so that any node of a cluster can finish a ceremony
// another began (no sticky sessions); otherwise in this process's memory.
// Either way a ceremony is found by the hash of the token the browser
// holds (never the token), is used once (taken out as it is found), is
// bound to what began it, and expires.

// Ceremony families: each has its own bound on how many are kept.
const (
	FamilyPasskey = "passkey"
	FamilySSO     = "sso"
	FamilySignIn  = "signin"
)

// Ceremony is a passkey ceremony or single sign-on flow as stored.
type Ceremony struct {
	// Key is the SHA-256 of the ceremony's token (a passkey flow token,
	// a single sign-on state).
	Key    []byte
	Family string
	// Bind is the SHA-256 of the browser's binding cookie: only a take
	// with the same binding finds the ceremony (and a take with another
	// leaves it in place). Empty: the token alone finds it, and what it
	// is bound to is checked in Data once taken.
	Bind []byte
	// Data is what the ceremony needs to finish, as JSON.
	Data      []byte
	ExpiresAt time.Time
	// Attempts counts its failed answers (a sign-in's wrong codes).
	Attempts int
}

// CeremonyStore keeps ceremonies under way. internal/store implements it.
type CeremonyStore interface {
	// PutCeremony stores c. Expired ceremonies go first; then, while max
	// or more of c's family are kept, the oldest give way (their answers
	// fail as expired), so that ceremonies begun and abandoned cannot
	// shut the door on everyone else.
	PutCeremony(ctx context.Context, c Ceremony, max int, now time.Time) error
	// TakeCeremony deletes and returns, in one step, the ceremony of key
	// in family whose Bind is bind: ErrNotFound when there is none (never
	// put, taken already, or bound to another browser). The caller checks
	// its expiry.
	TakeCeremony(ctx context.Context, family string, key, bind []byte) (Ceremony, error)
	// PeekCeremony returns the ceremony of key in family without taking
	// it; ErrNotFound.
	PeekCeremony(ctx context.Context, family string, key []byte) (Ceremony, error)
	// CountCeremonyAttempt adds a failed attempt to the ceremony of key
	// in family, in one step, and returns how many it has had;
	// ErrNotFound when it is gone.
	CountCeremonyAttempt(ctx context.Context, family string, key []byte) (int, error)
}

// ceremonyStore is st as a CeremonyStore, or one in this process's memory.
func ceremonyStore(st Store) CeremonyStore {
	if c, ok := st.(CeremonyStore); ok {
		return c
	}
	return &memCeremonies{m: map[string]Ceremony{}}
}

// memCeremonies keeps ceremonies in memory (a store without the table):
// a cluster then needs sticky sessions.
type memCeremonies struct {
	mu sync.Mutex
	m  map[string]Ceremony // by family and key
}

func (m *memCeremonies) PutCeremony(_ context.Context, c Ceremony, max int, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for k, x := range m.m {
		if now.After(x.ExpiresAt) {
			delete(m.m, k)
		} else if x.Family == c.Family {
			n++
		}
	}
	for ; n >= max; n-- {
		var oldest string
		for k, x := range m.m {
			if x.Family == c.Family && (oldest == "" || x.ExpiresAt.Before(m.m[oldest].ExpiresAt)) {
				oldest = k
			}
		}
		delete(m.m, oldest)
	}
	m.m[c.Family+":"+string(c.Key)] = c
	return nil
}

func (m *memCeremonies) TakeCeremony(_ context.Context, family string, key, bind []byte) (Ceremony, error) {
	k := family + ":" + string(key)
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.m[k]
	if !ok || subtle.ConstantTimeCompare(c.Bind, bind) != 1 {
		return Ceremony{}, ErrNotFound
	}
	delete(m.m, k)
	return c, nil
}

func (m *memCeremonies) PeekCeremony(_ context.Context, family string, key []byte) (Ceremony, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.m[family+":"+string(key)]
	if !ok {
		return Ceremony{}, ErrNotFound
	}
	return c, nil
}

func (m *memCeremonies) CountCeremonyAttempt(_ context.Context, family string, key []byte) (int, error) {
	k := family + ":" + string(key)
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.m[k]
	if !ok {
		return 0, ErrNotFound
	}
	c.Attempts++
	m.m[k] = c
	return c.Attempts, nil
}
