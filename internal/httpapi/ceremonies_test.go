package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/auth"
	"github.com/kaigi-meet/kaigi/internal/oidctest"
	"github.com/kaigi-meet/kaigi/internal/passkeytest"
	"github.com/kaigi-meet/kaigi/internal/store"
)

// twoNodes are two API servers sharing one database, each with its own
// accounts service (its own memory), as two nodes of a cluster behind a
// load balancer without sticky sessions; publicA and publicB are their
// public URLs ("" for none).
type twoNodes struct {
	db    *store.DB
	clock *fakeClock
	a, b  *httptest.Server
}

func newTwoNodes(t *testing.T, publicA, publicB string) *twoNodes {
	t.Helper()
	sealer, _ := auth.NewSealer(make([]byte, 32))
	db, err := store.OpenSQLite(context.Background(), t.TempDir(), sealer)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	n := &twoNodes{db: db, clock: &fakeClock{t: time.Now().UTC()}}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	node := func(public string) *httptest.Server {
		accounts := auth.NewService(auth.Options{Store: db, Sealer: sealer, Hash: auth.HashParams{Memory: 64, Time: 1, Threads: 1}, Logger: quiet, Now: n.clock.now})
		srv := httptest.NewServer(New(Options{Meetings: db, Accounts: accounts, Tokens: db, Now: n.clock.now, Signal: http.NotFoundHandler(),
			Web: testWeb, Logger: quiet, PublicURL: public}))
		t.Cleanup(srv.Close)
		return srv
	}
	n.b = node(publicB)
	if publicA == "b" {
		publicA = n.b.URL
	}
	n.a = node(publicA)
	return n
}

// on is b, its requests sent to srv (the cookie jar is shared: cookies
// are kept by host, not port, so both nodes get the browser's cookies as
// they would behind one load-balanced name).
func on(b *browser, srv *httptest.Server) *browser { return &browser{t: b.t, base: srv.URL, c: b.c} }

// TestPasskeyCeremonyFinishesOnAnotherNode: a passkey sign-in begun on
// one node is finished on another (the ceremony is in the shared store,
// not in the first node's memory); its answer does not work twice, on
// either node; and an answer after the ceremony's 5 minutes is refused.
func TestPasskeyCeremonyFinishesOnAnotherNode(t *testing.T) {
	n := newTwoNodes(t, passkeyOrigin, passkeyOrigin)
	ada := newBrowser(t, n.a)
	signUp(t, ada, "ada@example.org", "Ada")
	a := &passkeytest.Authenticator{Origin: passkeyOrigin}
	// Registration begun on A, finished on B (bound to the session,
	// which both nodes read from the store).
	code, begun := ada.call("POST", "/api/me/passkeys/begin", map[string]string{"password": password})
	if code != http.StatusOK {
		t.Fatalf("begin registration on A = %d %v", code, begun)
	}
	resp, cred, err := a.Create(options(t, begun))
	if err != nil {
		t.Fatal(err)
	}
	if code, body := on(ada, n.b).call("POST", "/api/me/passkeys/finish", map[string]any{"flow": begun["flow"], "name": "Laptop", "credential": json.RawMessage(resp)}); code != http.StatusCreated {
		t.Fatalf("finish registration on B = %d %v", code, body)
	}

	signIn := func(begin, finish *httptest.Server, wait time.Duration) (map[string]any, int, map[string]any) {
		t.Helper()
		b := newBrowser(t, begin)
		code, begun := b.call("POST", "/api/auth/passkey/begin", map[string]any{})
		if code != http.StatusOK {
			t.Fatalf("begin passkey sign-in = %d %v", code, begun)
		}
		resp, err := a.Get(options(t, begun), cred)
		if err != nil {
			t.Fatal(err)
		}
		n.clock.advance(wait)
		answer := map[string]any{"flow": begun["flow"], "credential": json.RawMessage(resp)}
		code, body := on(b, finish).call("POST", "/api/auth/passkey/finish", answer)
		return answer, code, body
	}
	answer, code, body := signIn(n.a, n.b, 0)
	if code != http.StatusOK {
		t.Fatalf("passkey sign-in begun on A, finished on B = %d %v", code, body)
	}
	for _, srv := range []*httptest.Server{n.a, n.b} {
		if code, body := newBrowser(t, srv).call("POST", "/api/auth/passkey/finish", answer); code != http.StatusUnauthorized || errCode(body) != "passkey_refused" {
			t.Errorf("the same answer again = %d %v, want passkey_refused", code, body)
		}
	}
	if _, code, body := signIn(n.a, n.b, 5*time.Minute+time.Second); code != http.StatusUnauthorized || errCode(body) != "passkey_refused" {
		t.Errorf("an answer after 5 minutes = %d %v, want passkey_refused", code, body)
	}
	if _, code, body := signIn(n.b, n.a, 0); code != http.StatusOK {
		t.Errorf("begun on B, finished on A = %d %v", code, body)
	}
}

// TestTwoStepSignInFinishesOnAnotherNode: a sign-in whose password step
// reached one node takes its code, or its passkey, on another; wrong
// codes are counted across nodes (5 in all end it), and the challenge
// works once.
func TestTwoStepSignInFinishesOnAnotherNode(t *testing.T) {
	n := newTwoNodes(t, passkeyOrigin, passkeyOrigin)
	ada := newBrowser(t, n.a)
	signUp(t, ada, "ada@example.org", "Ada")
	a := &passkeytest.Authenticator{Origin: passkeyOrigin}
	cred, _ := registerOverAPI(t, ada, a, "Laptop")
	_, e := ada.call("POST", "/api/me/2fa/begin", nil)
	secret, _ := e["secret"].(string)
	first, _ := auth.TOTPCode(secret, n.clock.now())
	if code, body := ada.call("POST", "/api/me/2fa/confirm", map[string]string{"code": first}); code != http.StatusOK {
		t.Fatalf("turn two-factor on = %d %v", code, body)
	}
	n.clock.advance(time.Minute) // the next code is another step's

	passwordOn := func(srv *httptest.Server) (*browser, string) {
		t.Helper()
		b := newBrowser(t, srv)
		code, body := b.call("POST", "/api/auth/signin", map[string]string{"email": "ada@example.org", "password": password})
		challenge, _ := body["challenge"].(string)
		if code != http.StatusOK || challenge == "" {
			t.Fatalf("password step = %d %v", code, body)
		}
		return b, challenge
	}

	// The code on the other node; the same challenge does not work twice.
	b, challenge := passwordOn(n.a)
	now, _ := auth.TOTPCode(secret, n.clock.now())
	if code, body := on(b, n.b).call("POST", "/api/auth/signin/code", map[string]string{"challenge": challenge, "code": now}); code != http.StatusOK {
		t.Fatalf("the code on B after the password on A = %d %v", code, body)
	}
	if code, body := on(b, n.a).call("POST", "/api/auth/signin/code", map[string]string{"challenge": challenge, "code": now}); code != http.StatusUnauthorized || errCode(body) != "challenge_expired" {
		t.Fatalf("the challenge again = %d %v", code, body)
	}

	// Wrong codes sent to both nodes count together: the fifth ends it.
	b, challenge = passwordOn(n.b)
	for i := range 5 {
		node := []*httptest.Server{n.a, n.b}[i%2]
		want := "bad_code"
		if i == 4 {
			want = "challenge_expired"
		}
		if code, body := on(b, node).call("POST", "/api/auth/signin/code", map[string]string{"challenge": challenge, "code": "000000"}); errCode(body) != want {
			t.Fatalf("wrong code %d = %d %v, want %s", i+1, code, body, want)
		}
	}

	// The passkey as the second step: password on A, begun on B, finished on A.
	b, challenge = passwordOn(n.a)
	code, begun := on(b, n.b).call("POST", "/api/auth/signin/passkey/begin", map[string]string{"challenge": challenge})
	if code != http.StatusOK {
		t.Fatalf("begin the passkey step on B = %d %v", code, begun)
	}
	resp, err := a.Get(options(t, begun), cred)
	if err != nil {
		t.Fatal(err)
	}
	if code, body := on(b, n.a).call("POST", "/api/auth/signin/passkey/finish", map[string]any{"challenge": challenge, "flow": begun["flow"], "credential": json.RawMessage(resp)}); code != http.StatusOK {
		t.Fatalf("finish the passkey step on A = %d %v", code, body)
	}
	if code, _ := on(b, n.b).call("GET", "/api/me", nil); code != http.StatusOK {
		t.Fatalf("signed in on B after the passkey step: %d", code)
	}
}

// TestSSOFlowFinishesOnAnotherNode: a sign-in through the provider begun
// on node A comes back to node B (the callback URL is B's) and signs in;
// one that comes back after the flow's 10 minutes is refused, and so is
// a callback in a browser without the flow's cookie.
func TestSSOFlowFinishesOnAnotherNode(t *testing.T) {
	n := newTwoNodes(t, "b", "")
	p := oidctest.New(t, "kaigi", testSSOSecret, n.clock.now)
	admin := newBrowser(t, n.a)
	signUp(t, admin, "admin@example.org", "Admin")
	settings := map[string]any{"enabled": true, "issuer": p.Issuer, "clientId": "kaigi", "clientSecret": testSSOSecret, "label": "Example ID", "allowCreate": true}
	if code, body := admin.call("PUT", "/api/admin/sso", settings); code != http.StatusOK || body["redirectUri"] != n.b.URL+ssoCallback {
		t.Fatalf("PUT /api/admin/sso on A: %d %v, want the callback on B", code, body)
	}
	p.SetPerson(oidctest.Person{Subject: "s-1", Email: "ana@example.org", EmailVerified: true, Name: "Ana"})

	// No redirect followed: start on A, then the provider, then the callback.
	steps := func() (*browser, string) {
		t.Helper()
		jar, _ := cookiejar.New(nil)
		b := &browser{t: t, base: n.a.URL, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
		resp, err := b.c.Get(n.a.URL + "/api/auth/oidc/start")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		atProvider, err := b.c.Get(resp.Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		atProvider.Body.Close()
		return b, atProvider.Header.Get("Location")
	}
	finish := func(b *browser, callback string) string {
		t.Helper()
		resp, err := b.c.Get(callback)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Header.Get("Location")
	}

	ana, callback := steps()
	if want := n.b.URL + ssoCallback + "?"; len(callback) < len(want) || callback[:len(want)] != want {
		t.Fatalf("the provider sends the browser to %q, want B's callback", callback)
	}
	if to := finish(ana, callback); to != "/" {
		t.Fatalf("the callback on B sent the browser to %q, want /", to)
	}
	if code, me := on(ana, n.b).call("GET", "/api/me", nil); code != http.StatusOK || me["user"].(map[string]any)["email"] != "ana@example.org" {
		t.Fatalf("/api/me on B after the sign-in begun on A: %d %v", code, me)
	}

	late, callback := steps()
	n.clock.advance(10*time.Minute + time.Second)
	if to := finish(late, callback); to != "/signin?sso=sso_expired" {
		t.Fatalf("a callback after 10 minutes went to %q", to)
	}
	n.clock.advance(-10*time.Minute - time.Second)

	_, callback = steps()
	stranger := newBrowser(t, n.b)
	stranger.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if to := finish(stranger, callback); to != "/signin?sso=sso_expired" {
		t.Fatalf("a callback in another browser went to %q", to)
	}
}

// TestSSOPreHijackingIsRefused: with sign-up open and linking by e-mail
// on, someone signs up with a colleague's address and a password of their
// own. When the colleague first signs in through the provider, that
// account is not linked (they are told to sign in to it first), so its
// maker's password leads to nothing the colleague uses. An account an
// administrator made is still linked by its e-mail; an owner who signed
// up themselves links the provider from their account, signed in and
// recently re-authenticated, proving control of both.
func TestSSOPreHijackingIsRefused(t *testing.T) {
	n := newTwoNodes(t, "", "")
	srv := n.a
	p := oidctest.New(t, "kaigi", testSSOSecret, n.clock.now)
	admin := newBrowser(t, srv)
	signUp(t, admin, "admin@example.org", "Admin")
	_, org := admin.call("GET", "/api/admin/org", nil)
	org["allowSignUp"] = true
	if code, body := admin.call("PUT", "/api/admin/org", org); code != http.StatusOK {
		t.Fatalf("open sign-up: %d %v", code, body)
	}
	settings := map[string]any{"enabled": true, "issuer": p.Issuer, "clientId": "kaigi", "clientSecret": testSSOSecret, "label": "Example ID", "linkByEmail": true, "allowCreate": true}
	if code, body := admin.call("PUT", "/api/admin/sso", settings); code != http.StatusOK {
		t.Fatalf("PUT /api/admin/sso: %d %v", code, body)
	}
	ssoSignIn := func(b *browser) string {
		t.Helper()
		resp, err := b.c.Get(srv.URL + "/api/auth/oidc/start")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Request.URL.RequestURI()
	}
	identities := func(b *browser) int {
		t.Helper()
		_, export := b.call("GET", "/api/me/export", nil)
		ids, _ := export["ssoIdentities"].([]any)
		return len(ids)
	}

	// The attack.
	mallory := newBrowser(t, srv)
	signUp(t, mallory, "victim@example.org", "Victim")
	p.SetPerson(oidctest.Person{Subject: "victim-1", Email: "victim@example.org", EmailVerified: true, Name: "Victim"})
	victim := newBrowser(t, srv)
	if at := ssoSignIn(victim); at != "/signin?sso=sso_sign_in_first" {
		t.Fatalf("the victim's first single sign-on ended at %s, want sso_sign_in_first", at)
	}
	if code, _ := victim.call("GET", "/api/me", nil); code != http.StatusUnauthorized {
		t.Fatalf("the victim was signed in to the account Mallory made: %d", code)
	}
	if got := identities(mallory); got != 0 {
		t.Fatalf("Mallory's account has %d linked identities, want none", got)
	}

	// An administrator's account for Bo is linked by its e-mail.
	if code, body := admin.call("POST", "/api/admin/users", map[string]string{"email": "bo@example.org", "name": "Bo", "password": "correct horse battery"}); code != http.StatusCreated {
		t.Fatalf("create Bo: %d %v", code, body)
	}
	p.SetPerson(oidctest.Person{Subject: "bo-1", Email: "bo@example.org", EmailVerified: true, Name: "Bo"})
	bo := newBrowser(t, srv)
	if at := ssoSignIn(bo); at != "/" {
		t.Fatalf("Bo's single sign-on ended at %s", at)
	}
	if code, me := bo.call("GET", "/api/me", nil); code != http.StatusOK || me["user"].(map[string]any)["email"] != "bo@example.org" {
		t.Fatalf("Bo after single sign-on: %d %v", code, me)
	}

	// Cy signed up herself: she links from her account, which needs a
	// recent re-authentication.
	cy := newBrowser(t, srv)
	signUp(t, cy, "cy@example.org", "Cy")
	p.SetPerson(oidctest.Person{Subject: "cy-1", Email: "cy@example.org", EmailVerified: true, Name: "Cy"})
	n.clock.advance(auth.ReauthWindow + time.Second)
	if code, body := cy.call("POST", "/api/auth/oidc/link", map[string]any{}); code != http.StatusForbidden || errCode(body) != "reauth_required" {
		t.Fatalf("link without a recent re-authentication = %d %v", code, body)
	}
	if code, body := cy.call("POST", "/api/auth/reauth", map[string]string{"password": password}); code != http.StatusOK {
		t.Fatalf("re-authenticate = %d %v", code, body)
	}
	code, body := cy.call("POST", "/api/auth/oidc/link", map[string]any{})
	link, _ := body["url"].(string)
	if code != http.StatusOK || link == "" {
		t.Fatalf("link = %d %v", code, body)
	}
	resp, err := cy.c.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if at := resp.Request.URL.RequestURI(); at != "/account?sso=linked" {
		t.Fatalf("the link ended at %s", at)
	}
	if got := identities(cy); got != 1 {
		t.Fatalf("Cy's account has %d linked identities after linking, want 1", got)
	}
	again := newBrowser(t, srv)
	if at := ssoSignIn(again); at != "/" {
		t.Fatalf("Cy's single sign-on after linking ended at %s", at)
	}
	if _, me := again.call("GET", "/api/me", nil); me["user"].(map[string]any)["email"] != "cy@example.org" {
		t.Fatalf("single sign-on after linking reached %v", me["user"])
	}
	// An identity linked to one account is not linked to another by a
	// link begun there (Mallory, re-authenticated with her own password,
	// coming back from the provider with Cy's identity).
	if code, body := mallory.call("POST", "/api/auth/reauth", map[string]string{"password": password}); code != http.StatusOK {
		t.Fatalf("Mallory re-authenticates = %d %v", code, body)
	}
	_, body = mallory.call("POST", "/api/auth/oidc/link", map[string]any{})
	link, _ = body["url"].(string)
	if link == "" {
		t.Fatalf("Mallory's link: %v", body)
	}
	if resp, err = mallory.c.Get(link); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if at := resp.Request.URL.RequestURI(); at != "/signin?sso=sso_link_refused" {
		t.Fatalf("linking another account's identity ended at %s", at)
	}
	if got := identities(mallory); got != 0 {
		t.Fatalf("Mallory's account has %d linked identities, want none", got)
	}
}
