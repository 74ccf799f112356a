package e2e

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/kaigi-meet/kaigi/internal/client"
	"github.com/kaigi-meet/kaigi/internal/servertest"
	"github.com/kaigi-meet/kaigi/internal/webhook"
)

// TestTokensAndWebhooksInTheConsole: on the account page an
// administrator makes a personal API token, shown once with a copy
// button, which then lists the account's meetings for a program and
// shows its last use; revoked through the dialog, it is refused. On the
// admin page they register a webhook to a receiver on loopback (the test
// server is a development server), a Go participant joins and leaves a
// meeting, the receiver gets signed events, and the webhook's delivery
// log says they were delivered.
func TestTokensAndWebhooksInTheConsole(t *testing.T) {
	srv := startServer(t, servertest.Options{})
	ada := newTab(t, "Ada")
	ada.signedInAs(srv, srv.Admin(t))
	ada.run("open the account page", chromedp.Navigate(srv.URL+"/account"))
	ada.waitVisible("the tokens card", "#tokens-form")
	ada.waitVisible("no token yet", "#tokens-none")
	ada.typeInto("#tokens-name", "Calendar sync")
	ada.click("#tokens-create")
	ada.waitVisible("the new token", "#tokens-secret-value")
	secret := ada.text("#tokens-secret-value")
	if !strings.HasPrefix(secret, "kaigi_pat_") || ada.count("#tokens-secret-copy") != 1 {
		t.Fatalf("the token shown: %q", secret)
	}
	ada.screenshot("token-shown-once")

	get := func() int {
		req, _ := http.NewRequest("GET", srv.URL+"/api/meetings", nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get(); code != http.StatusOK {
		t.Fatalf("the token lists meetings: %d", code)
	}
	ada.run("open the account page again", chromedp.Navigate(srv.URL+"/account"))
	ada.waitVisible("the token listed", "#tokens-list li.api-token")
	if ada.count("#tokens-secret-value") != 0 {
		t.Errorf("the token is shown again")
	}
	ada.waitText("its last use", "#tokens-list li.api-token .hint", "last used")
	ada.click(`#tokens-list li.api-token button[data-action="revoke"]`)
	ada.waitVisible("the revoke dialog", "#tokens-revoke-confirm")
	ada.click("#tokens-revoke-confirm")
	ada.waitVisible("no token left", "#tokens-none")
	if code := get(); code != http.StatusUnauthorized {
		t.Fatalf("a revoked token: %d", code)
	}

	bodies := make(chan [2]string, 16)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies <- [2]string{r.Header.Get(webhook.SignatureHeader), string(b)}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rcv.Close()
	ada.run("open the admin page", chromedp.Navigate(srv.URL+"/admin"))
	ada.waitVisible("the webhooks card", "#webhook-form")
	ada.typeInto("#webhook-url", "https://10.0.0.7/hook")
	ada.click("#webhook-create")
	ada.waitText("a private address refused", "#webhook-url-error", "not a public address")
	ada.typeInto("#webhook-url", rcv.URL+"/kaigi")
	ada.click("#webhook-create")
	ada.waitVisible("the signing secret", "#webhook-secret-value")
	hookSecret := ada.text("#webhook-secret-value")
	ada.screenshot("webhook-registered")

	jctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	gus, err := client.Join(jctx, client.Options{BaseURL: srv.URL, Meeting: srv.NewMeeting(t), Name: "Gus"})
	if err != nil {
		t.Fatal(err)
	}
	gus.Leave()
	for _, want := range []string{webhook.MeetingStarted, webhook.MeetingEnded} {
		select {
		case b := <-bodies:
			if err := webhook.Verify([]byte(hookSecret), b[0], []byte(b[1]), time.Now(), 5*time.Minute); err != nil || !strings.Contains(b[1], `"type":"`+want+`"`) {
				t.Fatalf("delivery %s (want %s): %v", b[1], want, err)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("no %s delivered", want)
		}
	}
	ada.click("#webhook-list li.webhook details summary")
	ada.waitVisible("the delivery log", `#webhook-list tr[data-status="delivered"]`)
	if n := ada.count(`#webhook-list tr[data-status="delivered"]`); n != 2 {
		t.Errorf("the log lists %d delivered, want 2", n)
	}
	ada.screenshot("webhook-delivery-log")
	ada.click(`#webhook-list button[data-action="delete"]`)
	ada.click("#webhook-delete-confirm")
	ada.waitVisible("no webhook left", "#webhooks-none")
}
