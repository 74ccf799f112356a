package httpapi

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"time"

	"github.com/kaigi-meet/kaigi/internal/auth"
)

// SessionCookie is the name of the session cookie: HttpOnly (scripts
// never see it), SameSite=Lax (not sent on cross-site requests other than
// following a link), Secure when served over HTTPS.
const SessionCookie = "kaigi_session"

func (a *api) setSessionCookie(w http.ResponseWriter, token string) {
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: token, Path: "/",
		MaxAge: int((30 * 24 * time.Hour).Seconds()), HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteLaxMode,
	})
}

func (a *api) clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteLaxMode})
}

// DeviceCookie holds the browser's known-device tokens (auth/devices.go):
// one per account that signed in fully from it, which lets that
// account's owner in with the right two-factor code while others guess
// codes. It outlives signing out (that is its point), is sent only to
// the sign-in endpoints (Path=/api/auth/, SameSite=Strict), is HttpOnly,
// and is never a session.
const DeviceCookie = "kaigi_device"

// signedIn answers a completed sign-in (password, code or passkey): the
// session cookie, the known-device cookie, and the account.
func (a *api) signedIn(w http.ResponseWriter, res auth.SignInResult) {
	a.setSessionCookie(w, res.Token)
	a.setDeviceCookie(w, res.Device)
	writeJSON(w, http.StatusOK, map[string]any{"user": toUserJSON(res.User)})
}

// setDeviceCookie sets the known-device cookie after a full sign-in; an
// empty value sets nothing.
func (a *api) setDeviceCookie(w http.ResponseWriter, value string) {
	if value == "" {
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: DeviceCookie, Value: value, Path: "/api/auth/",
		MaxAge: int(auth.DeviceLifetime.Seconds()), HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteStrictMode,
	})
}

// deviceCookies are the request's known-device cookie values, as many as
// it sent (auth bounds what it reads of them).
func deviceCookies(r *http.Request) []string {
	var out []string
	for _, c := range r.CookiesNamed(DeviceCookie) {
		out = append(out, c.Value)
	}
	return out
}

// sessionToken is the request's session cookie, unless the request
// carries an Authorization header: then it is a program's with an API
// token (tokens.go), and a cookie the browser added must not speak for it.
func sessionToken(r *http.Request) string {
	if r.Header.Get("Authorization") != "" {
		return ""
	}
	if c, err := r.Cookie(SessionCookie); err == nil {
		return c.Value
	}
	return ""
}

// user returns the signed-in account, or writes a 401 and returns false.
// With full, an account that must still enrol in two-factor (because the
// organisation requires it) is refused too.
func (a *api) user(w http.ResponseWriter, r *http.Request, full bool) (auth.User, bool) {
	u, fromToken := r.Context().Value(bearerUser{}).(auth.User) // tokens.go
	var err error
	if !fromToken {
		u, err = a.accounts.Authenticate(r.Context(), sessionToken(r))
	}
	if errors.Is(err, auth.ErrNoSession) {
		writeError(w, http.StatusUnauthorized, "not_signed_in", "Sign in first.")
		return auth.User{}, false
	}
	if err != nil {
		a.internal(w, "authenticate", err)
		return auth.User{}, false
	}
	if full {
		org, err := a.accounts.Org(r.Context())
		if err != nil {
			a.internal(w, "read organisation", err)
			return auth.User{}, false
		}
		// A passkey counts as two-factor (passkeys.go).
		needTwoFactor, needPasskey, err := a.accounts.Requirements(r.Context(), org, u)
		if err != nil {
			a.internal(w, "count passkeys", err)
			return auth.User{}, false
		}
		if needTwoFactor {
			writeError(w, http.StatusForbidden, "two_factor_required", "Your organisation requires two-factor authentication. Set it up first.")
			return auth.User{}, false
		}
		if needPasskey {
			writeError(w, http.StatusForbidden, "passkey_required", "Your organisation requires a passkey. Register one first.")
			return auth.User{}, false
		}
	}
	return u, true
}

func (a *api) internal(w http.ResponseWriter, what string, err error) {
	a.log.Error(what, "err", err)
	writeError(w, http.StatusInternalServerError, "internal", "The server failed. Try again in a moment.")
}

// clientIP is the request's peer address, for rate limits.
func clientIP(r *http.Request) string {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return ap.Addr().Unmap().String()
}

// Identify returns the function the signalling server uses to learn who
// opened a socket: the account of the request's session, unless it must
// still enrol in two-factor (then it counts as a guest).
func Identify(accounts *auth.Service) func(*http.Request) string {
	return func(r *http.Request) string {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		u, err := accounts.Authenticate(ctx, sessionToken(r))
		if err != nil {
			return ""
		}
		org, err := accounts.Org(ctx)
		if err != nil {
			return ""
		}
		if twoFactor, passkey, err := accounts.Requirements(ctx, org, u); err != nil || twoFactor || passkey {
			return ""
		}
		return u.ID
	}
}
