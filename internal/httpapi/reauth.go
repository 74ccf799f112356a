package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/kaigi-meet/kaigi/internal/auth"
)

// Re-authentication ("sudo mode", auth/reauth.go): the actions that would
// let a stolen session keep or widen access after it ends answer 403
// reauth_required unless the session's holder proved themselves within
// auth.ReauthWindow (a full sign-in, or the password, code or a passkey
// again here). The web client turns that answer into a prompt and sends
// the request again.
//
//	GET  /api/auth/reauth                 {until} (null: the window is closed)
//	POST /api/auth/reauth                 {password, code?}
//	POST /api/auth/reauth/passkey/begin   {flow, options}
//	POST /api/auth/reauth/passkey/finish  {flow, credential}
//	POST /api/auth/oidc/link              {url}: link the provider (reauth.go)

func (a *api) routeReauth(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/auth/reauth", a.reauthStatus)
	mux.HandleFunc("POST /api/auth/reauth", a.reauthPassword)
	mux.HandleFunc("POST /api/auth/reauth/passkey/begin", a.reauthPasskeyBegin)
	mux.HandleFunc("POST /api/auth/reauth/passkey/finish", a.reauthPasskeyFinish)
	mux.HandleFunc("POST /api/auth/oidc/link", a.ssoLinkStart)
}

// reauthMessage is reauth_required's sentence.
const reauthMessage = "Confirm it is you first: your password (and code), a passkey, or single sign-on again. This lasts 10 minutes."

// recentAuth reports whether the request may take a sensitive action:
// its session's holder re-authenticated recently, or it carries an API
// token (which reaches only what its scopes allow, and was itself made
// within a window). Otherwise it answers 403 reauth_required.
func (a *api) recentAuth(w http.ResponseWriter, r *http.Request) bool {
	if _, fromToken := r.Context().Value(bearerUser{}).(auth.User); fromToken {
		return true
	}
	ok, err := a.accounts.RecentlyAuthenticated(r.Context(), sessionToken(r))
	if err != nil {
		a.internal(w, "read session", err)
		return false
	}
	if !ok {
		writeError(w, http.StatusForbidden, "reauth_required", reauthMessage)
		return false
	}
	return true
}

// ownerContext is the request's context for the steps that ask for the
// password again, marked when its session re-authenticated recently: an
// account made by single sign-on (no password its owner knows) then
// takes them without one (auth.WithRecentReauth).
func (a *api) ownerContext(r *http.Request) context.Context {
	if _, fromToken := r.Context().Value(bearerUser{}).(auth.User); fromToken {
		return r.Context()
	}
	if ok, err := a.accounts.RecentlyAuthenticated(r.Context(), sessionToken(r)); err == nil && ok {
		return auth.WithRecentReauth(r.Context())
	}
	return r.Context()
}

// reauthJSON says until when the session's window is open.
type reauthJSON struct {
	Until *time.Time `json:"until"`
}

func (a *api) writeReauth(w http.ResponseWriter, r *http.Request) {
	until, err := a.accounts.ReauthUntil(r.Context(), sessionToken(r))
	if err != nil {
		a.internal(w, "read session", err)
		return
	}
	out := reauthJSON{}
	if !until.IsZero() {
		out.Until = &until
	}
	writeJSON(w, http.StatusOK, out)
}

// reauthStatus handles GET /api/auth/reauth.
func (a *api) reauthStatus(w http.ResponseWriter, r *http.Request) {
	if _, ok := a.user(w, r, false); !ok {
		return
	}
	a.writeReauth(w, r)
}

// reauthPassword handles POST /api/auth/reauth {password, code}.
func (a *api) reauthPassword(w http.ResponseWriter, r *http.Request) {
	u, ok := a.user(w, r, false)
	if !ok {
		return
	}
	var req struct{ Password, Code string }
	if !readJSON(w, r, &req) {
		return
	}
	err := a.accounts.Reauthenticate(r.Context(), u, sessionToken(r), req.Password, req.Code)
	switch {
	case err == nil:
		a.writeReauth(w, r)
	case errors.Is(err, auth.ErrReauthPasskey):
		writeError(w, http.StatusConflict, "reauth_passkey", "Your account's second step is a passkey: confirm with it instead.")
	case errors.Is(err, auth.ErrBadCode):
		writeError(w, http.StatusUnauthorized, "bad_code", "That code is not right, or was used already.")
	default:
		a.passkeyError(w, err)
	}
}

// reauthPasskeyBegin handles POST /api/auth/reauth/passkey/begin.
func (a *api) reauthPasskeyBegin(w http.ResponseWriter, r *http.Request) {
	u, ok := a.user(w, r, false)
	if !ok {
		return
	}
	var req struct{}
	if !readJSON(w, r, &req) {
		return
	}
	rp, err := a.relyingParty(r)
	if err != nil {
		a.passkeyError(w, err)
		return
	}
	c, err := a.accounts.BeginPasskeyReauth(r.Context(), u, sessionToken(r), rp)
	if err != nil {
		a.passkeyError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, ceremonyJSON{Flow: c.Token, Options: c.Options})
}

// reauthPasskeyFinish handles POST /api/auth/reauth/passkey/finish
// {flow, credential}.
func (a *api) reauthPasskeyFinish(w http.ResponseWriter, r *http.Request) {
	u, ok := a.user(w, r, false)
	if !ok {
		return
	}
	var req struct {
		Flow       string
		Credential json.RawMessage
	}
	if !readJSON(w, r, &req) {
		return
	}
	if err := a.accounts.FinishPasskeyReauth(r.Context(), u, sessionToken(r), req.Flow, req.Credential); err != nil {
		a.passkeyError(w, err)
		return
	}
	a.writeReauth(w, r)
}

// ssoLinkStart handles POST /api/auth/oidc/link: the signed-in owner
// links the organisation's provider to their account by signing in to it
// now (the answer's url, which the page navigates to). A POST, so that
// the cross-origin check keeps other sites from starting it; the flow
// cookie is set on this answer. Linking adds a way in, so it needs a
// recent re-authentication.
func (a *api) ssoLinkStart(w http.ResponseWriter, r *http.Request) {
	u, ok := a.user(w, r, false)
	if !ok {
		return
	}
	var req struct{}
	if !readJSON(w, r, &req) {
		return
	}
	if !a.recentAuth(w, r) {
		return
	}
	start, err := a.accounts.BeginSSOLink(r.Context(), u, clientIP(r), a.ssoRedirectURI(r))
	if err != nil {
		if errors.Is(err, auth.ErrSSOUnavailable) {
			writeError(w, http.StatusConflict, "sso_unavailable", "Single sign-on is not set up on this server.")
			return
		}
		a.authError(w, err)
		return
	}
	a.setSSOCookie(w, start.Binding)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]string{"url": start.URL})
}
