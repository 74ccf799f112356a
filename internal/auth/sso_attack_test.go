package auth_test

import (
	"errors"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/auth"
	"github.com/kaigi-meet/kaigi/internal/oidctest"
)

// TestSSOKeptSecretGoesToItsIssuerOnly: the kept client secret, never
// shown back, cannot be drawn out by pointing the settings at another
// issuer (one whoever holds an administrator's session runs) while
// leaving the secret field empty: the server would send the kept secret
// to that provider's token endpoint at the next sign-in. Changing the
// issuer needs the secret again (or clearing it); the kept secret still
// serves settings changes that keep the issuer.
func TestSSOKeptSecretGoesToItsIssuerOnly(t *testing.T) {
	f, p, admin := ssoSetup(t, nil)
	// The attacker's provider accepts whatever secret it is sent; here
	// it takes only the organisation's, so a sign-in through it proves
	// the secret reached it.
	evil := oidctest.New(t, p.ClientID, ssoSecret, f.clock.now)
	moved := auth.SSOSettings{Enabled: true, Issuer: evil.Issuer, ClientID: p.ClientID, Label: "Example ID", AllowCreate: true}
	err := f.svc.UpdateSSO(ctx, admin, moved)
	if err == nil {
		if _, signInErr := ssoSignIn(t, f); signInErr == nil {
			t.Fatal("the kept client secret was sent to another issuer's token endpoint")
		}
		t.Fatal("another issuer with the kept secret was accepted")
	}
	if !errors.Is(err, auth.ErrBadSSOConfig) {
		t.Fatalf("another issuer with the kept secret: %v, want a settings error", err)
	}
	// With the secret given again, or cleared, the issuer may change.
	moved.ClearSecret = true
	if err := f.svc.UpdateSSO(ctx, admin, moved); err != nil {
		t.Fatalf("another issuer, secret cleared: %v", err)
	}
	moved.ClearSecret, moved.Issuer, moved.ClientSecret = false, p.Issuer, ssoSecret
	if err := f.svc.UpdateSSO(ctx, admin, moved); err != nil {
		t.Fatalf("back, with the secret: %v", err)
	}
	// The same issuer keeps the secret across other changes.
	moved.ClientSecret, moved.Label = "", "Staff ID"
	if err := f.svc.UpdateSSO(ctx, admin, moved); err != nil {
		t.Fatalf("a new label, secret kept: %v", err)
	}
	if _, err := ssoSignIn(t, f); err != nil {
		t.Fatalf("sign-in with the kept secret: %v", err)
	}
}
