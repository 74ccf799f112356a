package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/webhook"
)

// TestWebhookAdministration: a private address is refused at
// registration; an admin-scoped token reads the webhooks but cannot
// register one; the secret is shown once.
func TestWebhookAdministration(t *testing.T) {
	env := newTestEnv(t)
	hooks := webhook.New(webhook.Options{Store: env.db})
	h := New(Options{Meetings: env.db, Accounts: env.accounts, Tokens: env.db, Webhooks: hooks, Signal: http.NotFoundHandler(), Web: testWeb, Logger: env.log})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	ada := newBrowser(t, srv)
	signUp(t, ada, "ada@example.org", "Ada")

	for _, u := range []string{"https://169.254.169.254/latest/meta-data", "https://10.1.2.3/hook", "http://hooks.example.org/"} {
		if code, body := ada.call("POST", "/api/admin/webhooks", map[string]any{"url": u, "events": []string{"meeting.started"}}); code != http.StatusBadRequest || errCode(body) != "bad_url" {
			t.Errorf("register %s = %d %v", u, code, body)
		}
	}
	code, body := ada.call("POST", "/api/admin/webhooks", map[string]any{"url": "https://hooks.example.org/kaigi", "events": []string{"meeting.ended", "meeting.started"}})
	if code != http.StatusCreated || body["secret"] == nil {
		t.Fatalf("register: %d %v", code, body)
	}
	id := body["webhook"].(map[string]any)["id"].(string)
	_, secret := makeToken(t, ada, "/api/admin/tokens", []string{"admin"}, 0)
	p := program(t, srv)
	code, body = p.call("GET", "/api/admin/webhooks", nil, bearer(secret)...)
	list, _ := body["webhooks"].([]any)
	if code != http.StatusOK || len(list) != 1 {
		t.Fatalf("list with a token: %d %v", code, body)
	}
	if _, ok := list[0].(map[string]any)["secret"]; ok {
		t.Errorf("the list shows the secret")
	}
	if code, body := p.call("POST", "/api/admin/webhooks", map[string]any{"url": "https://x.example.org/", "events": []string{"meeting.started"}}, bearer(secret)...); code != http.StatusForbidden || errCode(body) != "token_not_allowed" {
		t.Errorf("register with a token = %d %v", code, body)
	}
	if code, _ := ada.call("PATCH", "/api/admin/webhooks/"+id, map[string]any{"enabled": false}); code != http.StatusNoContent {
		t.Errorf("disable = %d", code)
	}
	if code, body := ada.call("GET", "/api/admin/webhooks/"+id+"/deliveries", nil); code != http.StatusOK {
		t.Errorf("deliveries = %d %v", code, body)
	}
	if code, _ := ada.call("DELETE", "/api/admin/webhooks/"+id, nil); code != http.StatusNoContent {
		t.Errorf("delete = %d", code)
	}
	if code, _ := ada.call("DELETE", "/api/admin/webhooks/"+id, nil); code != http.StatusNotFound {
		t.Errorf("delete again = %d", code)
	}
}
