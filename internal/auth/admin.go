package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kaigi-meet/kaigi/internal/audit"
	"github.com/kaigi-meet/kaigi/internal/meeting"
)

// Actor is who takes an administrative action on an account: an
// organisation admin (through the web or API) or the server's operator
// (through `kaigi admin` on the data directory).
type Actor struct {
	admin *User
}

// ByAdmin is an action taken by the signed-in account u, which must be an
// admin.
func ByAdmin(u User) Actor { return Actor{admin: &u} }

// ByOperator is an action taken by the server's operator on the command
// line, who is trusted.
var ByOperator = Actor{}

// entryOn is a's audit entry of action on account u at t, with reason.
func (a Actor) entryOn(t time.Time, action audit.Action, u User, reason string) audit.Entry {
	e := a.entry()
	e.Time, e.Action, e.SubjectKind, e.SubjectID, e.Reason = t, action, audit.SubjectUser, u.ID, reason
	return e
}

func (a Actor) entry() audit.Entry {
	if a.admin == nil {
		return audit.Entry{ActorKind: audit.ActorOperator}
	}
	return audit.Entry{ActorKind: audit.ActorUser, ActorID: a.admin.ID}
}

// MaxReason is the longest reason an administrator may give, in
// characters.
const MaxReason = 500

// ErrReasonRequired means an action that affects someone was taken
// without the reason they are to be shown.
var ErrReasonRequired = errors.New("a reason is required")

// ErrLastAdmin means the action would leave the organisation without an
// administrator who can sign in.
var ErrLastAdmin = errors.New("the last administrator")

// checkReason trims a reason and checks it: required unless optional,
// at most MaxReason characters, and line by line (newlines are allowed)
// the display-name rule, meeting.HiddenCharacter: no control or format
// characters (bidirectional controls, zero-width characters), no line
// or paragraph separators. The reason is shown to the person affected
// and to other admins, who must see what it says.
func checkReason(reason string, optional bool) (string, error) {
	reason = strings.TrimSpace(reason)
	switch {
	case reason == "" && !optional:
		return "", ErrReasonRequired
	case !utf8.ValidString(reason) || utf8.RuneCountInString(reason) > MaxReason:
		return "", fmt.Errorf("%w: at most %d characters", ErrReasonRequired, MaxReason)
	}
	for line := range strings.SplitSeq(reason, "\n") {
		if r, ok := meeting.HiddenCharacter(line); ok {
			return "", fmt.Errorf("%w: no control or format characters (%U)", ErrReasonRequired, r)
		}
	}
	return reason, nil
}

// target checks that by may act on the account id and returns it: an
// admin (not on their own account), or the operator.
func (s *Service) target(ctx context.Context, by Actor, id string) (User, error) {
	if by.admin != nil {
		if by.admin.Role != RoleAdmin {
			return User{}, ErrForbidden
		}
		if by.admin.ID == id {
			return User{}, fmt.Errorf("%w: not on your own account", ErrForbidden)
		}
	}
	return s.store.UserByID(ctx, id)
}

// guard is what the store checks, in the transaction of an action by a
// on an account: that an admin who can sign in remains when keepAdmin,
// and that an acting admin (not the operator, not an owner deleting
// their own account) still is one. Checked before the transaction, two
// admins acting on each other at once could both pass.
func (a Actor) guard(subject string, keepAdmin bool) Guard {
	g := Guard{KeepAdmin: keepAdmin}
	if a.admin != nil && a.admin.ID != subject {
		g.Admin = a.admin.ID
	}
	return g
}

// SuspendUser suspends the account id with a reason: its sessions end at
// once, it is taken out of every live meeting, and signing in tells its
// owner the reason until it is reinstated.
func (s *Service) SuspendUser(ctx context.Context, by Actor, id, reason string) (User, error) {
	reason, err := checkReason(reason, false)
	if err != nil {
		return User{}, err
	}
	u, err := s.target(ctx, by, id)
	if err != nil {
		return User{}, err
	}
	if u.Suspended() {
		return u, nil
	}
	now := s.now().UTC()
	rec := by.entryOn(now, audit.UserSuspended, u, reason)
	if err := s.store.SetSuspended(ctx, u.ID, now, reason, by.guard(u.ID, true), rec); err != nil {
		return User{}, err
	}
	s.log.Info("account suspended", "user", u.ID, "by", rec.ActorKind, "admin", rec.ActorID)
	s.endLive(u.ID, "account_suspended", "An administrator suspended your account: "+reason)
	u.SuspendedAt, u.SuspendReason = now, reason
	return u, nil
}

// ReinstateUser lifts a suspension; the reason is optional. Any session
// of the account (one made in a race with the suspension) ends: its owner
// signs in again.
func (s *Service) ReinstateUser(ctx context.Context, by Actor, id, reason string) (User, error) {
	reason, err := checkReason(reason, true)
	if err != nil {
		return User{}, err
	}
	u, err := s.target(ctx, by, id)
	if err != nil || !u.Suspended() {
		return u, err
	}
	rec := by.entryOn(s.now(), audit.UserReinstated, u, reason)
	if err := s.store.SetSuspended(ctx, u.ID, time.Time{}, "", by.guard(u.ID, false), rec); err != nil {
		return User{}, err
	}
	s.log.Info("account reinstated", "user", u.ID, "by", rec.ActorKind, "admin", rec.ActorID)
	u.SuspendedAt, u.SuspendReason = time.Time{}, ""
	return u, nil
}

// ResetTwoFactor turns the account's two-factor off (for someone who lost
// their authenticator and their recovery codes); they can sign in with
// their password alone and must enrol again where the organisation
// requires it.
func (s *Service) ResetTwoFactor(ctx context.Context, by Actor, id, reason string) (User, error) {
	reason, err := checkReason(reason, false)
	if err != nil {
		return User{}, err
	}
	u, err := s.target(ctx, by, id)
	if err != nil {
		return User{}, err
	}
	// A passkey is a second factor too: the reset removes them
	// (passkeys.go), the way back in for an owner who lost theirs.
	if n, err := s.CountPasskeys(ctx, u); err != nil {
		return User{}, err
	} else if !u.TwoFactor() && len(u.TOTPPending) == 0 && n == 0 {
		return u, ErrTOTPDisabled
	}
	rec := by.entryOn(s.now(), audit.UserTwoFactorReset, u, reason)
	if err := s.store.ResetTwoFactor(ctx, u.ID, rec); err != nil {
		return User{}, err
	}
	s.log.Info("two-factor reset", "user", u.ID, "by", rec.ActorKind, "admin", rec.ActorID)
	u.TOTPSecret, u.TOTPPending = nil, nil
	return u, nil
}

// DeleteUser deletes the account id with its sessions, recovery codes and
// meetings, and takes it out of every live meeting. The audit log keeps
// that it happened, by whom and why, and the account's ID only.
func (s *Service) DeleteUser(ctx context.Context, by Actor, id, reason string) error {
	reason, err := checkReason(reason, false)
	if err != nil {
		return err
	}
	u, err := s.target(ctx, by, id)
	if err != nil {
		return err
	}
	return s.deleteAccount(ctx, u, by, reason, "An administrator deleted your account: "+reason)
}

// DeleteOwnAccount deletes the signed-in account after checking its
// password (and a two-factor or recovery code when it has two-factor on).
func (s *Service) DeleteOwnAccount(ctx context.Context, u User, password, code string) error {
	u, err := s.store.UserByID(ctx, u.ID)
	if err != nil {
		return err
	}
	if u, err = s.checkOwner(ctx, u, password, code); err != nil {
		return err
	}
	return s.deleteAccount(ctx, u, Actor{admin: &u}, "", "Your account was deleted.")
}

// deleteAccount deletes u on by's word (by is u itself when its owner
// deletes it), telling what is live on it message.
func (s *Service) deleteAccount(ctx context.Context, u User, by Actor, reason, message string) error {
	rec := by.entryOn(s.now(), audit.UserDeleted, u, reason)
	rec.Details = map[string]string{"role": string(u.Role)}
	if err := s.store.DeleteUser(ctx, u.ID, by.guard(u.ID, true), rec); err != nil {
		return err
	}
	s.log.Info("account deleted", "user", u.ID, "by", rec.ActorKind, "admin", rec.ActorID)
	s.endLive(u.ID, "account_deleted", message)
	return nil
}

// UserByEmail finds an account for the operator's commands.
func (s *Service) UserByEmail(ctx context.Context, email string) (User, error) {
	email, err := normaliseEmail(email)
	if err != nil {
		return User{}, err
	}
	return s.store.UserByEmail(ctx, email)
}
