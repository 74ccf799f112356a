package auth

import (
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/kaigi-meet/kaigi/internal/meeting"
)

// OrgRole is an account's role in the organisation.
type OrgRole string

// The organisation roles.
const (
	RoleAdmin  OrgRole = "admin"
	RoleMember OrgRole = "member"
)

// User is an account as stored.
type User struct {
	ID           string
	Email        string // lower case
	Name         string
	Role         OrgRole
	PasswordHash string
	// TOTPSecret is the sealed secret while two-factor is on;
	// TOTPPending the sealed secret of an enrolment not yet confirmed.
	TOTPSecret  []byte
	TOTPPending []byte
	// TOTPLastStep is the last time step a code was accepted for: a code
	// is never accepted twice.
	TOTPLastStep int64
	CreatedAt    time.Time
	// SuspendedAt is when an administrator or the operator suspended the
	// account (zero: it is not), and SuspendReason the reason they gave,
	// which the owner is shown when they sign in.
	SuspendedAt   time.Time
	SuspendReason string
	// EmailVerified says the e-mail was not typed by whoever made the
	// account: an administrator or the operator made it, or the
	// organisation's provider did with an e-mail it verified. Only such an
	// account is linked to a single sign-on identity by e-mail alone
	// (ssoflow.go): anyone may sign up with someone else's address.
	EmailVerified bool
}

// Suspended reports whether the account is suspended.
func (u User) Suspended() bool { return !u.SuspendedAt.IsZero() }

// TwoFactor reports whether the account has two-factor authentication on.
func (u User) TwoFactor() bool { return len(u.TOTPSecret) > 0 }

// Org is the organisation's policy. One Kaigi server serves one
// organisation.
type Org struct {
	Name string `json:"name"`
	// Require2FA: every account must have two-factor authentication; until
	// it does, it can only enrol.
	Require2FA bool `json:"require2FA"`
	// AllowSignUp: anyone who reaches the server may create an account.
	// When off, admins create accounts.
	AllowSignUp bool `json:"allowSignUp"`
	// MeetingDefaults are the settings new meetings start with.
	MeetingDefaults meeting.Settings `json:"meetingDefaults"`
	// Country refuses joiners of every meeting by the country of their
	// address (off unless a GeoIP database is configured); a meeting's own
	// rule can only narrow it.
	Country meeting.CountryRule `json:"country"`
	// Regions, if named, are the only regions where meetings are held
	// (meeting/regions.go); a meeting's own can only narrow them.
	Regions meeting.Regions `json:"regions,omitempty"`
	// Retention is how long old records are kept (retention.go); nil
	// when saving keeps the current limits.
	Retention *Retention `json:"retention,omitempty"`
	// RequirePasskeys: every account must have a passkey; until it has,
	// it can only register one (passkeys.go).
	RequirePasskeys bool `json:"requirePasskeys,omitempty"`
}

// DefaultOrg is a fresh server's policy: sign-up closed (the first account,
// which becomes the admin, is the exception), two-factor optional, and the
// product's safe meeting defaults.
func DefaultOrg() Org {
	r := DefaultRetention()
	return Org{Name: "Kaigi", MeetingDefaults: meeting.DefaultSettings(), Retention: &r}
}

// NeedsEnrollment reports whether the organisation requires two-factor
// and the account has none yet.
func (o Org) NeedsEnrollment(u User) bool { return o.Require2FA && !u.TwoFactor() }

// normaliseEmail lower-cases and checks an e-mail address.
func normaliseEmail(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || len(s) > 254 || !strings.Contains(s[strings.LastIndex(s, "@"):], ".") {
		return "", fmt.Errorf("%w: %q", ErrBadEmail, s)
	}
	return s, nil
}

// normaliseName checks an account's name with the same rules as display
// names in meetings.
func normaliseName(s string) (string, error) {
	n, err := meeting.NormaliseName(s)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadName, err)
	}
	return n, nil
}
