package httpapi

import (
	"errors"
	"net/http"
	"time"

	"github.com/kaigi-meet/kaigi/internal/auth"
	"github.com/kaigi-meet/kaigi/internal/meeting"
)

// userJSON is what the API shows of an account.
type userJSON struct {
	ID                string `json:"id"`
	Email             string `json:"email"`
	Name              string `json:"name"`
	Role              string `json:"role"`
	TwoFactor         bool   `json:"twoFactor"`
	RecoveryCodesLeft *int   `json:"recoveryCodesLeft,omitempty"`
	// Passkeys counts the account's passkeys, in the admin's list.
	Passkeys int `json:"passkeys,omitempty"`
	// Suspended is set while the account is suspended.
	Suspended *suspensionJSON `json:"suspended,omitempty"`
}

type suspensionJSON struct {
	At     time.Time `json:"at"`
	Reason string    `json:"reason"`
}

func toUserJSON(u auth.User) userJSON {
	j := userJSON{ID: u.ID, Email: u.Email, Name: u.Name, Role: string(u.Role), TwoFactor: u.TwoFactor()}
	if u.Suspended() {
		j.Suspended = &suspensionJSON{At: u.SuspendedAt, Reason: u.SuspendReason}
	}
	return j
}

type orgJSON struct {
	Name            string              `json:"name"`
	Require2FA      bool                `json:"require2FA"`
	AllowSignUp     bool                `json:"allowSignUp"`
	MeetingDefaults meeting.Settings    `json:"meetingDefaults"`
	Country         meeting.CountryRule `json:"country"`
	Regions         meeting.Regions     `json:"regions,omitempty"`
	Retention       *auth.Retention     `json:"retention,omitempty"`
	RequirePasskeys bool                `json:"requirePasskeys,omitempty"`
}

// authError maps the account errors to API errors.
func (a *api) authError(w http.ResponseWriter, err error) {
	var suspended *auth.SuspendedError
	if errors.As(err, &suspended) {
		writeError(w, http.StatusForbidden, "account_suspended", "An administrator suspended your account: "+suspended.Reason)
		return
	}
	if isPasskeyError(err) { // passkeys.go
		a.passkeyError(w, err)
		return
	}
	if isSSOError(err) { // sso.go
		ssoOnlyError(w)
		return
	}
	var retention *auth.RetentionError
	if errors.As(err, &retention) {
		writeError(w, http.StatusBadRequest, "bad_retention", retention.Message)
		return
	}
	type m struct {
		status        int
		code, message string
	}
	if errors.Is(err, meeting.ErrBadSettings) {
		writeError(w, http.StatusBadRequest, "bad_settings", settingsProblem(err))
		return
	}
	for target, out := range map[error]m{
		auth.ErrBadCredentials:   {http.StatusUnauthorized, "bad_credentials", "Wrong e-mail or password."},
		auth.ErrBadCode:          {http.StatusUnauthorized, "bad_code", "That code is not right, or was used already."},
		auth.ErrChallengeExpired: {http.StatusUnauthorized, "challenge_expired", "Sign-in took too long or had too many wrong codes. Sign in again."},
		auth.ErrRateLimited:      {http.StatusTooManyRequests, "rate_limited", "Too many attempts. Wait a minute and try again."},
		auth.ErrSignUpClosed:     {http.StatusForbidden, "signup_closed", "This server does not allow sign-up. Ask an administrator for an account."},
		auth.ErrEmailTaken:       {http.StatusConflict, "email_taken", "An account with that e-mail exists. Sign in instead."},
		auth.ErrBadEmail:         {http.StatusBadRequest, "bad_email", "That is not an e-mail address."},
		auth.ErrWeakPassword:     {http.StatusBadRequest, "weak_password", "Choose a password of at least 10 characters."},
		auth.ErrBadName:          {http.StatusBadRequest, "bad_name", "Choose a name of 1 to 64 characters, without control characters."},
		auth.ErrForbidden:        {http.StatusForbidden, "forbidden", "You are not allowed to do that."},
		auth.ErrTOTPNotPending:   {http.StatusConflict, "no_enrolment", "Start setting up two-factor authentication first."},
		auth.ErrTOTPEnabled:      {http.StatusConflict, "two_factor_on", "Two-factor authentication is already on."},
		auth.ErrTOTPDisabled:     {http.StatusConflict, "two_factor_off", "Two-factor authentication is not on."},
		auth.ErrReasonRequired:   {http.StatusBadRequest, "reason_required", "Give a reason of at most 500 characters: the person is shown it."},
		auth.ErrLastAdmin:        {http.StatusConflict, "last_admin", "This is the last administrator who can sign in. Make another account administrator first."},
		auth.ErrNotFound:         {http.StatusNotFound, "not_found", "There is no such account."},
		auth.ErrReauthRequired:   {http.StatusForbidden, "reauth_required", reauthMessage}, // reauth.go
	} {
		if errors.Is(err, target) {
			writeError(w, out.status, out.code, out.message)
			return
		}
	}
	a.internal(w, "account request", err)
}

// signUp handles POST /api/auth/signup.
func (a *api) signUp(w http.ResponseWriter, r *http.Request) {
	var req struct{ Email, Name, Password string }
	if !readJSON(w, r, &req) {
		return
	}
	u, token, err := a.accounts.SignUp(r.Context(), req.Email, req.Name, req.Password, clientIP(r))
	if err != nil {
		a.authError(w, err)
		return
	}
	a.setSessionCookie(w, token)
	writeJSON(w, http.StatusCreated, map[string]any{"user": toUserJSON(u)})
}

// signIn handles POST /api/auth/signin: signed in, or a challenge for the
// second factor.
func (a *api) signIn(w http.ResponseWriter, r *http.Request) {
	var req struct{ Email, Password string }
	if !readJSON(w, r, &req) {
		return
	}
	res, err := a.accounts.SignIn(r.Context(), req.Email, req.Password, clientIP(r), deviceCookies(r)...)
	if err != nil {
		a.authError(w, err)
		return
	}
	if res.Challenge != "" {
		// passkey: the account has one, which may be the second step
		// instead of a code (passkeys.go); totp: it has an app's codes.
		writeJSON(w, http.StatusOK, map[string]any{"next": "code", "challenge": res.Challenge, "passkey": res.Passkey, "totp": res.User.TwoFactor()})
		return
	}
	a.signedIn(w, res)
}

// signInCode handles POST /api/auth/signin/code. A code from a browser
// with a known-device cookie for the account is counted against that
// browser's budget of wrong codes, not the account's.
func (a *api) signInCode(w http.ResponseWriter, r *http.Request) {
	var req struct{ Challenge, Code string }
	if !readJSON(w, r, &req) {
		return
	}
	res, err := a.accounts.SignInCode(r.Context(), req.Challenge, req.Code, clientIP(r), deviceCookies(r)...)
	if err != nil {
		a.authError(w, err)
		return
	}
	a.signedIn(w, res)
}

// signOut handles POST /api/auth/signout.
func (a *api) signOut(w http.ResponseWriter, r *http.Request) {
	if tok := sessionToken(r); tok != "" {
		if err := a.accounts.SignOut(r.Context(), tok); err != nil {
			a.internal(w, "sign out", err)
			return
		}
	}
	a.clearSessionCookie(w)
	w.WriteHeader(http.StatusNoContent)
}

// signOutEverywhere handles POST /api/auth/signout-everywhere.
func (a *api) signOutEverywhere(w http.ResponseWriter, r *http.Request) {
	u, ok := a.user(w, r, false)
	if !ok {
		return
	}
	if err := a.accounts.SignOutEverywhere(r.Context(), u); err != nil {
		a.internal(w, "sign out everywhere", err)
		return
	}
	a.clearSessionCookie(w)
	w.WriteHeader(http.StatusNoContent)
}

// me handles GET /api/me: who is signed in, and what the organisation asks
// of them.
func (a *api) me(w http.ResponseWriter, r *http.Request) {
	u, ok := a.user(w, r, false)
	if !ok {
		return
	}
	org, err := a.accounts.Org(r.Context())
	if err != nil {
		a.internal(w, "read organisation", err)
		return
	}
	uj := toUserJSON(u)
	passkeys, err := a.accounts.CountPasskeys(r.Context(), u)
	if err != nil {
		a.internal(w, "count passkeys", err)
		return
	}
	needTwoFactor, needPasskey, err := a.accounts.Requirements(r.Context(), org, u)
	if err != nil {
		a.internal(w, "count passkeys", err)
		return
	}
	noPassword, err := a.accounts.MadeByProvider(r.Context(), u)
	if err != nil {
		a.internal(w, "read single sign-on identities", err)
		return
	}
	if u.TwoFactor() || passkeys > 0 {
		n, err := a.accounts.RecoveryCodesLeft(r.Context(), u)
		if err != nil {
			a.internal(w, "count recovery codes", err)
			return
		}
		uj.RecoveryCodesLeft = &n
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"user": uj,
		// The meeting defaults, so the web client can show members the
		// settings a new meeting would get before they create one.
		"organisation": map[string]any{"name": org.Name, "require2FA": org.Require2FA, "meetingDefaults": org.MeetingDefaults, "country": org.Country, "geoip": a.countries != nil,
			"regions": regionsOrEmpty(org.Regions), "region": a.region, "requirePasskeys": org.RequirePasskeys},
		"twoFactorRequired": needTwoFactor,
		// passkeys.go: how many the account has, and whether it must
		// register one before anything else.
		"passkeys": passkeys, "passkeyRequired": needPasskey,
		// reauth.go: made by single sign-on, no password its owner knows;
		// the steps that ask for it take a recent re-authentication.
		"noPassword": noPassword,
	})
}

// beginTOTP handles POST /api/me/2fa/begin.
func (a *api) beginTOTP(w http.ResponseWriter, r *http.Request) {
	u, ok := a.user(w, r, false)
	if !ok {
		return
	}
	e, err := a.accounts.BeginTOTP(r.Context(), u)
	if err != nil {
		a.authError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"secret": e.Secret, "url": e.URL, "qr": e.QR})
}

// confirmTOTP handles POST /api/me/2fa/confirm.
func (a *api) confirmTOTP(w http.ResponseWriter, r *http.Request) {
	u, ok := a.user(w, r, false)
	if !ok {
		return
	}
	var req struct{ Code string }
	if !readJSON(w, r, &req) {
		return
	}
	codes, err := a.accounts.ConfirmTOTP(r.Context(), u, req.Code)
	if err != nil {
		a.authError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"recoveryCodes": codes})
}

// disableTOTP handles POST /api/me/2fa/disable.
func (a *api) disableTOTP(w http.ResponseWriter, r *http.Request) {
	u, ok := a.user(w, r, false)
	if !ok {
		return
	}
	var req struct{ Password, Code string }
	if !readJSON(w, r, &req) {
		return
	}
	if err := a.accounts.DisableTOTP(a.ownerContext(r), u, req.Password, req.Code); err != nil {
		a.authError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// regenerateCodes handles POST /api/me/2fa/recovery-codes.
func (a *api) regenerateCodes(w http.ResponseWriter, r *http.Request) {
	u, ok := a.user(w, r, false)
	if !ok {
		return
	}
	var req struct{ Password, Code string }
	if !readJSON(w, r, &req) {
		return
	}
	codes, err := a.accounts.RegenerateRecoveryCodes(a.ownerContext(r), u, req.Password, req.Code)
	if err != nil {
		a.authError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"recoveryCodes": codes})
}

// getOrg handles GET /api/admin/org.
func (a *api) getOrg(w http.ResponseWriter, r *http.Request) {
	if _, ok := a.admin(w, r); !ok {
		return
	}
	org, err := a.accounts.Org(r.Context())
	if err != nil {
		a.internal(w, "read organisation", err)
		return
	}
	writeJSON(w, http.StatusOK, a.orgOut(org))
}

// putOrg handles PUT /api/admin/org.
func (a *api) putOrg(w http.ResponseWriter, r *http.Request) {
	u, ok := a.admin(w, r)
	if !ok {
		return
	}
	if !a.recentAuth(w, r) { // reauth.go
		return
	}
	var body struct {
		orgJSON
		GeoIP  any `json:"geoip"`  // what GET says; read-only, ignored
		Region any `json:"region"` // likewise
	}
	if !readJSON(w, r, &body) {
		return
	}
	req := body.orgJSON
	if a.noCountryRules(w, &req.Country, req.MeetingDefaults.Country) {
		return
	}
	if err := a.accounts.UpdateOrg(r.Context(), u, auth.Org(req)); err != nil {
		a.authError(w, err)
		return
	}
	a.endOutsideRegions(r.Context())
	org, err := a.accounts.Org(r.Context())
	if err != nil {
		a.internal(w, "read organisation", err)
		return
	}
	writeJSON(w, http.StatusOK, a.orgOut(org))
}

// listUsers handles GET /api/admin/users.
func (a *api) listUsers(w http.ResponseWriter, r *http.Request) {
	u, ok := a.admin(w, r)
	if !ok {
		return
	}
	users, err := a.accounts.ListUsers(r.Context(), u)
	if err != nil {
		a.authError(w, err)
		return
	}
	out := make([]userJSON, len(users))
	for i, x := range users {
		out[i] = toUserJSON(x)
		// A passkey is a second factor too, which the admin can reset.
		if out[i].Passkeys, err = a.accounts.CountPasskeys(r.Context(), x); err != nil {
			a.internal(w, "count passkeys", err)
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": out})
}

// createUser handles POST /api/admin/users.
func (a *api) createUser(w http.ResponseWriter, r *http.Request) {
	u, ok := a.admin(w, r)
	if !ok {
		return
	}
	if !a.recentAuth(w, r) { // reauth.go
		return
	}
	var req struct{ Email, Name, Password, Role string }
	if !readJSON(w, r, &req) {
		return
	}
	if req.Role == "" {
		req.Role = string(auth.RoleMember)
	}
	created, err := a.accounts.CreateUser(r.Context(), u, req.Email, req.Name, req.Password, auth.OrgRole(req.Role))
	if err != nil {
		a.authError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"user": toUserJSON(created)})
}

// admin returns the signed-in admin, or writes the refusal.
func (a *api) admin(w http.ResponseWriter, r *http.Request) (auth.User, bool) {
	u, ok := a.user(w, r, true)
	if !ok {
		return u, false
	}
	if u.Role != auth.RoleAdmin {
		writeError(w, http.StatusForbidden, "forbidden", "Only administrators may do that.")
		return u, false
	}
	return u, true
}

// changePassword handles POST /api/me/password: every other session ends.
func (a *api) changePassword(w http.ResponseWriter, r *http.Request) {
	u, ok := a.user(w, r, false)
	if !ok {
		return
	}
	var req struct{ Current, New string }
	if !readJSON(w, r, &req) {
		return
	}
	token, err := a.accounts.ChangePassword(r.Context(), u, req.Current, req.New)
	if err != nil {
		a.authError(w, err)
		return
	}
	a.setSessionCookie(w, token)
	w.WriteHeader(http.StatusNoContent)
}

// serverInfo handles GET /api/server: what a signed-out visitor's pages
// need to know (whether to offer sign-up).
func (a *api) serverInfo(w http.ResponseWriter, r *http.Request) {
	org, err := a.accounts.Org(r.Context())
	if err != nil {
		a.internal(w, "read organisation", err)
		return
	}
	n, err := a.accounts.CountUsers(r.Context())
	if err != nil {
		a.internal(w, "count users", err)
		return
	}
	// Members sign up through the provider only while SSO only is on (sso.go).
	sso, err := a.accounts.SSOSignInButton(r.Context())
	if err != nil {
		a.internal(w, "read single sign-on settings", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"name": org.Name, "signUpOpen": (org.AllowSignUp && !sso.SSOOnly) || n == 0})
}

// regionsOrEmpty is a set of regions as JSON: [] rather than null.
func regionsOrEmpty(r meeting.Regions) meeting.Regions {
	if r == nil {
		return meeting.Regions{}
	}
	return r
}
