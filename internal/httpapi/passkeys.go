package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/kaigi-meet/kaigi/internal/auth"
)

// Passkeys (auth/passkeys.go): registering and managing them from the
// account page, and signing in with one alone or as the second factor.
// The relying party is the server's public URL when one is configured
// (the RP ID its host name, its origin the only one accepted); without
// one, the origin the request was made to, as the cross-origin check and
// the WebSocket's origin check take it. Every ceremony's options are
// what the library makes for navigator.credentials.create or .get (as
// JSON, binary values in base64url), with a flow token the answer is
// sent back with; the answer is the PublicKeyCredential as JSON
// (toJSON()).

// routePasskeys adds the passkey endpoints to mux.
func (a *api) routePasskeys(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/auth/passkey/begin", a.passkeySignInBegin)
	mux.HandleFunc("POST /api/auth/passkey/finish", a.passkeySignInFinish)
	mux.HandleFunc("POST /api/auth/signin/passkey/begin", a.passkeySecondBegin)
	mux.HandleFunc("POST /api/auth/signin/passkey/finish", a.passkeySecondFinish)
	mux.HandleFunc("GET /api/me/passkeys", a.listPasskeys)
	mux.HandleFunc("POST /api/me/passkeys/begin", a.passkeyRegisterBegin)
	mux.HandleFunc("POST /api/me/passkeys/finish", a.passkeyRegisterFinish)
	mux.HandleFunc("PATCH /api/me/passkeys/{id}", a.renamePasskey)
	mux.HandleFunc("POST /api/me/passkeys/{id}/delete", a.deletePasskey)
}

// relyingParty is who this request's passkeys are bound to.
func (a *api) relyingParty(r *http.Request) (auth.RelyingParty, error) {
	if a.publicURL != "" {
		return auth.RelyingPartyFor(a.publicURL)
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return auth.RelyingPartyFor(scheme + "://" + r.Host)
}

// passkeyErrors are the passkey errors' API errors.
var passkeyErrors = map[error]struct {
	status        int
	code, message string
}{
	auth.ErrPasskeyRefused:      {http.StatusUnauthorized, "passkey_refused", "That passkey was not accepted. Try again, or use another way to sign in."},
	auth.ErrPasskeysUnavailable: {http.StatusConflict, "passkeys_unavailable", "Passkeys cannot be used on this server: it needs a public address with a domain name (public_url)."},
	auth.ErrPasskeyRegistered:   {http.StatusConflict, "passkey_registered", "That passkey is registered already."},
	auth.ErrPasskeyRequired:     {http.StatusConflict, "passkey_required", "Your organisation requires a passkey (or, without an authenticator app, two-factor authentication): add another before deleting this one."},
	auth.ErrPasskeyFirst:        {http.StatusConflict, "passkey_first", "Register a passkey for your own account first: otherwise you would be locked out of everything but registering one."},
	auth.ErrTooManyPasskeys:     {http.StatusConflict, "too_many_passkeys", "You have as many passkeys as an account may have. Delete one first."},
	auth.ErrBadPasskeyName:      {http.StatusBadRequest, "bad_passkey_name", "Name the passkey in 1 to 64 characters, without control characters."},
}

// isPasskeyError reports whether err is one of passkeyErrors.
func isPasskeyError(err error) bool {
	for target := range passkeyErrors {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// passkeyError maps the passkey errors to API errors, and the rest as
// authError does.
func (a *api) passkeyError(w http.ResponseWriter, err error) {
	if errors.Is(err, auth.ErrNoSession) {
		writeError(w, http.StatusUnauthorized, "not_signed_in", "Sign in first.")
		return
	}
	for target, out := range passkeyErrors {
		if errors.Is(err, target) {
			writeError(w, out.status, out.code, out.message)
			return
		}
	}
	if errors.Is(err, auth.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "There is no such passkey.")
		return
	}
	a.authError(w, err)
}

// ceremonyJSON is a ceremony begun: its flow token and the options for
// the browser.
type ceremonyJSON struct {
	Flow    string `json:"flow"`
	Options any    `json:"options"`
}

// passkeySignInBegin handles POST /api/auth/passkey/begin.
func (a *api) passkeySignInBegin(w http.ResponseWriter, r *http.Request) {
	var req struct{}
	if !readJSON(w, r, &req) {
		return
	}
	rp, err := a.relyingParty(r)
	if err != nil {
		a.passkeyError(w, err)
		return
	}
	c, err := a.accounts.BeginPasskeySignIn(r.Context(), clientIP(r), rp)
	if err != nil {
		a.passkeyError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, ceremonyJSON{Flow: c.Token, Options: c.Options})
}

// passkeySignInFinish handles POST /api/auth/passkey/finish: signed in
// with the passkey alone.
func (a *api) passkeySignInFinish(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Flow       string
		Credential json.RawMessage
	}
	if !readJSON(w, r, &req) {
		return
	}
	res, err := a.accounts.FinishPasskeySignIn(r.Context(), req.Flow, req.Credential, clientIP(r), deviceCookies(r)...)
	if err != nil {
		a.passkeyError(w, err)
		return
	}
	a.signedIn(w, res)
}

// passkeySecondBegin handles POST /api/auth/signin/passkey/begin: the
// second step of a sign-in with a passkey instead of a code.
func (a *api) passkeySecondBegin(w http.ResponseWriter, r *http.Request) {
	var req struct{ Challenge string }
	if !readJSON(w, r, &req) {
		return
	}
	rp, err := a.relyingParty(r)
	if err != nil {
		a.passkeyError(w, err)
		return
	}
	c, err := a.accounts.BeginPasskeySecondFactor(r.Context(), req.Challenge, clientIP(r), rp)
	if err != nil {
		a.passkeyError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, ceremonyJSON{Flow: c.Token, Options: c.Options})
}

// passkeySecondFinish handles POST /api/auth/signin/passkey/finish.
func (a *api) passkeySecondFinish(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Challenge, Flow string
		Credential      json.RawMessage
	}
	if !readJSON(w, r, &req) {
		return
	}
	res, err := a.accounts.FinishPasskeySecondFactor(r.Context(), req.Challenge, req.Flow, req.Credential, clientIP(r), deviceCookies(r)...)
	if err != nil {
		a.passkeyError(w, err)
		return
	}
	a.signedIn(w, res)
}

// passkeyJSON is what the API shows of a passkey.
type passkeyJSON struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"createdAt"`
	LastUsedAt *time.Time `json:"lastUsedAt,omitempty"`
}

func toPasskeyJSON(p auth.Passkey) passkeyJSON {
	j := passkeyJSON{ID: auth.PasskeyID(p.ID), Name: p.Name, CreatedAt: p.CreatedAt}
	if !p.LastUsedAt.IsZero() {
		j.LastUsedAt = &p.LastUsedAt
	}
	return j
}

// passkeysJSON is a list of passkeys as the API shows them ([] for none).
func passkeysJSON(keys []auth.Passkey) []passkeyJSON {
	out := make([]passkeyJSON, len(keys))
	for i, k := range keys {
		out[i] = toPasskeyJSON(k)
	}
	return out
}

// listPasskeys handles GET /api/me/passkeys.
func (a *api) listPasskeys(w http.ResponseWriter, r *http.Request) {
	u, ok := a.user(w, r, false)
	if !ok {
		return
	}
	keys, err := a.accounts.Passkeys(r.Context(), u)
	if err != nil {
		a.passkeyError(w, err)
		return
	}
	_, rpErr := a.relyingParty(r)
	writeJSON(w, http.StatusOK, map[string]any{"passkeys": passkeysJSON(keys), "available": rpErr == nil})
}

// passkeyRegisterBegin handles POST /api/me/passkeys/begin: after the
// password (and a code with TOTP on) again. Open to an account that must
// still register one (the organisation requires it) or enrol in
// two-factor, and only with a session cookie (not an API token).
func (a *api) passkeyRegisterBegin(w http.ResponseWriter, r *http.Request) {
	u, ok := a.user(w, r, false)
	if !ok {
		return
	}
	var req struct{ Password, Code string }
	if !readJSON(w, r, &req) {
		return
	}
	rp, err := a.relyingParty(r)
	if err != nil {
		a.passkeyError(w, err)
		return
	}
	c, err := a.accounts.BeginPasskeyRegistration(a.ownerContext(r), u, sessionToken(r), req.Password, req.Code, rp)
	if err != nil {
		a.passkeyError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, ceremonyJSON{Flow: c.Token, Options: c.Options})
}

// passkeyRegisterFinish handles POST /api/me/passkeys/finish.
func (a *api) passkeyRegisterFinish(w http.ResponseWriter, r *http.Request) {
	u, ok := a.user(w, r, false)
	if !ok {
		return
	}
	var req struct {
		Flow, Name string
		Credential json.RawMessage
	}
	if !readJSON(w, r, &req) {
		return
	}
	added, err := a.accounts.FinishPasskeyRegistration(r.Context(), u, sessionToken(r), req.Flow, req.Name, req.Credential)
	if err != nil {
		a.passkeyError(w, err)
		return
	}
	out := map[string]any{"passkey": toPasskeyJSON(added.Passkey)}
	if added.RecoveryCodes != nil {
		out["recoveryCodes"] = added.RecoveryCodes
	}
	writeJSON(w, http.StatusCreated, out)
}

// renamePasskey handles PATCH /api/me/passkeys/{id}.
func (a *api) renamePasskey(w http.ResponseWriter, r *http.Request) {
	u, ok := a.user(w, r, false)
	if !ok {
		return
	}
	var req struct{ Name string }
	if !readJSON(w, r, &req) {
		return
	}
	id, err := auth.ParsePasskeyID(r.PathValue("id"))
	if err == nil {
		err = a.accounts.RenamePasskey(r.Context(), u, id, req.Name)
	}
	if err != nil {
		a.passkeyError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// deletePasskey handles POST /api/me/passkeys/{id}/delete, after the
// password (and a code with TOTP on) again.
func (a *api) deletePasskey(w http.ResponseWriter, r *http.Request) {
	u, ok := a.user(w, r, false)
	if !ok {
		return
	}
	var req struct{ Password, Code string }
	if !readJSON(w, r, &req) {
		return
	}
	id, err := auth.ParsePasskeyID(r.PathValue("id"))
	if err == nil {
		err = a.accounts.DeletePasskey(a.ownerContext(r), u, id, req.Password, req.Code)
	}
	if err != nil {
		a.passkeyError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
