package httpapi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kaigi-meet/kaigi/internal/audit"
	"github.com/kaigi-meet/kaigi/internal/auth"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/policy"
	"github.com/kaigi-meet/kaigi/internal/store"
)

// API tokens let programs use the documented API with
// "Authorization: Bearer <token>" instead of a browser's session cookie.
// A personal token acts for the account that made it, with the scopes it
// was given (meetings:read, meetings:write); an organisation token is made
// by an administrator, may also have the admin scope, and acts with that
// administrator's account while it is an administrator. A token is shown
// once; the store keeps its SHA-256, found by lookup (the token carries
// 256 random bits, so a fast hash is the right one and there is nothing
// to compare byte by byte). A token reaches only the endpoints of
// tokenRoutes, each with the scope it needs: never those that change
// credentials (password, two-factor, tokens, webhooks, deleting an
// account), which keep needing the session cookie and the cross-origin
// check.

// The scopes a token may have.
const (
	ScopeMeetingsRead  = "meetings:read"
	ScopeMeetingsWrite = "meetings:write"
	ScopeAdmin         = "admin"
)

// The prefixes of a token's text, which say what it is (and let secret
// scanners find a leaked one).
const (
	personalTokenPrefix = "kaigi_pat_"
	orgTokenPrefix      = "kaigi_org_"
)

// tokenRoutes are the routes a token may reach (as registered in New),
// each with the scope it needs ("": any token of the account).
var tokenRoutes = map[string]string{
	"GET /api/me":                             "",
	"GET /api/server":                         "", // public, but a client may send its token on every request
	"GET /api/privacy":                        "",
	"GET /api/about":                          "",
	"GET /api/transparency":                   "",
	"GET /api/meetings":                       ScopeMeetingsRead,
	"GET /api/meetings/{id}":                  ScopeMeetingsRead,
	"GET /api/meetings/{id}/admission":        ScopeMeetingsRead,
	"POST /api/meetings":                      ScopeMeetingsWrite,
	"PATCH /api/meetings/{id}":                ScopeMeetingsWrite,
	"DELETE /api/meetings/{id}":               ScopeMeetingsWrite,
	"GET /api/admin/org":                      ScopeAdmin,
	"PUT /api/admin/org":                      ScopeAdmin,
	"GET /api/admin/users":                    ScopeAdmin,
	"GET /api/admin/audit":                    ScopeAdmin,
	"GET /api/admin/meetings/live":            ScopeAdmin,
	"POST /api/admin/meetings/{id}/end":       ScopeAdmin,
	"POST /api/admin/meetings/{id}/lock":      ScopeAdmin,
	"POST /api/admin/meetings/{id}/move":      ScopeAdmin,
	"GET /api/admin/usage":                    ScopeAdmin,
	"GET /api/admin/webhooks":                 ScopeAdmin,
	"GET /api/admin/webhooks/{id}/deliveries": ScopeAdmin,
}

// TokenStore is what API tokens need of the store (internal/store).
type TokenStore interface {
	CreateAPIToken(ctx context.Context, t store.APIToken, rec audit.Entry) error
	APITokenByHash(ctx context.Context, hash []byte) (store.APIToken, error)
	APITokens(ctx context.Context, kind, userID string) ([]store.APIToken, error)
	RevokeAPIToken(ctx context.Context, id, kind, userID string, rec func(store.APIToken) audit.Entry) error
	TouchAPIToken(ctx context.Context, id string, at time.Time) error
	UserByID(ctx context.Context, id string) (auth.User, error)
}

// Limits on tokens.
const (
	maxTokensPerOwner = 50 // an account's personal tokens; the organisation's
	maxTokenDays      = 3650
	maxTokenName      = 100 // bytes
	// tokenTouchEvery is how often a token's last use is written at most.
	tokenTouchEvery = time.Minute
)

// bearerFailures are failed bearer attempts per address (an IPv4
// address, an IPv6 /64), as sign-in's: 20 at once, then one every 6 s.
var bearerFailures = policy.Rate{Every: 6 * time.Second, Burst: 20}

// bearerUser is the context key of the account a request's bearer token
// acts for.
type bearerUser struct{}

// withBearer serves a request that carries an Authorization header to an
// /api/ route: the token decides who it is (never a cookie), it reaches
// only tokenRoutes with the scope each needs, and it is not subject to
// the cross-origin check (next's), which protects cookies a browser adds
// by itself: a page on another site cannot make a browser send an
// Authorization header it does not have. Everything else goes to next.
func (a *api) withBearer(mux *http.ServeMux, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" || !strings.HasPrefix(r.URL.Path, "/api/") {
			next.ServeHTTP(w, r)
			return
		}
		_, pattern := mux.Handler(r)
		scope, allowed := tokenRoutes[pattern]
		if !allowed {
			writeError(w, http.StatusForbidden, "token_not_allowed", "This endpoint needs a signed-in browser, not an API token.")
			return
		}
		tok, u, ok := a.bearer(w, r)
		if !ok {
			return
		}
		if scope != "" && !slices.Contains(tok.Scopes, scope) {
			w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope", scope="`+scope+`"`)
			writeError(w, http.StatusForbidden, "insufficient_scope", "This token does not have the "+scope+" scope.")
			return
		}
		mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), bearerUser{}, u)))
	})
}

// bearer checks the request's bearer token and returns it with its
// account, or writes the refusal: 429 for an address over its failures
// (checked before the token is), 401 for anything wrong with the token,
// all with the same code so none tells which.
func (a *api) bearer(w http.ResponseWriter, r *http.Request) (store.APIToken, auth.User, bool) {
	ip, _ := netip.ParseAddr(clientIP(r))
	key := policy.AddressKey(ip)
	if key == "" {
		key = clientIP(r)
	}
	if !a.bearerFails.Peek(key) {
		writeError(w, http.StatusTooManyRequests, "rate_limited", "Too many requests with a wrong token. Wait a minute and try again.")
		return store.APIToken{}, auth.User{}, false
	}
	fail := func() (store.APIToken, auth.User, bool) {
		a.bearerFails.Allow(key)
		w.Header().Set("WWW-Authenticate", `Bearer realm="kaigi", error="invalid_token"`)
		writeError(w, http.StatusUnauthorized, "bad_token", "The API token is not valid: wrong, revoked, expired, or its account can no longer use it.")
		return store.APIToken{}, auth.User{}, false
	}
	if a.tokens == nil {
		return fail()
	}
	scheme, text, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || !(strings.HasPrefix(text, personalTokenPrefix) || strings.HasPrefix(text, orgTokenPrefix)) || len(text) > 200 {
		return fail()
	}
	sum := sha256.Sum256([]byte(text))
	tok, err := a.tokens.APITokenByHash(r.Context(), sum[:])
	if errors.Is(err, store.ErrNotFound) {
		return fail()
	}
	if err != nil {
		a.internal(w, "find token", err)
		return tok, auth.User{}, false
	}
	now := a.now()
	if !tok.ExpiresAt.IsZero() && !now.Before(tok.ExpiresAt) {
		return fail()
	}
	u, err := a.tokens.UserByID(r.Context(), tok.UserID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (u.Suspended() || (tok.Kind == store.TokenOrg && u.Role != auth.RoleAdmin))) {
		return fail()
	}
	if err != nil {
		a.internal(w, "token's account", err)
		return tok, u, false
	}
	if now.Sub(tok.LastUsed) >= tokenTouchEvery {
		if err := a.tokens.TouchAPIToken(r.Context(), tok.ID, now); err != nil {
			a.log.Error("note a token's use", "err", err)
		}
	}
	return tok, u, true
}

// tokenJSON is what the API shows of a token: never the token.
type tokenJSON struct {
	ID        string     `json:"id"`
	Kind      string     `json:"kind"`
	Name      string     `json:"name"`
	Scopes    []string   `json:"scopes"`
	CreatedAt time.Time  `json:"createdAt"`
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
	LastUsed  *time.Time `json:"lastUsed,omitempty"`
	// CreatedBy is an organisation token's administrator.
	CreatedBy *tokenOwnerJSON `json:"createdBy,omitempty"`
}

type tokenOwnerJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func (a *api) toTokenJSON(ctx context.Context, t store.APIToken) tokenJSON {
	j := tokenJSON{ID: t.ID, Kind: t.Kind, Name: t.Name, Scopes: t.Scopes, CreatedAt: t.CreatedAt}
	if j.Scopes == nil {
		j.Scopes = []string{}
	}
	if !t.ExpiresAt.IsZero() {
		j.ExpiresAt = &t.ExpiresAt
	}
	if !t.LastUsed.IsZero() {
		j.LastUsed = &t.LastUsed
	}
	if t.Kind == store.TokenOrg {
		name, _ := a.accounts.UserName(ctx, t.UserID)
		j.CreatedBy = &tokenOwnerJSON{ID: t.UserID, Name: name}
	}
	return j
}

// tokenOwner is the signed-in account for the token endpoints: with a
// session cookie (the bearer middleware refuses tokens here), and an
// administrator for the organisation's tokens.
func (a *api) tokenOwner(w http.ResponseWriter, r *http.Request, kind string) (auth.User, bool) {
	if a.tokens == nil {
		writeError(w, http.StatusNotFound, "page_not_found", "This server has no API tokens.")
		return auth.User{}, false
	}
	if kind == store.TokenOrg {
		return a.admin(w, r)
	}
	return a.user(w, r, true)
}

func (a *api) listMyTokens(w http.ResponseWriter, r *http.Request) {
	a.listTokens(w, r, store.TokenPersonal)
}
func (a *api) listOrgTokens(w http.ResponseWriter, r *http.Request) {
	a.listTokens(w, r, store.TokenOrg)
}
func (a *api) createMyToken(w http.ResponseWriter, r *http.Request) {
	a.createToken(w, r, store.TokenPersonal)
}
func (a *api) createOrgToken(w http.ResponseWriter, r *http.Request) {
	a.createToken(w, r, store.TokenOrg)
}
func (a *api) revokeMyToken(w http.ResponseWriter, r *http.Request) {
	a.revokeToken(w, r, store.TokenPersonal)
}
func (a *api) revokeOrgToken(w http.ResponseWriter, r *http.Request) {
	a.revokeToken(w, r, store.TokenOrg)
}

// listTokens handles GET /api/me/tokens and GET /api/admin/tokens.
func (a *api) listTokens(w http.ResponseWriter, r *http.Request, kind string) {
	u, ok := a.tokenOwner(w, r, kind)
	if !ok {
		return
	}
	toks, err := a.tokens.APITokens(r.Context(), kind, u.ID)
	if err != nil {
		a.internal(w, "list tokens", err)
		return
	}
	out := make([]tokenJSON, 0, len(toks))
	for _, t := range toks {
		out = append(out, a.toTokenJSON(r.Context(), t))
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": out})
}

// createToken handles POST /api/me/tokens and POST /api/admin/tokens
// {name, scopes, expiresInDays?}: 201 {token, secret}, the secret shown
// this once.
func (a *api) createToken(w http.ResponseWriter, r *http.Request, kind string) {
	u, ok := a.tokenOwner(w, r, kind)
	if !ok {
		return
	}
	// A token outlives the session that makes it: a stolen session
	// must not mint one (reauth.go).
	if !a.recentAuth(w, r) {
		return
	}
	var req struct {
		Name          string
		Scopes        []string
		ExpiresInDays int
	}
	if !readJSON(w, r, &req) {
		return
	}
	name, err := meeting.NormaliseName(req.Name)
	if err != nil || len(name) > maxTokenName {
		writeError(w, http.StatusBadRequest, "bad_name", "Name the token: 1 to 64 characters, without control or invisible characters.")
		return
	}
	scopes, msg := checkScopes(req.Scopes, kind)
	if msg != "" {
		writeError(w, http.StatusBadRequest, "bad_scopes", msg)
		return
	}
	if req.ExpiresInDays < 0 || req.ExpiresInDays > maxTokenDays {
		writeError(w, http.StatusBadRequest, "bad_expiry", "A token expires in 1 to 3650 days, or never (0).")
		return
	}
	existing, err := a.tokens.APITokens(r.Context(), kind, u.ID)
	if err != nil {
		a.internal(w, "count tokens", err)
		return
	}
	if len(existing) >= maxTokensPerOwner {
		writeError(w, http.StatusConflict, "too_many_tokens", "There are 50 tokens already. Revoke one first.")
		return
	}
	now := a.now().UTC()
	t := store.APIToken{ID: newTokenID(), Kind: kind, UserID: u.ID, Name: name, Scopes: scopes, CreatedAt: now}
	if req.ExpiresInDays > 0 {
		t.ExpiresAt = now.Add(time.Duration(req.ExpiresInDays) * 24 * time.Hour)
	}
	secret := newTokenText(kind)
	sum := sha256.Sum256([]byte(secret))
	t.Hash = sum[:]
	rec := tokenEntry(u, audit.TokenCreated, t, now)
	rec.Details["scopes"] = strings.Join(scopes, " ")
	if !t.ExpiresAt.IsZero() {
		rec.Details["expires"] = t.ExpiresAt.Format(time.RFC3339)
	}
	if err := a.tokens.CreateAPIToken(r.Context(), t, rec); err != nil {
		a.internal(w, "create token", err)
		return
	}
	a.log.Info("API token created", "token", t.ID, "kind", kind, "user", u.ID)
	writeJSON(w, http.StatusCreated, map[string]any{"token": a.toTokenJSON(r.Context(), t), "secret": secret})
}

// revokeToken handles DELETE /api/me/tokens/{id} (one's own) and DELETE
// /api/admin/tokens/{id} (any of the organisation's).
func (a *api) revokeToken(w http.ResponseWriter, r *http.Request, kind string) {
	u, ok := a.tokenOwner(w, r, kind)
	if !ok {
		return
	}
	now := a.now().UTC()
	err := a.tokens.RevokeAPIToken(r.Context(), r.PathValue("id"), kind, u.ID, func(t store.APIToken) audit.Entry {
		return tokenEntry(u, audit.TokenRevoked, t, now)
	})
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "There is no such token.")
		return
	}
	if err != nil {
		a.internal(w, "revoke token", err)
		return
	}
	a.log.Info("API token revoked", "token", r.PathValue("id"), "kind", kind, "user", u.ID)
	w.WriteHeader(http.StatusNoContent)
}

// tokenEntry is the audit entry of a token's creation or revocation by u.
func tokenEntry(u auth.User, action audit.Action, t store.APIToken, now time.Time) audit.Entry {
	e := audit.Entry{Time: now, ActorKind: audit.ActorUser, ActorID: u.ID, Action: action,
		SubjectKind: audit.SubjectUser, SubjectID: t.UserID,
		Details: map[string]string{"id": t.ID, "kind": t.Kind, "name": t.Name}}
	if t.Kind == store.TokenOrg {
		e.SubjectKind, e.SubjectID = audit.SubjectOrg, ""
	}
	return e
}

// checkScopes returns the requested scopes sorted, or why they are
// refused: at least one, each known, and admin only for an
// organisation's token.
func checkScopes(in []string, kind string) ([]string, string) {
	if len(in) == 0 {
		return nil, "Give the token at least one scope."
	}
	out := []string{}
	for _, s := range in {
		switch s {
		case ScopeMeetingsRead, ScopeMeetingsWrite:
		case ScopeAdmin:
			if kind != store.TokenOrg {
				return nil, "Only an organisation token (made by an administrator) may have the admin scope."
			}
		default:
			return nil, "Unknown scope " + strconv.Quote(s) + ": the scopes are meetings:read, meetings:write and admin."
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out, ""
}

// newTokenText returns a fresh token: its kind's prefix and 32 random
// bytes (256 bits) in base64url.
func newTokenText(kind string) string {
	b := make([]byte, 32)
	rand.Read(b)
	prefix := personalTokenPrefix
	if kind == store.TokenOrg {
		prefix = orgTokenPrefix
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

func newTokenID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// exportTokens are the tokens that act for u, for its data export: its
// personal tokens and the organisation tokens it made.
func (a *api) exportTokens(ctx context.Context, u auth.User) ([]tokenJSON, error) {
	out := []tokenJSON{}
	if a.tokens == nil {
		return out, nil
	}
	mine, err := a.tokens.APITokens(ctx, store.TokenPersonal, u.ID)
	if err != nil {
		return nil, err
	}
	org, err := a.tokens.APITokens(ctx, store.TokenOrg, "")
	if err != nil {
		return nil, err
	}
	for _, t := range append(mine, org...) {
		if t.UserID == u.ID {
			out = append(out, a.toTokenJSON(ctx, t))
		}
	}
	return out, nil
}
