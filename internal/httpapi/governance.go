package httpapi

import (
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/kaigi-meet/kaigi/internal/audit"
)

// transparencyTTL is how long a computed transparency report is served
// before it is made again: it reads the whole audit log, and the page is
// public.
const transparencyTTL = time.Minute

// transparencyCache keeps the last report; one request at a time makes a
// new one, the others wait for it.
type transparencyCache struct {
	mu   sync.Mutex
	at   time.Time
	body map[string]any
}

// transparency handles GET /api/transparency (public): the audit log's
// counts by action and month, every category listed (zeros included),
// whether the chain verifies, and its head.
func (a *api) transparency(w http.ResponseWriter, r *http.Request) {
	body, err := a.transparencyBody(r)
	if err != nil {
		a.internal(w, "transparency report", err)
		return
	}
	// Written after the lock is released: a client that stops reading
	// holds up only its own request.
	writeJSON(w, http.StatusOK, body)
}

// transparencyBody returns the cached report's body, making it again
// when it is older than transparencyTTL. The body is never changed once
// made (a new one replaces it), so it can be written without the lock.
func (a *api) transparencyBody(r *http.Request) (map[string]any, error) {
	c := &a.transparencyCache
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.body == nil || a.now().Sub(c.at) > transparencyTTL {
		rep, err := a.accounts.TransparencyReport(r.Context())
		if err != nil {
			return nil, err
		}
		org, err := a.accounts.Org(r.Context())
		if err != nil {
			return nil, fmt.Errorf("read organisation: %w", err)
		}
		type category struct {
			Action      audit.Action `json:"action"`
			Description string       `json:"description"`
			Total       int          `json:"total"`
		}
		cats := make([]category, len(audit.Published))
		for i, p := range audit.Published {
			cats[i] = category{p.Action, p.Description, rep.Totals[p.Action]}
		}
		months := rep.Months
		if months == nil {
			months = []audit.MonthCounts{}
		}
		body := map[string]any{
			"organisation": org.Name, "generatedAt": a.now().UTC(), "verified": rep.Verified, "entries": rep.Entries,
			"categories": cats, "months": months, "legalKinds": audit.LegalKinds, "legalOutcomes": audit.LegalOutcomes,
		}
		if rep.Verified {
			body["head"] = rep.Head.String()
		}
		if rep.Entries > 0 {
			// Retention may have deleted older entries: the counts are
			// of what is stored, from this entry and time on.
			body["first"], body["since"] = rep.First, rep.Since
		}
		if rep.Broken != nil {
			body["broken"] = map[string]any{"seq": rep.Broken.Seq}
		}
		c.body, c.at = body, a.now()
	}
	return c.body, nil
}

// exportMe handles GET /api/me/export: everything Kaigi holds about the
// signed-in account, as a JSON download, and nothing of anyone else's.
// The export itself is recorded (user.exported).
func (a *api) exportMe(w http.ResponseWriter, r *http.Request) {
	u, ok := a.user(w, r, false)
	if !ok {
		return
	}
	ex, err := a.accounts.ExportMine(r.Context(), u)
	if err != nil {
		a.internal(w, "export", err)
		return
	}
	recs, err := a.meetings.MeetingsOwnedBy(r.Context(), u.ID)
	if err != nil {
		a.internal(w, "list meetings", err)
		return
	}
	meetings := make([]meetingJSON, len(recs))
	for i, m := range recs {
		meetings[i] = a.toMeetingJSON(r, m, true, u.Name)
	}
	type sessionJSON struct {
		CreatedAt time.Time `json:"createdAt"`
		LastSeen  time.Time `json:"lastSeen"`
		ExpiresAt time.Time `json:"expiresAt"`
	}
	sessions := make([]sessionJSON, len(ex.Sessions))
	for i, s := range ex.Sessions {
		sessions[i] = sessionJSON{s.CreatedAt, s.LastSeen, s.ExpiresAt}
	}
	entries := make([]audit.JSON, len(ex.Audit))
	for i, e := range ex.Audit {
		entries[i] = audit.ToJSON(e, audit.ShownToSubject)
	}
	account := toUserJSON(ex.User)
	account.RecoveryCodesLeft = &ex.RecoveryCodesLeft
	passkeys, err := a.accounts.Passkeys(r.Context(), u) // passkeys.go
	if err != nil {
		a.internal(w, "list passkeys", err)
		return
	}
	tokens, err := a.exportTokens(r.Context(), u) // tokens.go
	if err != nil {
		a.internal(w, "list tokens", err)
		return
	}
	ssoIDs, err := a.ssoExport(r.Context(), u) // sso.go
	if err != nil {
		a.internal(w, "list single sign-on identities", err)
		return
	}
	w.Header().Set("Content-Disposition", `attachment; filename="kaigi-export.json"`)
	writeJSON(w, http.StatusOK, map[string]any{
		"exportedAt": a.now().UTC(),
		"account":    account,
		"createdAt":  ex.User.CreatedAt,
		"sessions":   sessions,
		"meetings":   meetings,
		"audit":      entries,
		"passkeys":   passkeysJSON(passkeys),
		"apiTokens":  tokens,

		"ssoIdentities": ssoIDs, // sso.go
		"notIncluded": []string{
			"your password, which Kaigi never stores: only an argon2id hash of it, left out of this file so that a leaked copy cannot be used to guess it",
			"your two-factor secret and recovery codes (kept sealed or hashed; the file says whether two-factor is on and how many codes are left)",
			"session tokens (stored only as hashes)",
			"API tokens themselves (stored only as hashes; their names, scopes and times are included)",
			"who was banned from your meetings (their identifiers are theirs)",
			"what was said or shown in meetings: Kaigi never stores it",
		},
	})
}
