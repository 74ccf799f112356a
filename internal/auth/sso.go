package auth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/kaigi-meet/kaigi/internal/audit"
)

// Single sign-on with the organisation's OpenID Connect provider: an
// administrator's settings (this file) and the sign-in flow
// (ssoflow.go).
//
// The decisions, documented in docs/security.md:
//   - An account is found by the provider's (issuer, subject) pair,
//     stored when it is first linked; never by e-mail alone after that.
//   - A first sign-in is linked to an existing account only when the
//     administrator allowed it (LinkByEmail), the provider says the
//     e-mail is verified, and the account is a member's, not linked to
//     another identity of the provider: an administrator's account is
//     never taken over through the provider.
//   - A first sign-in makes an account only when AllowCreate is on, with
//     the provider's verified e-mail; the account gets a random password
//     no one knows.
//   - SSOOnly refuses password and passkey sign-in (and sign-up) to
//     members; administrators keep their password (with its second
//     factor) and passkeys, so the one who turns it on cannot be locked
//     out by the provider, and the operator's command line remains.
//   - A sign-in through the provider is a full sign-in: the provider's
//     own authentication stands for the organisation's two-factor or
//     passkey requirement for accounts whose only way in it is (made by
//     it, or members' while SSOOnly is on). A member's account linked to
//     it that can still sign in with its password still owes them.

// SSOSettings is what an administrator sees and sends of the provider.
// The client secret is never shown: SecretSet says whether one is kept,
// and a ClientSecret sent empty keeps it.
type SSOSettings struct {
	Enabled      bool     `json:"enabled"`
	Issuer       string   `json:"issuer"`
	ClientID     string   `json:"clientId"`
	ClientSecret string   `json:"clientSecret,omitempty"`
	SecretSet    bool     `json:"secretSet"`
	ClearSecret  bool     `json:"clearSecret,omitempty"`
	Label        string   `json:"label"`
	Domains      []string `json:"domains"`
	AllowCreate  bool     `json:"allowCreate"`
	LinkByEmail  bool     `json:"linkByEmail"`
	SSOOnly      bool     `json:"ssoOnly"`
}

// SSOButton is what the sign-in page shows: whether to offer single
// sign-on, its label, and whether members can sign in no other way.
type SSOButton struct {
	Enabled bool   `json:"enabled"`
	Label   string `json:"label,omitempty"`
	SSOOnly bool   `json:"ssoOnly,omitempty"`
}

// Limits of the settings.
const (
	maxSSOLabel   = 40
	maxSSOField   = 512
	maxSSODomains = 50
)

// ssoConfig returns the stored provider, or the zero one.
func (s *Service) ssoConfig(ctx context.Context) (SSOConfig, error) {
	if s.sso == nil {
		return SSOConfig{}, nil
	}
	c, err := s.sso.SSOConfig(ctx)
	if errors.Is(err, ErrNotFound) {
		return SSOConfig{}, nil
	}
	return c, err
}

// SSOSignInButton says what the sign-in page offers.
func (s *Service) SSOSignInButton(ctx context.Context) (SSOButton, error) {
	c, err := s.ssoConfig(ctx)
	if err != nil || !c.Enabled {
		return SSOButton{}, err
	}
	return SSOButton{Enabled: true, Label: c.Label, SSOOnly: c.SSOOnly}, nil
}

// SSOSettings returns the provider's settings, without the secret;
// admins only.
func (s *Service) SSOSettings(ctx context.Context, by User) (SSOSettings, error) {
	if by.Role != RoleAdmin {
		return SSOSettings{}, ErrForbidden
	}
	if s.sso == nil {
		return SSOSettings{}, ErrSSOUnavailable
	}
	c, err := s.ssoConfig(ctx)
	if err != nil {
		return SSOSettings{}, err
	}
	return settingsOf(c), nil
}

func settingsOf(c SSOConfig) SSOSettings {
	d := c.Domains
	if d == nil {
		d = []string{}
	}
	return SSOSettings{Enabled: c.Enabled, Issuer: c.Issuer, ClientID: c.ClientID, SecretSet: len(c.ClientSecret) > 0,
		Label: c.Label, Domains: d, AllowCreate: c.AllowCreate, LinkByEmail: c.LinkByEmail, SSOOnly: c.SSOOnly}
}

// UpdateSSO saves the provider's settings; admins only. Turning it on
// reads the provider's discovery document first, so that a wrong issuer
// is refused now rather than at the first person's sign-in. The audit
// entry names the fields that changed, the secret only as changed.
func (s *Service) UpdateSSO(ctx context.Context, by User, in SSOSettings) error {
	if by.Role != RoleAdmin {
		return ErrForbidden
	}
	if s.sso == nil {
		return ErrSSOUnavailable
	}
	before, err := s.ssoConfig(ctx)
	if err != nil {
		return err
	}
	c, err := checkSSOSettings(in)
	if err != nil {
		return err
	}
	secretChanged := false
	switch {
	case in.ClientSecret != "":
		c.ClientSecret = s.sealer.Seal([]byte(in.ClientSecret), SSOSecretLabel+SSORowID)
		secretChanged = true
	case in.ClearSecret:
		secretChanged = len(before.ClientSecret) > 0
	case len(before.ClientSecret) > 0 && c.Issuer != before.Issuer:
		// The kept secret goes only to the issuer it was given for: kept
		// for another, it would be sent to that provider's token endpoint
		// (drawn out by whoever points the settings at their own).
		return &SSOConfigError{Message: "Enter the client secret again (or clear it): a kept secret is sent only to the issuer it was given for."}
	default:
		c.ClientSecret = before.ClientSecret
	}
	if c.Enabled {
		if _, err := s.oidcProvider(ctx, c.Issuer, true); err != nil {
			s.log.Info("single sign-on provider refused at save", "issuer", c.Issuer, "err", err)
			return &SSOConfigError{Message: "The provider's discovery document could not be read at " + c.Issuer +
				"/.well-known/openid-configuration, or names another issuer. Check the issuer URL."}
		}
	}
	c.UpdatedAt = s.now().UTC()
	rec := ByAdmin(by).entry()
	rec.Time, rec.Action, rec.SubjectKind = c.UpdatedAt, audit.OrgSSOChanged, audit.SubjectOrg
	rec.Details = ssoChanges(before, c, secretChanged)
	if err := s.sso.SetSSOConfig(ctx, c, rec); err != nil {
		return err
	}
	s.log.Info("single sign-on settings changed", "user", by.ID, "enabled", c.Enabled, "sso_only", c.SSOOnly)
	return nil
}

// checkSSOSettings checks and normalises an administrator's settings
// (all but the secret).
func checkSSOSettings(in SSOSettings) (SSOConfig, error) {
	bad := func(m string) (SSOConfig, error) { return SSOConfig{}, &SSOConfigError{Message: m} }
	c := SSOConfig{Enabled: in.Enabled, AllowCreate: in.AllowCreate, LinkByEmail: in.LinkByEmail, SSOOnly: in.SSOOnly}
	c.Issuer = strings.TrimSpace(in.Issuer)
	c.ClientID = strings.TrimSpace(in.ClientID)
	c.Label = strings.TrimSpace(in.Label)
	if c.Issuer != "" || c.Enabled {
		u, err := url.Parse(c.Issuer)
		if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || len(c.Issuer) > maxSSOField {
			return bad("The issuer must be the provider's URL, such as https://id.example.com/realms/staff.")
		}
		if u.Scheme != "https" && !(u.Scheme == "http" && isLoopbackHost(u.Hostname())) {
			return bad("The issuer must be an https:// URL (http:// only on this machine, for testing).")
		}
	}
	if c.Enabled && c.ClientID == "" {
		return bad("Give the client ID the provider issued for Kaigi.")
	}
	if len(c.ClientID) > maxSSOField || len(in.ClientSecret) > maxSSOField || !printable(c.ClientID) || !printable(in.ClientSecret) {
		return bad("The client ID and secret must be at most 512 characters, without control characters.")
	}
	if c.Label == "" {
		c.Label = "single sign-on"
	}
	if utf8.RuneCountInString(c.Label) > maxSSOLabel || !printable(c.Label) {
		return bad("The button label must be at most 40 characters, without control characters.")
	}
	if len(in.Domains) > maxSSODomains {
		return bad("Name at most 50 e-mail domains.")
	}
	for _, d := range in.Domains {
		d = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(d), "@"))
		if d == "" {
			continue
		}
		if _, err := normaliseEmail("x@" + d); err != nil {
			return bad(fmt.Sprintf("%q is not an e-mail domain.", d))
		}
		if !slices.Contains(c.Domains, d) {
			c.Domains = append(c.Domains, d)
		}
	}
	slices.Sort(c.Domains)
	if c.SSOOnly && !c.Enabled {
		return bad("Single sign-on must be on for it to be the only way in.")
	}
	return c, nil
}

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func printable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return utf8.ValidString(s)
}

// ssoChanges lists the settings that changed, with their new values; the
// secret only as "changed".
func ssoChanges(before, after SSOConfig, secretChanged bool) map[string]string {
	d := map[string]string{}
	set := func(k, was, now string) {
		if was != now {
			d[k] = shortDetail(now)
		}
	}
	b := strconv.FormatBool
	set("enabled", b(before.Enabled), b(after.Enabled))
	set("issuer", before.Issuer, after.Issuer)
	set("clientId", before.ClientID, after.ClientID)
	set("label", before.Label, after.Label)
	set("domains", strings.Join(before.Domains, " "), strings.Join(after.Domains, " "))
	set("allowCreate", b(before.AllowCreate), b(after.AllowCreate))
	set("linkByEmail", b(before.LinkByEmail), b(after.LinkByEmail))
	set("ssoOnly", b(before.SSOOnly), b(after.SSOOnly))
	if secretChanged {
		if len(after.ClientSecret) > 0 {
			d["clientSecret"] = "changed"
		} else {
			d["clientSecret"] = "removed"
		}
	}
	return d
}

// ssoOnlyRefuses is ErrSSOOnly for a member's password or passkey
// sign-in while the organisation signs members in through its provider
// only; administrators keep those ways in.
func (s *Service) ssoOnlyRefuses(ctx context.Context, u User) error {
	if s.sso == nil || u.Role == RoleAdmin {
		return nil
	}
	c, err := s.ssoConfig(ctx)
	if err != nil {
		return err
	}
	if c.Enabled && c.SSOOnly {
		s.log.Info("sign-in refused: single sign-on only", "user", u.ID)
		return ErrSSOOnly
	}
	return nil
}

// ssoSatisfiesRequirements reports whether the provider's sign-in stands
// for the organisation's two-factor and passkey requirements for u: its
// only way in is the provider (the account was made by it, or it is a
// member's linked to it while SSOOnly is on).
func (s *Service) ssoSatisfiesRequirements(ctx context.Context, u User) (bool, error) {
	if s.sso == nil {
		return false, nil
	}
	c, err := s.ssoConfig(ctx)
	if err != nil || !c.Enabled {
		return false, err
	}
	ids, err := s.sso.UserSSOIdentities(ctx, u.ID)
	if err != nil {
		return false, err
	}
	for _, id := range ids {
		if id.Issuer != c.Issuer {
			continue
		}
		if id.Created || (c.SSOOnly && u.Role != RoleAdmin) {
			return true, nil
		}
	}
	return false, nil
}

// SSOIdentities lists the provider identities linked to u (for its data
// export).
func (s *Service) SSOIdentities(ctx context.Context, u User) ([]SSOIdentity, error) {
	if s.sso == nil {
		return nil, nil
	}
	return s.sso.UserSSOIdentities(ctx, u.ID)
}
