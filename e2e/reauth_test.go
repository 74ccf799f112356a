package e2e

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/kaigi-meet/kaigi/internal/config"
	"github.com/kaigi-meet/kaigi/internal/servertest"
)

// TestReauthPromptBeforeAToken: in Chromium, an administrator whose
// session last proved itself over 10 minutes ago (set back in the
// database, as time would) creates an API token from the account page:
// the request is answered reauth_required and the page asks, in a
// dialog, to confirm it is them; a wrong password is said so and asked
// again; the right one creates the token without the person doing
// anything more.
func TestReauthPromptBeforeAToken(t *testing.T) {
	var dataDir string
	srv := startServer(t, servertest.Options{Config: func(c *config.Config) { dataDir = c.Data }})
	admin := srv.Admin(t)
	ada := newTab(t, "Ada")
	ada.signedInAs(srv, admin)

	// Every session proved itself long ago.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dataDir, "kaigi.db")+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if res, err := db.ExecContext(ctx, `UPDATE sessions SET reauth_at = ?`, time.Now().Add(-11*time.Minute).UTC().Format(time.RFC3339Nano)); err != nil {
		t.Fatal(err)
	} else if n, _ := res.RowsAffected(); n == 0 {
		t.Fatal("no session to age")
	}

	ada.run("open the account page", chromedp.Navigate(srv.URL+"/account"))
	ada.waitVisible("the tokens card", "#tokens-form")
	ada.typeInto("#tokens-name", "Calendar sync")
	ada.click("#tokens-create")
	ada.waitVisible("the re-authentication prompt", "#reauth")
	if ada.count("#tokens-secret-value") != 0 {
		t.Fatal("a token was made before the prompt was answered")
	}
	ada.typeInto("#reauth-password", "not the password")
	ada.click("#reauth-confirm")
	ada.waitText("the wrong password said", "#reauth-error", "Wrong e-mail or password")
	ada.typeInto("#reauth-password", admin.Pass)
	ada.click("#reauth-confirm")
	ada.waitVisible("the new token", "#tokens-secret-value")
	ada.waitGone("the prompt closed", "#reauth")
}
