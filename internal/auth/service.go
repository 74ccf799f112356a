package auth

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kaigi-meet/kaigi/internal/audit"
	"github.com/kaigi-meet/kaigi/internal/policy"
)

// Options configure a Service.
type Options struct {
	Store  Store
	Sealer *Sealer
	// Hash are the argon2id costs; zero means DefaultHashParams.
	Hash   HashParams
	Limits Limits // zero means DefaultLimits
	Logger *slog.Logger
	Now    func() time.Time
	// SessionLifetime bounds a session from sign-in (default 30 days);
	// SessionIdle ends one unused for that long (default 14 days).
	SessionLifetime, SessionIdle time.Duration
	// EndParticipation, if set, is told when an account's sessions were
	// all ended (signed out everywhere, suspended, deleted), so that what
	// is live on them (meeting sockets) ends too; reason is the code
	// clients get (signed_out, account_suspended, account_deleted) and
	// message the words for the person.
	EndParticipation func(userID, reason, message string)
	// AuditMinimumDays is the legal minimum for audit entries, which no
	// organisation's retention may undercut (retention.go); zero means
	// DefaultAuditMinimumDays.
	AuditMinimumDays int
}

// Service runs the account flows.
type Service struct {
	store  Store
	sealer *Sealer
	hash   HashParams
	log    *slog.Logger
	now    func() time.Time
	life   time.Duration
	idle   time.Duration
	// endParticipation is Options.EndParticipation.
	endParticipation func(userID, reason, message string)
	// auditFloor is Options.AuditMinimumDays.
	auditFloor int

	signInIP, signInEmail, codeUser, signUpIP *policy.Limiter
	// codeDevice is wrong two-factor codes per known device of an account
	// (devices.go), with codeUser's numbers; codeLocks make each code
	// check and its count one step.
	codeDevice *policy.Limiter
	codeLocks  keyedLocks
	// reauth counts wrong current passwords of signed-in accounts (changing
	// the password, turning two-factor off): only the session's holder can
	// spend it, so it may refuse before checking.
	reauth *policy.Limiter
	// strikes grows the hold for each wrong password beyond an account's
	// budget; held are the addresses serving such holds.
	strikes, held *policy.Backoff

	// hashing bounds concurrent argon2id runs: each takes Hash.Memory.
	hashing chan struct{}
	hashes  atomic.Int64 // argon2id runs, for tests
	// firstUser serialises sign-ups so two can never both become the
	// first (admin) account.
	firstUser sync.Mutex

	// passkeys is the Store as a PasskeyStore (nil: it is not one, and
	// there are no passkeys); ceremonies keeps the passkey ceremonies,
	// single sign-on flows and sign-ins waiting for their second step
	// (ceremonies.go, challenges.go).
	passkeys   PasskeyStore
	ceremonies CeremonyStore

	// sso is the Store as an SSOStore (nil: no single sign-on); ssoState
	// the providers read (ssoflow.go).
	sso      SSOStore
	ssoState *ssoState
}

const (
	// dummyPassword's hash makes sign-in for an unknown e-mail cost as much
	// as for a known one, so timing does not tell which accounts exist.
	dummyPassword = "kaigi-timing-equaliser"
)

// NewService returns a Service.
func NewService(o Options) *Service {
	if o.Hash == (HashParams{}) {
		o.Hash = DefaultHashParams
	}
	if o.Limits == (Limits{}) {
		o.Limits = DefaultLimits
	}
	if o.Limits.FailureHold == 0 {
		o.Limits.FailureHold, o.Limits.FailureHoldMax, o.Limits.FailureForget = DefaultLimits.FailureHold, DefaultLimits.FailureHoldMax, DefaultLimits.FailureForget
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SessionLifetime == 0 {
		o.SessionLifetime = 30 * 24 * time.Hour
	}
	if o.SessionIdle == 0 {
		o.SessionIdle = 14 * 24 * time.Hour
	}
	if o.AuditMinimumDays == 0 {
		o.AuditMinimumDays = DefaultAuditMinimumDays
	}
	return &Service{
		store: o.Store, sealer: o.Sealer, hash: o.Hash, log: o.Logger, now: o.Now,
		life: o.SessionLifetime, idle: o.SessionIdle, endParticipation: o.EndParticipation, auditFloor: o.AuditMinimumDays,
		signInIP:    policy.NewLimiter(o.Limits.SignInPerIP, o.Now),
		signInEmail: policy.NewLimiter(o.Limits.SignInPerEmail, o.Now),
		codeUser:    policy.NewLimiter(o.Limits.CodePerUser, o.Now),
		codeDevice:  policy.NewLimiter(o.Limits.CodePerUser, o.Now),
		signUpIP:    policy.NewLimiter(o.Limits.SignUpPerIP, o.Now),
		reauth:      policy.NewLimiter(o.Limits.SignInPerEmail, o.Now),
		strikes:     policy.NewBackoff(o.Limits.FailureHold, o.Limits.FailureHoldMax, o.Limits.FailureForget, o.Now),
		held:        policy.NewBackoff(o.Limits.FailureHold, o.Limits.FailureHoldMax, o.Limits.FailureForget, o.Now),
		hashing:     make(chan struct{}, 4),
		passkeys:    passkeyStore(o.Store),
		ceremonies:  ceremonyStore(o.Store),
		sso:         ssoStore(o.Store),
		ssoState:    newSSOState(),
	}
}

func (s *Service) hashPassword(pw string) string {
	s.hashes.Add(1)
	s.hashing <- struct{}{}
	defer func() { <-s.hashing }()
	return HashPassword(pw, s.hash)
}

func (s *Service) verifyPassword(pw, hash string) (ok, stale bool, err error) {
	s.hashes.Add(1)
	s.hashing <- struct{}{}
	defer func() { <-s.hashing }()
	return VerifyPassword(pw, hash, s.hash)
}

// SignUp creates an account and signs it in. The first account on a
// server becomes the organisation's admin; after that, sign-up must be
// open. Everything that can refuse it cheaply is checked before the
// password is hashed, so refused sign-ups cost the server almost nothing.
func (s *Service) SignUp(ctx context.Context, email, name, password, ip string) (User, string, error) {
	if !s.signUpIP.Allow(addressKey(ip)) {
		return User{}, "", ErrRateLimited
	}
	email, err := normaliseEmail(email)
	if err != nil {
		return User{}, "", err
	}
	if name, err = normaliseName(name); err != nil {
		return User{}, "", err
	}
	if err := CheckPassword(password); err != nil {
		return User{}, "", err
	}
	if _, err := s.signUpRole(ctx); err != nil {
		return User{}, "", err
	}
	if _, err := s.store.UserByEmail(ctx, email); err == nil {
		return User{}, "", ErrEmailTaken
	} else if !errors.Is(err, ErrNotFound) {
		return User{}, "", err
	}
	hash := s.hashPassword(password)

	// Checked again under the lock: only one sign-up becomes the admin.
	s.firstUser.Lock()
	defer s.firstUser.Unlock()
	role, err := s.signUpRole(ctx)
	if err != nil {
		return User{}, "", err
	}
	// A member signing up is not an administrative action; the first
	// account becoming the administrator is, and the server did it.
	var by *audit.Entry
	if role == RoleAdmin {
		by = &audit.Entry{ActorKind: audit.ActorSystem, Reason: "the first account on a server becomes its administrator"}
	}
	u, err := s.createUser(ctx, email, name, hash, role, by)
	if err != nil {
		return User{}, "", err
	}
	token, err := s.newSession(ctx, u.ID)
	return u, token, err
}

// signUpRole is the role a sign-up would get now: admin for the first
// account, member while sign-up is open, else ErrSignUpClosed.
func (s *Service) signUpRole(ctx context.Context) (OrgRole, error) {
	n, err := s.store.CountUsers(ctx)
	if err != nil {
		return "", err
	}
	if n == 0 {
		return RoleAdmin, nil
	}
	org, err := s.store.Org(ctx)
	if err != nil {
		return "", err
	}
	if !org.AllowSignUp {
		return "", ErrSignUpClosed
	}
	if err := s.ssoOnlyRefuses(ctx, User{Role: RoleMember}); err != nil { // sso.go
		return "", err
	}
	return RoleMember, nil
}

// CreateUser is an admin creating an account.
func (s *Service) CreateUser(ctx context.Context, by User, email, name, password string, role OrgRole) (User, error) {
	if by.Role != RoleAdmin {
		return User{}, ErrForbidden
	}
	return s.createAccount(ctx, email, name, password, role, &audit.Entry{ActorKind: audit.ActorUser, ActorID: by.ID})
}

// CreateFromCommandLine creates an account for the operator of the server
// (`kaigi admin create-user`), who is trusted. The first account becomes
// admin whatever role says.
func (s *Service) CreateFromCommandLine(ctx context.Context, email, name, password string, role OrgRole) (User, error) {
	s.firstUser.Lock()
	defer s.firstUser.Unlock()
	n, err := s.store.CountUsers(ctx)
	if err != nil {
		return User{}, err
	}
	by := &audit.Entry{ActorKind: audit.ActorOperator}
	if n == 0 {
		role = RoleAdmin
		by.Reason = "the first account on a server becomes its administrator"
	}
	return s.createAccountLocked(ctx, email, name, password, role, by)
}

func (s *Service) createAccount(ctx context.Context, email, name, password string, role OrgRole, by *audit.Entry) (User, error) {
	s.firstUser.Lock()
	defer s.firstUser.Unlock()
	return s.createAccountLocked(ctx, email, name, password, role, by)
}

func (s *Service) createAccountLocked(ctx context.Context, email, name, password string, role OrgRole, by *audit.Entry) (User, error) {
	email, err := normaliseEmail(email)
	if err != nil {
		return User{}, err
	}
	if name, err = normaliseName(name); err != nil {
		return User{}, err
	}
	if err := CheckPassword(password); err != nil {
		return User{}, err
	}
	if role != RoleAdmin && role != RoleMember {
		return User{}, fmt.Errorf("%w: role %q", ErrForbidden, role)
	}
	return s.createUser(ctx, email, name, s.hashPassword(password), role, by)
}

// createUser stores a new account. by, when not nil, says who made it
// (actor and reason); the account's audit entry is completed from it and
// written with the account.
func (s *Service) createUser(ctx context.Context, email, name, hash string, role OrgRole, by *audit.Entry) (User, error) {
	u := User{ID: newID(), Email: email, Name: name, Role: role, PasswordHash: hash, CreatedAt: s.now().UTC()}
	// An administrator or the operator typed the e-mail: not whoever will
	// hold the account (ssoflow.go links only such accounts by e-mail).
	u.EmailVerified = by != nil && (by.ActorKind == audit.ActorUser || by.ActorKind == audit.ActorOperator)
	var rec *audit.Entry
	if by != nil {
		e := *by
		e.Time, e.Action, e.SubjectKind, e.SubjectID = u.CreatedAt, audit.UserCreated, audit.SubjectUser, u.ID
		e.Details = map[string]string{"role": string(role)}
		rec = &e
	}
	if err := s.store.CreateUser(ctx, u, rec); err != nil {
		return User{}, err
	}
	s.log.Info("account created", "user", u.ID, "role", u.Role)
	return u, nil
}

// SignInResult is where a sign-in stands: signed in (Token), or waiting
// for the second factor (Challenge).
type SignInResult struct {
	User      User
	Token     string
	Challenge string
	// Device, once signed in, is the browser's new known-device cookie
	// value (devices.go).
	Device string
	// Passkey, with Challenge, says the account has a passkey, which may
	// be the second factor instead of a code (passkeysignin.go).
	Passkey bool
	// Linked says a sign-in through the provider linked it to the
	// signed-in account that began it (ssolink.go).
	Linked bool
}

// SignIn checks an e-mail and password. Whether the e-mail exists is never
// told apart from a wrong password, in words or in time. Only the address
// is limited before the password is checked (see Limits): the right
// password is never refused because of others' wrong ones. devices are
// the request's known-device cookie values, renewed when this signs in.
func (s *Service) SignIn(ctx context.Context, email, password, ip string, devices ...string) (SignInResult, error) {
	if err := s.admitAddress(ip); err != nil {
		return SignInResult{}, err
	}
	email = strings.ToLower(strings.TrimSpace(email))
	u, err := s.store.UserByEmail(ctx, email)
	if errors.Is(err, ErrNotFound) {
		s.verifyPassword(password, s.dummyHash())
		s.failedPassword(email, ip)
		return SignInResult{}, ErrBadCredentials
	}
	if err != nil {
		return SignInResult{}, err
	}
	ok, stale, err := s.verifyPassword(password, u.PasswordHash)
	if err != nil {
		return SignInResult{}, fmt.Errorf("verify password of %s: %w", u.ID, err)
	}
	if !ok {
		s.log.Info("sign-in failed", "user", u.ID, "remote", ip)
		s.failedPassword(email, ip)
		return SignInResult{}, ErrBadCredentials
	}
	// Only someone with the password learns that, and why, the account
	// is suspended.
	if u.Suspended() {
		s.log.Info("sign-in refused: account suspended", "user", u.ID)
		return SignInResult{}, &SuspendedError{Reason: u.SuspendReason}
	}
	// Members of an organisation that signs in through its provider only
	// (sso.go); told only to someone with the password.
	if err := s.ssoOnlyRefuses(ctx, u); err != nil {
		return SignInResult{}, err
	}
	if stale {
		u.PasswordHash = s.hashPassword(password)
		if err := s.store.UpdateUser(ctx, u); err != nil {
			return SignInResult{}, err
		}
	}
	second, passkey, err := s.hasSecondFactor(ctx, u)
	if err != nil {
		return SignInResult{}, err
	}
	if second {
		token, err := s.putChallenge(ctx, u.ID) // challenges.go
		if err != nil {
			return SignInResult{}, err
		}
		return SignInResult{User: u, Challenge: token, Passkey: passkey}, nil
	}
	token, err := s.newSession(ctx, u.ID)
	if err != nil {
		return SignInResult{}, err
	}
	s.log.Info("signed in", "user", u.ID, "remote", ip)
	return SignInResult{User: u, Token: token, Device: s.deviceCookie(u, parseDeviceTokens(devices))}, nil
}

var (
	dummyOnce sync.Once
	dummy     string
)

func (s *Service) dummyHash() string {
	dummyOnce.Do(func() { dummy = HashPassword(dummyPassword, s.hash) })
	return dummy
}

// SignInCode completes a sign-in with a TOTP code or a recovery code.
// devices are the request's known-device cookie values: a code from a
// device known for the account is counted against that device's budget
// of wrong codes, any other against the account's (devices.go).
func (s *Service) SignInCode(ctx context.Context, challengeToken, code, ip string, devices ...string) (SignInResult, error) {
	if err := s.admitAddress(ip); err != nil {
		return SignInResult{}, err
	}
	key := string(tokenHash(challengeToken))
	_, u, err := s.pendingSignIn(ctx, key)
	if err != nil {
		return SignInResult{}, err
	}
	tokens := parseDeviceTokens(devices)
	budget, known := s.codeBudgetFor(u, tokens)
	if err := s.checkCode(ctx, &u, code, budget); err != nil {
		if ended := s.failedChallenge(ctx, key); ended != nil {
			err = ended
		}
		s.log.Info("two-factor code refused", "user", u.ID, "remote", ip, "known_device", known)
		return SignInResult{}, err
	}
	if !s.endChallenge(ctx, key) {
		return SignInResult{}, ErrChallengeExpired
	}
	token, err := s.newSession(ctx, u.ID)
	if err != nil {
		return SignInResult{}, err
	}
	s.log.Info("signed in", "user", u.ID, "remote", ip, "second_factor", true, "known_device", known)
	return SignInResult{User: u, Token: token, Device: s.deviceCookie(u, tokens)}, nil
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

func (s *Service) newSession(ctx context.Context, userID string) (string, error) {
	token := newToken()
	now := s.now().UTC()
	// A full sign-in is a proof of its own: the session starts inside the
	// re-authentication window (reauth.go).
	err := s.store.CreateSession(ctx, Session{Hash: tokenHash(token), UserID: userID, CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(s.life), ReauthAt: now})
	if err != nil {
		return "", err
	}
	return token, nil
}

// Authenticate returns the account a session token belongs to.
func (s *Service) Authenticate(ctx context.Context, token string) (User, error) {
	if token == "" {
		return User{}, ErrNoSession
	}
	h := tokenHash(token)
	sess, err := s.store.SessionByHash(ctx, h)
	if errors.Is(err, ErrNotFound) {
		return User{}, ErrNoSession
	}
	if err != nil {
		return User{}, err
	}
	now := s.now()
	if now.After(sess.ExpiresAt) || now.Sub(sess.LastSeen) > s.idle {
		_ = s.store.DeleteSession(ctx, h)
		return User{}, ErrNoSession
	}
	u, err := s.store.UserByID(ctx, sess.UserID)
	if errors.Is(err, ErrNotFound) || (err == nil && u.Suspended()) {
		// Suspending ends the account's sessions; this holds even for one
		// created in a race with the suspension.
		return User{}, ErrNoSession
	}
	if err != nil {
		return User{}, err
	}
	if now.Sub(sess.LastSeen) > time.Minute {
		_ = s.store.TouchSession(ctx, h, now.UTC())
	}
	return u, nil
}

// SignOut ends one session.
func (s *Service) SignOut(ctx context.Context, token string) error {
	return s.store.DeleteSession(ctx, tokenHash(token))
}

// SignOutEverywhere ends every session of an account.
func (s *Service) SignOutEverywhere(ctx context.Context, u User) error {
	s.log.Info("signed out everywhere", "user", u.ID)
	if err := s.store.DeleteUserSessions(ctx, u.ID); err != nil {
		return err
	}
	s.endLive(u.ID, "signed_out", "You were signed out of your account everywhere. Sign in again to rejoin.")
	return nil
}

// endLive ends what is live on an account's ended sessions.
func (s *Service) endLive(userID, reason, message string) {
	if s.endParticipation != nil {
		s.endParticipation(userID, reason, message)
	}
}

// BeginTOTP starts two-factor enrolment: the secret is kept (sealed) as
// pending until a code from it is confirmed.
func (s *Service) BeginTOTP(ctx context.Context, u User) (Enrollment, error) {
	u, err := s.store.UserByID(ctx, u.ID)
	if err != nil {
		return Enrollment{}, err
	}
	if u.TwoFactor() {
		return Enrollment{}, ErrTOTPEnabled
	}
	key, e, err := newTOTPKey(u.Email)
	if err != nil {
		return Enrollment{}, err
	}
	u.TOTPPending = s.sealer.Seal([]byte(key.Secret()), "totp:"+u.ID)
	if err := s.store.UpdateUser(ctx, u); err != nil {
		return Enrollment{}, err
	}
	return e, nil
}

// ConfirmTOTP turns two-factor on once a code from the pending secret
// checks out, and returns the recovery codes: shown once, stored hashed.
func (s *Service) ConfirmTOTP(ctx context.Context, u User, code string) ([]string, error) {
	u, err := s.store.UserByID(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	if u.TwoFactor() {
		return nil, ErrTOTPEnabled
	}
	if len(u.TOTPPending) == 0 {
		return nil, ErrTOTPNotPending
	}
	if !s.codeUser.Peek(u.ID) {
		return nil, ErrRateLimited
	}
	secret, err := s.sealer.Open(u.TOTPPending, "totp:"+u.ID)
	if err != nil {
		return nil, fmt.Errorf("unseal pending totp of %s: %w", u.ID, err)
	}
	step, ok := totpStep(string(secret), strings.ReplaceAll(strings.TrimSpace(code), " ", ""), s.now())
	if !ok {
		s.codeUser.Allow(u.ID)
		return nil, ErrBadCode
	}
	u.TOTPSecret, u.TOTPPending, u.TOTPLastStep = u.TOTPPending, nil, step
	if err := s.store.UpdateUser(ctx, u); err != nil {
		return nil, err
	}
	codes, err := s.replaceRecoveryCodes(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	s.log.Info("two-factor enabled", "user", u.ID)
	return codes, nil
}

// DisableTOTP turns two-factor off. It needs the password and a current
// code (or a recovery code) again: a stolen session alone cannot do it.
func (s *Service) DisableTOTP(ctx context.Context, u User, password, code string) error {
	u, err := s.reauthenticate(ctx, u, password, code)
	if err != nil {
		return err
	}
	if org, err := s.store.Org(ctx); err != nil {
		return err
	} else if org.Require2FA {
		return fmt.Errorf("%w: the organisation requires two-factor authentication", ErrForbidden)
	}
	u.TOTPSecret, u.TOTPPending, u.TOTPLastStep = nil, nil, 0
	if err := s.store.UpdateUser(ctx, u); err != nil {
		return err
	}
	if err := s.store.ReplaceRecoveryCodes(ctx, u.ID, nil); err != nil {
		return err
	}
	s.log.Info("two-factor disabled", "user", u.ID)
	return nil
}

// RegenerateRecoveryCodes replaces the recovery codes, after the password
// and a code again.
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, u User, password, code string) ([]string, error) {
	u, err := s.reauthenticate(ctx, u, password, code)
	if err != nil {
		return nil, err
	}
	return s.replaceRecoveryCodes(ctx, u.ID)
}

// RecoveryCodesLeft counts the account's unused recovery codes.
func (s *Service) RecoveryCodesLeft(ctx context.Context, u User) (int, error) {
	return s.store.RecoveryCodesLeft(ctx, u.ID)
}

func (s *Service) reauthenticate(ctx context.Context, u User, password, code string) (User, error) {
	u, err := s.store.UserByID(ctx, u.ID)
	if err != nil {
		return User{}, err
	}
	if !u.TwoFactor() {
		return User{}, ErrTOTPDisabled
	}
	return s.checkOwner(ctx, u, password, code)
}

// checkOwner checks the password of the signed-in account u (as just
// read from the store) against the account's own budget, and a code when
// it has two-factor on.
func (s *Service) checkOwner(ctx context.Context, u User, password, code string) (User, error) {
	if ok, err := s.recentInstead(ctx, u, password); err != nil || ok {
		if err != nil {
			return User{}, err
		}
		return u, nil // reauth.go: an account made by single sign-on
	}
	if !s.reauth.Peek(u.ID) {
		return User{}, ErrRateLimited
	}
	ok, _, err := s.verifyPassword(password, u.PasswordHash)
	if err != nil {
		return User{}, err
	}
	if !ok {
		s.reauth.Allow(u.ID)
		return User{}, ErrBadCredentials
	}
	if u.TwoFactor() {
		if err := s.checkCode(ctx, &u, code, s.accountBudget(u)); err != nil {
			return User{}, err
		}
	}
	return u, nil
}

func (s *Service) replaceRecoveryCodes(ctx context.Context, userID string) ([]string, error) {
	codes := make([]string, RecoveryCodeCount)
	hashes := make([][]byte, RecoveryCodeCount)
	for i := range codes {
		codes[i] = newRecoveryCode()
		hashes[i] = recoveryHash(codes[i])
	}
	if err := s.store.ReplaceRecoveryCodes(ctx, userID, hashes); err != nil {
		return nil, err
	}
	return codes, nil
}

// ListUsers lists every account; admins only.
func (s *Service) ListUsers(ctx context.Context, by User) ([]User, error) {
	if by.Role != RoleAdmin {
		return nil, ErrForbidden
	}
	return s.store.ListUsers(ctx)
}

// newID returns a random account ID (80 bits, base32).
func newID() string {
	b := make([]byte, 10)
	rand.Read(b)
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// UserName returns an account's name (a meeting's host, shown to
// joiners).
func (s *Service) UserName(ctx context.Context, id string) (string, error) {
	u, err := s.store.UserByID(ctx, id)
	return u.Name, err
}

// ChangePassword replaces an account's password after checking the current
// one, and ends every session of the account (the caller signs this one in
// again).
func (s *Service) ChangePassword(ctx context.Context, u User, current, next string) (string, error) {
	u, err := s.store.UserByID(ctx, u.ID)
	if err != nil {
		return "", err
	}
	if !s.reauth.Peek(u.ID) {
		return "", ErrRateLimited
	}
	ok, _, err := s.verifyPassword(current, u.PasswordHash)
	if err != nil {
		return "", err
	}
	if !ok {
		s.reauth.Allow(u.ID)
		return "", ErrBadCredentials
	}
	if err := CheckPassword(next); err != nil {
		return "", err
	}
	u.PasswordHash = s.hashPassword(next)
	if err := s.store.UpdateUser(ctx, u); err != nil {
		return "", err
	}
	if err := s.store.DeleteUserSessions(ctx, u.ID); err != nil {
		return "", err
	}
	s.log.Info("password changed", "user", u.ID)
	return s.newSession(ctx, u.ID)
}

// CountUsers counts accounts (the first sign-up is always open).
func (s *Service) CountUsers(ctx context.Context) (int, error) { return s.store.CountUsers(ctx) }
