package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Sign-ins waiting for their second step (a code or a passkey after the
// password), kept in the ceremony store (ceremonies.go) like passkey
// ceremonies, so that the second step may reach any node: found by the
// hash of the challenge token the password step returned, lasting
// challengeLifetime, ended by challengeAttempts wrong answers (counted in
// the store, in one step each), and taken once by the answer that
// completes it.

const (
	challengeLifetime = 5 * time.Minute
	challengeAttempts = 5
	// maxChallenges bounds the sign-ins kept waiting (each needed the
	// right password); beyond it the oldest give way.
	maxChallenges = 100000
)

// challenge is a sign-in waiting for its second factor.
type challenge struct {
	UserID string `json:"user"`
}

// putChallenge keeps a sign-in of userID waiting for its second step and
// returns its token.
func (s *Service) putChallenge(ctx context.Context, userID string) (string, error) {
	raw, err := json.Marshal(challenge{UserID: userID})
	if err != nil {
		return "", err
	}
	token := newToken()
	now := s.now()
	err = s.ceremonies.PutCeremony(ctx, Ceremony{Key: tokenHash(token), Family: FamilySignIn, Data: raw,
		ExpiresAt: now.Add(challengeLifetime)}, maxChallenges, now)
	return token, err
}

// pendingSignIn returns the sign-in challenge kept under key (a token's
// hash) and its account, for the second step. A challenge past its time
// is ErrChallengeExpired. An account suspended since the password step
// ends the challenge, and no session is made (its holder gave the
// password, so may learn why).
func (s *Service) pendingSignIn(ctx context.Context, key string) (*challenge, User, error) {
	stored, err := s.ceremonies.PeekCeremony(ctx, FamilySignIn, []byte(key))
	if errors.Is(err, ErrNotFound) {
		return nil, User{}, ErrChallengeExpired
	}
	if err != nil {
		return nil, User{}, err
	}
	if s.now().After(stored.ExpiresAt) || stored.Attempts >= challengeAttempts {
		return nil, User{}, ErrChallengeExpired
	}
	var c challenge
	if err := json.Unmarshal(stored.Data, &c); err != nil {
		return nil, User{}, fmt.Errorf("read a sign-in challenge: %w", err)
	}
	u, err := s.store.UserByID(ctx, c.UserID)
	if err != nil {
		return nil, User{}, err
	}
	if u.Suspended() {
		s.endChallenge(ctx, key)
		s.log.Info("sign-in refused: account suspended", "user", u.ID)
		return nil, User{}, &SuspendedError{Reason: u.SuspendReason}
	}
	return &c, u, nil
}

// failedChallenge counts a wrong second step against the challenge of
// key: the last one allowed ends it (ErrChallengeExpired), else nil.
func (s *Service) failedChallenge(ctx context.Context, key string) error {
	n, err := s.ceremonies.CountCeremonyAttempt(ctx, FamilySignIn, []byte(key))
	if errors.Is(err, ErrNotFound) {
		return ErrChallengeExpired
	}
	if err != nil {
		return err
	}
	if n >= challengeAttempts {
		s.endChallenge(ctx, key)
		return ErrChallengeExpired
	}
	return nil
}

// endChallenge takes the challenge of key out and reports whether it was
// still there (and not expired): of two answers completing it at once,
// one makes a session.
func (s *Service) endChallenge(ctx context.Context, key string) bool {
	c, err := s.ceremonies.TakeCeremony(ctx, FamilySignIn, []byte(key), nil)
	if err != nil && !errors.Is(err, ErrNotFound) {
		s.log.Error("end a sign-in challenge", "err", err)
	}
	return err == nil && !s.now().After(c.ExpiresAt) && c.Attempts < challengeAttempts
}
