package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/passkeytest"
)

const passkeyOrigin = "http://meet.example.org"

// newPasskeyServer serves the API with public URL passkeyOrigin (not
// https, so that the test's cookie jar sends the cookies to the
// loopback address it really listens on).
func newPasskeyServer(t *testing.T, publicURL string) *httptest.Server {
	t.Helper()
	env := newTestEnv(t)
	signal := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	srv := httptest.NewServer(New(Options{Meetings: env.db, Accounts: env.accounts, Signal: signal, Web: testWeb, Logger: env.log, PublicURL: publicURL}))
	t.Cleanup(srv.Close)
	return srv
}

// options is the "options" of a ceremony's begin, as the JSON the
// browser would get.
func options(t *testing.T, body map[string]any) []byte {
	t.Helper()
	o, err := json.Marshal(body["options"])
	if err != nil || body["flow"] == "" {
		t.Fatalf("ceremony %v", body)
	}
	return o
}

// registerOverAPI registers a passkey for b's account.
func registerOverAPI(t *testing.T, b *browser, a *passkeytest.Authenticator, name string) (*passkeytest.Credential, map[string]any) {
	t.Helper()
	code, begun := b.call("POST", "/api/me/passkeys/begin", map[string]string{"password": password})
	if code != http.StatusOK {
		t.Fatalf("begin registration = %d %v", code, begun)
	}
	resp, cred, err := a.Create(options(t, begun))
	if err != nil {
		t.Fatal(err)
	}
	code, done := b.call("POST", "/api/me/passkeys/finish", map[string]any{"flow": begun["flow"], "name": name, "credential": json.RawMessage(resp)})
	if code != http.StatusCreated {
		t.Fatalf("finish registration = %d %v", code, done)
	}
	return cred, done
}

// signInWithPasskeyOverAPI signs b in with c alone and returns the status
// and body of the finish.
func signInWithPasskeyOverAPI(t *testing.T, b *browser, a *passkeytest.Authenticator, c *passkeytest.Credential) (int, map[string]any) {
	t.Helper()
	code, begun := b.call("POST", "/api/auth/passkey/begin", map[string]any{})
	if code != http.StatusOK {
		t.Fatalf("begin passkey sign-in = %d %v", code, begun)
	}
	resp, err := a.Get(options(t, begun), c)
	if err != nil {
		t.Fatal(err)
	}
	return b.call("POST", "/api/auth/passkey/finish", map[string]any{"flow": begun["flow"], "credential": json.RawMessage(resp)})
}

// TestPasskeyAPI: registering from the account (after the password
// again), signing in with the passkey alone and as the second factor,
// and an answer for another origin refused.
func TestPasskeyAPI(t *testing.T) {
	srv := newPasskeyServer(t, passkeyOrigin)
	ada := newBrowser(t, srv)
	signUp(t, ada, "ada@example.org", "Ada")
	a := &passkeytest.Authenticator{Origin: passkeyOrigin}

	if code, body := ada.call("GET", "/api/me/passkeys", nil); code != http.StatusOK || body["available"] != true || len(body["passkeys"].([]any)) != 0 {
		t.Fatalf("passkeys before = %d %v", code, body)
	}
	if code, body := ada.call("POST", "/api/me/passkeys/begin", map[string]string{"password": "not the password"}); code != http.StatusUnauthorized || errCode(body) != "bad_credentials" {
		t.Fatalf("registration with a wrong password = %d %v", code, body)
	}
	cred, done := registerOverAPI(t, ada, a, "Laptop")
	if codes, _ := done["recoveryCodes"].([]any); len(codes) != 10 {
		t.Fatalf("the first passkey came with %v", done)
	}
	pk, _ := done["passkey"].(map[string]any)
	id, _ := pk["id"].(string)
	if code, body := ada.call("PATCH", "/api/me/passkeys/"+id, map[string]string{"name": "Work laptop"}); code != http.StatusNoContent {
		t.Fatalf("rename = %d %v", code, body)
	}
	code, body := ada.call("GET", "/api/me/passkeys", nil)
	list, _ := body["passkeys"].([]any)
	if code != http.StatusOK || len(list) != 1 || list[0].(map[string]any)["name"] != "Work laptop" {
		t.Fatalf("passkeys after = %d %v", code, body)
	}

	// The account's data export lists it (its name and times, no key).
	code, body = ada.call("GET", "/api/me/export", nil)
	exported, _ := body["passkeys"].([]any)
	if code != http.StatusOK || len(exported) != 1 || exported[0].(map[string]any)["name"] != "Work laptop" || exported[0].(map[string]any)["credential"] != nil {
		t.Fatalf("export = %d, passkeys %v", code, body["passkeys"])
	}

	// Signed out, the passkey alone signs in.
	if code, _ := ada.call("POST", "/api/auth/signout", nil); code != http.StatusNoContent {
		t.Fatal("sign out")
	}
	if code, body := signInWithPasskeyOverAPI(t, ada, a, cred); code != http.StatusOK {
		t.Fatalf("passkey sign-in = %d %v", code, body)
	}
	code, body = ada.call("GET", "/api/me", nil)
	if code != http.StatusOK || body["passkeys"] != float64(1) {
		t.Fatalf("me after the passkey sign-in = %d %v", code, body)
	}

	// Another browser with the password: the passkey is the second step.
	other := newBrowser(t, srv)
	code, body = other.call("POST", "/api/auth/signin", map[string]string{"email": "ada@example.org", "password": password})
	if code != http.StatusOK || body["next"] != "code" || body["passkey"] != true || body["totp"] != false {
		t.Fatalf("password step = %d %v", code, body)
	}
	challenge := body["challenge"]
	code, begun := other.call("POST", "/api/auth/signin/passkey/begin", map[string]any{"challenge": challenge})
	if code != http.StatusOK {
		t.Fatalf("begin second factor = %d %v", code, begun)
	}
	resp, err := a.Get(options(t, begun), cred)
	if err != nil {
		t.Fatal(err)
	}
	if code, body := other.call("POST", "/api/auth/signin/passkey/finish", map[string]any{"challenge": challenge, "flow": begun["flow"], "credential": json.RawMessage(resp)}); code != http.StatusOK {
		t.Fatalf("second factor by passkey = %d %v", code, body)
	}
	if code, _ := other.call("GET", "/api/me", nil); code != http.StatusOK {
		t.Fatalf("me after the second factor = %d", code)
	}

	// A page on another origin gets nowhere with it.
	phished := newBrowser(t, srv)
	if code, body := signInWithPasskeyOverAPI(t, phished, &passkeytest.Authenticator{Origin: "http://meet.example.org.evil.example"}, cred); code != http.StatusUnauthorized || errCode(body) != "passkey_refused" {
		t.Fatalf("an answer for another origin = %d %v", code, body)
	}
	if code, _ := phished.call("GET", "/api/me", nil); code != http.StatusUnauthorized {
		t.Fatalf("the refused browser is signed in: %d", code)
	}

	// Deleting needs the password again.
	if code, body := ada.call("POST", "/api/me/passkeys/"+id+"/delete", map[string]string{"password": "not the password"}); code != http.StatusUnauthorized || errCode(body) != "bad_credentials" {
		t.Fatalf("delete with a wrong password = %d %v", code, body)
	}
	if code, body := ada.call("POST", "/api/me/passkeys/"+id+"/delete", map[string]string{"password": password}); code != http.StatusNoContent {
		t.Fatalf("delete = %d %v", code, body)
	}
}

// TestPasskeysNeedADomain: without a public URL, a server reached by an
// IP address has no domain to bind passkeys to, and says so.
func TestPasskeysNeedADomain(t *testing.T) {
	srv := newPasskeyServer(t, "")
	b := newBrowser(t, srv)
	if code, body := b.call("POST", "/api/auth/passkey/begin", map[string]any{}); code != http.StatusConflict || errCode(body) != "passkeys_unavailable" {
		t.Fatalf("passkey sign-in on %s = %d %v", srv.URL, code, body)
	}
}

// TestRequirePasskeysAPI: the administrator cannot require passkeys
// before having one; then an account without one reaches nothing but
// registering one.
func TestRequirePasskeysAPI(t *testing.T) {
	srv := newPasskeyServer(t, passkeyOrigin)
	admin := newBrowser(t, srv)
	signUp(t, admin, "ada@example.org", "Ada")
	if code, body := admin.call("POST", "/api/admin/users", map[string]string{"email": "bob@example.org", "name": "Bob", "password": password}); code != http.StatusCreated {
		t.Fatalf("create bob = %d %v", code, body)
	}
	require := func() (int, map[string]any) {
		_, org := admin.call("GET", "/api/admin/org", nil)
		org["requirePasskeys"] = true
		return admin.call("PUT", "/api/admin/org", org)
	}
	if code, body := require(); code != http.StatusConflict || errCode(body) != "passkey_first" {
		t.Fatalf("requiring passkeys without one = %d %v", code, body)
	}
	a := &passkeytest.Authenticator{Origin: passkeyOrigin}
	registerOverAPI(t, admin, a, "Admin's")
	if code, body := require(); code != http.StatusOK || body["requirePasskeys"] != true {
		t.Fatalf("requiring passkeys = %d %v", code, body)
	}

	bob := newBrowser(t, srv)
	if code, body := bob.call("POST", "/api/auth/signin", map[string]string{"email": "bob@example.org", "password": password}); code != http.StatusOK || body["user"] == nil {
		t.Fatalf("bob's sign-in = %d %v", code, body)
	}
	if code, body := bob.call("GET", "/api/meetings", nil); code != http.StatusForbidden || errCode(body) != "passkey_required" {
		t.Fatalf("bob without a passkey lists meetings = %d %v", code, body)
	}
	if code, body := bob.call("GET", "/api/me", nil); code != http.StatusOK || body["passkeyRequired"] != true {
		t.Fatalf("bob's me = %d %v", code, body)
	}
	registerOverAPI(t, bob, a, "Bob's")
	if code, body := bob.call("GET", "/api/meetings", nil); code != http.StatusOK {
		t.Fatalf("bob with a passkey lists meetings = %d %v", code, body)
	}
	// The administrator's list counts passkeys (a second factor to reset).
	_, users := admin.call("GET", "/api/admin/users", nil)
	counts := map[any]any{}
	for _, u := range users["users"].([]any) {
		counts[u.(map[string]any)["email"]] = u.(map[string]any)["passkeys"]
	}
	if counts["bob@example.org"] != float64(1) || counts["ada@example.org"] != float64(1) {
		t.Fatalf("passkeys in the users list: %v", counts)
	}
	code, body := bob.call("GET", "/api/me/passkeys", nil)
	if code != http.StatusOK {
		t.Fatalf("bob's passkeys = %d %v", code, body)
	}
	id := body["passkeys"].([]any)[0].(map[string]any)["id"].(string)
	if code, body = bob.call("POST", "/api/me/passkeys/"+id+"/delete", map[string]string{"password": password}); code != http.StatusConflict || errCode(body) != "passkey_required" {
		t.Fatalf("deleting the last passkey while required = %d %v", code, body)
	}
}
