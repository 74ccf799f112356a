package auth

import "errors"

// Sentinel errors, mapped to API error codes by callers.
var (
	// ErrNotFound means no such record.
	ErrNotFound = errors.New("not found")
	// ErrEmailTaken means an account with that e-mail exists.
	ErrEmailTaken = errors.New("e-mail already registered")
	// ErrBadEmail means the e-mail address is not plausible.
	ErrBadEmail = errors.New("invalid e-mail address")
	// ErrWeakPassword means the password is too short or too long.
	ErrWeakPassword = errors.New("password does not meet the rules")
	// ErrBadCredentials means the e-mail or password is wrong; which one is
	// not said.
	ErrBadCredentials = errors.New("wrong e-mail or password")
	// ErrBadCode means a two-factor or recovery code is wrong or used.
	ErrBadCode = errors.New("wrong or used code")
	// ErrChallengeExpired means the two-factor step took too long or had
	// too many wrong codes; sign in again.
	ErrChallengeExpired = errors.New("sign-in expired")
	// ErrRateLimited means too many attempts; wait and retry.
	ErrRateLimited = errors.New("too many attempts")
	// ErrSignUpClosed means the organisation does not allow sign-up.
	ErrSignUpClosed = errors.New("sign-up is closed")
	// ErrNoSession means the session token is missing, unknown or expired.
	ErrNoSession = errors.New("not signed in")
	// ErrForbidden means the account may not do this.
	ErrForbidden = errors.New("not allowed")
	// ErrTOTPNotPending means there is no enrolment to confirm.
	ErrTOTPNotPending = errors.New("no two-factor enrolment in progress")
	// ErrTOTPEnabled means two-factor is already on.
	ErrTOTPEnabled = errors.New("two-factor already enabled")
	// ErrTOTPDisabled means two-factor is not on.
	ErrTOTPDisabled = errors.New("two-factor not enabled")
	// ErrBadName means the account name is not acceptable.
	ErrBadName = errors.New("invalid name")
	// ErrKeyInUse means a server or another command holds the data
	// directory's key, so it cannot be rotated now.
	ErrKeyInUse = errors.New("the data directory is in use by a running server or command")
)

// ErrSuspended means the account is suspended; a *SuspendedError carries
// the reason given.
var ErrSuspended = errors.New("account suspended")

// SuspendedError is a sign-in refused because the account is suspended,
// with the reason the administrator or operator gave.
type SuspendedError struct{ Reason string }

func (e *SuspendedError) Error() string { return "account suspended: " + e.Reason }

// Is makes errors.Is(err, ErrSuspended) hold.
func (e *SuspendedError) Is(target error) bool { return target == ErrSuspended }
