package httpapi

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/kaigi-meet/kaigi/internal/auth"
)

// Single sign-on through the organisation's OpenID Connect provider
// (auth/sso.go, auth/ssoflow.go):
//
//	GET /api/auth/sso            what the sign-in page offers
//	GET /api/auth/oidc/start     sends the browser to the provider
//	GET /api/auth/oidc/callback  the provider sends it back here
//	GET, PUT /api/admin/sso      the administrator's settings
//
// start and callback are top-level navigations, not API calls: they
// answer with redirects, and an error is a redirect to the sign-in page
// with ?sso=<code>, which the page turns into a sentence of its own (the
// provider's words never reach the person).

// SSOCookie binds a sign-in through the provider to the browser that
// began it: a random token (its hash kept with the flow's state, nonce
// and PKCE verifier on the server), HttpOnly, sent only to
// /api/auth/oidc/, SameSite=Lax (the provider's redirect back is a
// cross-site top-level navigation, which Lax allows and Strict would
// not), gone after ten minutes or at the callback.
const SSOCookie = "kaigi_sso"

const (
	ssoCookiePath = "/api/auth/oidc/"
	ssoCallback   = "/api/auth/oidc/callback"
)

func (a *api) routeSSO(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/auth/sso", a.ssoButton)
	mux.HandleFunc("GET /api/auth/oidc/start", a.ssoStart)
	mux.HandleFunc("GET "+ssoCallback, a.ssoCallback)
	mux.HandleFunc("GET /api/admin/sso", a.getSSO)
	mux.HandleFunc("PUT /api/admin/sso", a.putSSO)
	a.routeReauth(mux) // reauth.go
}

// ssoRedirectURI is the callback URL to register at the provider: on the
// public URL when one is configured, else on the request's own origin.
func (a *api) ssoRedirectURI(r *http.Request) string {
	if a.publicURL != "" {
		return a.publicURL + ssoCallback
	}
	scheme := "http"
	if r.TLS != nil || a.secure {
		scheme = "https"
	}
	return scheme + "://" + r.Host + ssoCallback
}

// ssoErrorCodes are the codes the sign-in page is sent back with.
var ssoErrorCodes = []struct {
	err  error
	code string
}{
	{auth.ErrSSOUnavailable, "sso_unavailable"},
	{auth.ErrSSOFlow, "sso_expired"},
	{auth.ErrSSOProvider, "sso_provider"},
	{auth.ErrSSONoAccount, "sso_no_account"},
	{auth.ErrSSODomain, "sso_domain"},
	{auth.ErrSSOEmailTaken, "sso_email_taken"},
	{auth.ErrSSOSignInFirst, "sso_sign_in_first"},
	{auth.ErrSSOLinkRefused, "sso_link_refused"},
	{auth.ErrSSORefused, "sso_refused"},
	{auth.ErrSuspended, "account_suspended"},
	{auth.ErrRateLimited, "rate_limited"},
}

// ssoFailed sends the browser back to the sign-in page with the error's
// code.
func (a *api) ssoFailed(w http.ResponseWriter, r *http.Request, err error) {
	code := "sso_failed"
	for _, c := range ssoErrorCodes {
		if errors.Is(err, c.err) {
			code = c.code
			break
		}
	}
	if code == "sso_failed" {
		a.log.Error("single sign-on", "err", err)
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, "/signin?sso="+url.QueryEscape(code), http.StatusSeeOther)
}

// ssoButton handles GET /api/auth/sso.
func (a *api) ssoButton(w http.ResponseWriter, r *http.Request) {
	b, err := a.accounts.SSOSignInButton(r.Context())
	if err != nil {
		a.internal(w, "read single sign-on settings", err)
		return
	}
	writeJSON(w, http.StatusOK, b)
}

// ssoStart handles GET /api/auth/oidc/start.
func (a *api) ssoStart(w http.ResponseWriter, r *http.Request) {
	start, err := a.accounts.BeginSSO(r.Context(), clientIP(r), a.ssoRedirectURI(r))
	if err != nil {
		a.ssoFailed(w, r, err)
		return
	}
	a.setSSOCookie(w, start.Binding)
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, start.URL, http.StatusSeeOther)
}

// setSSOCookie binds a flow begun to this browser.
func (a *api) setSSOCookie(w http.ResponseWriter, binding string) {
	http.SetCookie(w, &http.Cookie{Name: SSOCookie, Value: binding, Path: ssoCookiePath,
		MaxAge: int((10 * time.Minute).Seconds()), HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteLaxMode})
}

// ssoCallback handles GET /api/auth/oidc/callback.
func (a *api) ssoCallback(w http.ResponseWriter, r *http.Request) {
	binding := ""
	if c, err := r.Cookie(SSOCookie); err == nil {
		binding = c.Value
	}
	http.SetCookie(w, &http.Cookie{Name: SSOCookie, Value: "", Path: ssoCookiePath, MaxAge: -1, HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteLaxMode})
	q := r.URL.Query()
	res, err := a.accounts.FinishSSO(r.Context(), binding, q.Get("state"), q.Get("code"), q.Get("error"), clientIP(r))
	if err != nil {
		a.ssoFailed(w, r, err)
		return
	}
	a.setSessionCookie(w, res.Token)
	w.Header().Set("Cache-Control", "no-store")
	if res.Linked { // a link begun from the account page (reauth.go)
		http.Redirect(w, r, "/account?sso=linked", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// ssoSettingsJSON is the administrator's view: the settings without the
// secret, and the redirect URI to register at the provider.
type ssoSettingsJSON struct {
	auth.SSOSettings
	RedirectURI string `json:"redirectUri"`
}

// getSSO handles GET /api/admin/sso.
func (a *api) getSSO(w http.ResponseWriter, r *http.Request) {
	u, ok := a.user(w, r, true)
	if !ok {
		return
	}
	s, err := a.accounts.SSOSettings(r.Context(), u)
	if err != nil {
		a.ssoAdminError(w, err)
		return
	}
	s.ClientSecret = "" // never shown; SecretSet says whether one is kept
	writeJSON(w, http.StatusOK, ssoSettingsJSON{SSOSettings: s, RedirectURI: a.ssoRedirectURI(r)})
}

// putSSO handles PUT /api/admin/sso.
func (a *api) putSSO(w http.ResponseWriter, r *http.Request) {
	u, ok := a.user(w, r, true)
	if !ok {
		return
	}
	if !a.recentAuth(w, r) { // reauth.go
		return
	}
	var in auth.SSOSettings
	if !readJSON(w, r, &in) {
		return
	}
	if err := a.accounts.UpdateSSO(r.Context(), u, in); err != nil {
		a.ssoAdminError(w, err)
		return
	}
	a.getSSO(w, r)
}

func (a *api) ssoAdminError(w http.ResponseWriter, err error) {
	var bad *auth.SSOConfigError
	switch {
	case errors.As(err, &bad):
		writeError(w, http.StatusBadRequest, "bad_sso", bad.Message)
	case errors.Is(err, auth.ErrSSOUnavailable):
		writeError(w, http.StatusNotImplemented, "sso_unavailable", "This server cannot keep single sign-on settings.")
	default:
		a.authError(w, err)
	}
}

// isSSOError reports whether err is one of single sign-on's refusals of
// another way in (authError's hook).
func isSSOError(err error) bool { return errors.Is(err, auth.ErrSSOOnly) }

// ssoOnlyError answers a password or passkey sign-in refused because
// the organisation signs its members in through its provider only.
func ssoOnlyError(w http.ResponseWriter) {
	writeError(w, http.StatusForbidden, "sso_only", "Your organisation signs in with single sign-on only. Use the single sign-on button.")
}

// ssoIdentityJSON is a linked identity in the account's data export.
type ssoIdentityJSON struct {
	Issuer         string     `json:"issuer"`
	Subject        string     `json:"subject"`
	CreatedAccount bool       `json:"createdAccount"`
	LinkedAt       time.Time  `json:"linkedAt"`
	LastUsed       *time.Time `json:"lastUsed,omitempty"`
}

// ssoExport lists u's linked identities for its data export.
func (a *api) ssoExport(ctx context.Context, u auth.User) ([]ssoIdentityJSON, error) {
	ids, err := a.accounts.SSOIdentities(ctx, u)
	if err != nil {
		return nil, err
	}
	out := make([]ssoIdentityJSON, len(ids))
	for i, id := range ids {
		out[i] = ssoIdentityJSON{Issuer: id.Issuer, Subject: id.Subject, CreatedAccount: id.Created, LinkedAt: id.CreatedAt}
		if !id.LastUsedAt.IsZero() {
			t := id.LastUsedAt
			out[i].LastUsed = &t
		}
	}
	return out, nil
}
