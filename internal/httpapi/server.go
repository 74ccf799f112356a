package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/kaigi-meet/kaigi/internal/auth"
	"github.com/kaigi-meet/kaigi/internal/policy"
)

// Options are what the HTTP surface is built from.
type Options struct {
	Meetings Meetings
	Accounts *auth.Service
	// Signal serves the signalling WebSocket at /ws.
	Signal http.Handler
	// Live lists and ends meetings in progress for administrators.
	Live Live
	// Usage gives administrators the usage figures (usage.go).
	Usage UsageFigures
	// Metrics serves /metrics to a scraper that sends MetricsToken as
	// "Authorization: Bearer <token>". Without both, /metrics is not
	// served at all: it reveals load and process details to anyone.
	Metrics      http.Handler
	MetricsToken string
	// Web is the built web client (index.html, assets/...).
	Web fs.FS
	// Health reports whether the server can serve (e.g. the database
	// answers).
	Health func(ctx context.Context) error
	// PublicURL, if set, is the origin used in links we hand out.
	PublicURL string
	// TLS says the server is served over HTTPS (HSTS, Secure cookies).
	TLS    bool
	Logger *slog.Logger
	// Version is the server's version, shown on /about.
	Version string
	// ICEServerURLs are the STUN/TURN servers browsers are told to use
	// besides the embedded TURN server: outside parties that see a
	// browser's address, which the privacy page names.
	ICEServerURLs []string
	// Countries checks country rules; nil without a GeoIP database, and
	// then no country rule can be set (admission.go).
	Countries CountryCheck
	// Region is this node's region label ("" for none): the pre-join page
	// is told when a meeting may not be held here (meeting/regions.go).
	Region string
	// Tokens keeps API tokens (tokens.go); nil: no token is accepted.
	Tokens TokenStore
	// Webhooks manages the organisation's webhooks (webhooks.go); nil:
	// the server has none.
	Webhooks Webhooks
	// Now is the clock (tokens' expiry and last use); nil: time.Now.
	Now func() time.Time
	// Recordings keeps browser-encrypted recordings (recordings.go); nil:
	// the server takes none. RecordingLimits bounds them.
	Recordings      RecordingStore
	RecordingLimits RecordingLimits
	// Ingest is WHIP ingest (ingest.go); without tokens and a handler,
	// /whip/ is not served.
	Ingest Ingest
}

type api struct {
	meetings  Meetings
	accounts  *auth.Service
	live      Live
	usage     UsageFigures
	publicURL string
	secure    bool
	log       *slog.Logger
	now       func() time.Time

	lookupLimit *policy.Limiter // meeting look-ups per address
	createLimit *policy.Limiter // meetings created per account

	transparencyCache transparencyCache // governance.go

	aboutInfo    aboutInfo // about.go
	thirdParties []string  // privacy.go

	countries CountryCheck // admission.go; nil: no GeoIP database
	region    string       // this node's region label (Options.Region)

	tokens      TokenStore      // tokens.go; nil: none accepted
	bearerFails *policy.Limiter // failed bearer attempts per address
	webhooks    Webhooks        // webhooks.go; nil: none
}

// The web client's pages: every one is the same single-page client, which
// picks the screen from the path.
var pages = []string{"/{$}", "/m/{id}", "/signin", "/signup", "/account", "/admin", "/schedule", "/privacy", "/about", "/transparency", "/recordings"}

// New returns the server's root handler.
func New(opts Options) http.Handler {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	a := &api{
		meetings: opts.Meetings, accounts: opts.Accounts, live: opts.Live, usage: opts.Usage, log: log, now: time.Now,
		publicURL:   strings.TrimSuffix(opts.PublicURL, "/"),
		secure:      opts.TLS || strings.HasPrefix(opts.PublicURL, "https:"),
		lookupLimit: policy.NewLimiter(policy.Rate{Every: time.Second, Burst: 30}, nil),
		createLimit: policy.NewLimiter(policy.Rate{Every: 10 * time.Second, Burst: 20}, nil),
	}
	a.thirdParties = thirdPartyHosts(opts.ICEServerURLs)
	a.countries = opts.Countries
	a.region = opts.Region
	a.tokens = opts.Tokens
	a.webhooks = opts.Webhooks
	a.bearerFails = policy.NewLimiter(bearerFailures, opts.Now)
	if opts.Now != nil {
		a.now = opts.Now
	}
	var aboutErr error
	if a.aboutInfo, aboutErr = newAbout(opts.Version, opts.Web); aboutErr != nil {
		log.Error("web client digest unavailable", "err", aboutErr)
	}

	mux := http.NewServeMux()
	wc, err := loadWebClient(opts.Web)
	for _, p := range pages {
		if err != nil {
			mux.HandleFunc("GET "+p, missingClient)
		} else {
			mux.HandleFunc("GET "+p, wc.index)
		}
	}
	if err != nil {
		log.Error("web client unavailable", "err", err)
	} else {
		mux.HandleFunc("GET /assets/", wc.assets)
	}

	mux.HandleFunc("POST /api/auth/signup", a.signUp)
	mux.HandleFunc("POST /api/auth/signin", a.signIn)
	mux.HandleFunc("POST /api/auth/signin/code", a.signInCode)
	a.routePasskeys(mux) // passkeys.go
	a.routeSSO(mux)      // sso.go
	mux.HandleFunc("POST /api/auth/signout", a.signOut)
	mux.HandleFunc("POST /api/auth/signout-everywhere", a.signOutEverywhere)
	mux.HandleFunc("GET /api/me", a.me)
	mux.HandleFunc("GET /api/server", a.serverInfo)
	mux.HandleFunc("GET /api/privacy", a.privacy)
	mux.HandleFunc("GET /api/about", a.about)
	mux.HandleFunc("POST /api/me/password", a.changePassword)
	mux.HandleFunc("POST /api/me/2fa/begin", a.beginTOTP)
	mux.HandleFunc("POST /api/me/2fa/confirm", a.confirmTOTP)
	mux.HandleFunc("POST /api/me/2fa/disable", a.disableTOTP)
	mux.HandleFunc("POST /api/me/2fa/recovery-codes", a.regenerateCodes)
	mux.HandleFunc("GET /api/admin/org", a.getOrg)
	mux.HandleFunc("PUT /api/admin/org", a.putOrg)
	mux.HandleFunc("GET /api/admin/users", a.listUsers)
	mux.HandleFunc("POST /api/admin/users", a.createUser)
	mux.HandleFunc("GET /api/admin/audit", a.adminAudit)
	mux.HandleFunc("GET /api/me/audit", a.myAudit)
	mux.HandleFunc("POST /api/admin/users/{id}/{action}", a.adminUserAction)
	mux.HandleFunc("POST /api/me/delete", a.deleteMe)
	mux.HandleFunc("GET /api/admin/meetings/live", a.adminLiveMeetings)
	mux.HandleFunc("POST /api/admin/meetings/{id}/end", a.adminEndMeeting)
	mux.HandleFunc("POST /api/admin/meetings/{id}/lock", a.adminLockMeeting)
	mux.HandleFunc("POST /api/admin/meetings/{id}/move", a.adminMoveMeeting)
	mux.HandleFunc("GET /api/admin/usage", a.adminUsage)
	mux.HandleFunc("GET /api/transparency", a.transparency)
	mux.HandleFunc("GET /api/me/export", a.exportMe)
	mux.HandleFunc("POST /api/meetings", a.createMeeting)
	mux.HandleFunc("GET /api/meetings", a.listMeetings)
	mux.HandleFunc("GET /api/meetings/{id}", a.getMeeting)
	mux.HandleFunc("GET /api/meetings/{id}/admission", a.admission)
	mux.HandleFunc("PATCH /api/meetings/{id}", a.updateMeeting)
	mux.HandleFunc("DELETE /api/meetings/{id}", a.deleteMeeting)
	mux.HandleFunc("GET /api/me/tokens", a.listMyTokens)
	mux.HandleFunc("POST /api/me/tokens", a.createMyToken)
	mux.HandleFunc("DELETE /api/me/tokens/{id}", a.revokeMyToken)
	mux.HandleFunc("GET /api/admin/tokens", a.listOrgTokens)
	mux.HandleFunc("POST /api/admin/tokens", a.createOrgToken)
	mux.HandleFunc("DELETE /api/admin/tokens/{id}", a.revokeOrgToken)
	a.webhookRoutes(mux) // webhooks.go
	// Browser-encrypted recordings (recordings.go).
	a.recordingRoutes(mux, opts.Recordings, opts.RecordingLimits)
	a.ingestRoutes(mux, opts.Ingest) // WHIP ingest (ingest.go)

	mux.Handle("GET /ws", opts.Signal)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if opts.Health != nil {
			if err := opts.Health(ctx); err != nil {
				log.Error("health check failed", "err", err)
				w.WriteHeader(http.StatusServiceUnavailable)
				w.Write([]byte("unhealthy\n"))
				return
			}
		}
		w.Write([]byte("ok\n"))
	})
	if opts.Metrics != nil && opts.MetricsToken != "" {
		mux.Handle("GET /metrics", requireBearer(opts.MetricsToken, opts.Metrics))
	}

	// Every state-changing request must come from our own pages (the
	// WebSocket checks its Origin itself).
	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusForbidden, "cross_origin", "Requests from other sites are refused.")
	}))
	// A request with a bearer token is the token's (tokens.go): it never
	// rides a cookie, so it needs no cross-origin check.
	return securityHeaders(opts.TLS, logRequests(log, a.withBearer(mux, csrf.Handler(mux))))
}

// requireBearer serves next only to requests that carry token as a bearer
// token. Both sides are hashed first so the comparison takes the same time
// whatever the length of a guess.
func requireBearer(token string, next http.Handler) http.Handler {
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, got, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		sum := sha256.Sum256([]byte(got))
		if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="kaigi metrics"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "A metrics token is needed.")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// logRequests logs each request at debug level: method, path, status and
// duration. Query strings are left out; they may carry secrets one day.
func logRequests(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		log.Debug("http", "method", r.Method, "path", r.URL.Path, "status", rec.status,
			"duration", time.Since(start), "remote", r.RemoteAddr)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController (and the WebSocket upgrade) reach the
// underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
