package httpapi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/kaigi-meet/kaigi/internal/audit"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/store"
	"github.com/kaigi-meet/kaigi/internal/whip"
)

// WHIP ingest (internal/whip; docs/api.md, "WHIP ingest"): a meeting's
// owner, or a host or co-host of the meeting while it runs, makes, lists
// and revokes the meeting's ingest tokens here, with the browser's session
// and the cross-origin check (never with an API token: tokenRoutes has
// none of these). A token is shown once, with the URL a streaming program
// publishes to; revoking one ends its session.

// IngestTokenStore keeps meetings' ingest tokens.
type IngestTokenStore interface {
	CreateIngestToken(ctx context.Context, t store.IngestToken, rec audit.Entry) error
	IngestTokens(ctx context.Context, meetingID string) ([]store.IngestToken, error)
	RevokeIngestToken(ctx context.Context, meetingID, id string, rec func(store.IngestToken) audit.Entry) error
	// ModeratesLive reports whether the account is in the live meeting
	// now as its host or a co-host (on any node of a cluster).
	ModeratesLive(ctx context.Context, meetingID, userID string) (bool, error)
}

// Ingest is WHIP ingest: the tokens, and the handler of /whip/.
type Ingest struct {
	Tokens IngestTokenStore
	WHIP   interface {
		http.Handler
		// EndToken ends the session of a token that was revoked.
		EndToken(tokenID string)
	}
}

// maxIngestTokens bounds a meeting's ingest tokens.
const maxIngestTokens = 10

type ingestTokenJSON struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	URL       string `json:"url"`
	CreatedAt string `json:"createdAt"`
	LastUsed  string `json:"lastUsed,omitempty"`
	// ByOwner: the meeting's owner made it (else a host or co-host did,
	// whose token outlives their role: the owner sees which to revoke).
	ByOwner bool `json:"byOwner"`
	// Token is the secret, only in the answer that made it.
	Token string `json:"token,omitempty"`
}

// tokenKind is what tells a meeting's ingest (WHIP) tokens from its
// egress (WHEP) ones (egress.go), which are kept in the same store and
// served by the same routes under their own path.
type tokenKind struct {
	kind     string // as stored
	path     string // under /api/meetings/{id}/
	endpoint string // the program's, with the meeting's ID after it
	prefix   string // of the token's text
	idPrefix string // of the token's ID
	created  audit.Action
	revoked  audit.Action
	log      string // "ingest" or "egress"
	tooMany  string
}

var ingestKind = tokenKind{kind: store.IngestKindWHIP, path: "ingest", endpoint: "/whip/", prefix: whip.TokenPrefix, idPrefix: "ing_",
	created: audit.IngestTokenCreated, revoked: audit.IngestTokenRevoked, log: "ingest",
	tooMany: "A meeting has at most 10 ingest tokens; revoke one first."}

// ofKind keeps a meeting's tokens of one kind (a token stored without a
// kind is an ingest one).
func ofKind(toks []store.IngestToken, kind string) []store.IngestToken {
	out := toks[:0:0]
	for _, t := range toks {
		k := t.Kind
		if k == "" {
			k = store.IngestKindWHIP
		}
		if k == kind {
			out = append(out, t)
		}
	}
	return out
}

func (a *api) ingestRoutes(mux *http.ServeMux, in Ingest) {
	if in.Tokens == nil || in.WHIP == nil {
		return
	}
	mux.Handle("/whip/", in.WHIP)
	a.tokenKindRoutes(mux, in, ingestKind)
	a.egressRoutes(mux, in) // egress.go
}

func (a *api) tokenKindRoutes(mux *http.ServeMux, in Ingest, k tokenKind) {
	toJSON := func(r *http.Request, rec meeting.Record, t store.IngestToken) ingestTokenJSON {
		j := ingestTokenJSON{ID: t.ID, Name: t.Name, URL: a.baseURL(r) + k.endpoint + t.MeetingID, CreatedAt: t.CreatedAt.UTC().Format(time.RFC3339),
			ByOwner: t.CreatedBy == rec.OwnerID}
		if !t.LastUsed.IsZero() {
			j.LastUsed = t.LastUsed.UTC().Format(time.RFC3339)
		}
		return j
	}
	// owned: the meeting's owner, or an account that is a host or co-host
	// in it now (a role of the live meeting, given by its host, which ends
	// when they leave or are made a participant again). To anyone else the
	// meeting does not exist, as to loadOwned.
	owned := func(w http.ResponseWriter, r *http.Request) (meeting.Record, string, bool) {
		u, ok := a.user(w, r, true)
		if !ok {
			return meeting.Record{}, "", false
		}
		rec, ok := a.loadMeeting(w, r)
		if !ok || rec.OwnerID == u.ID {
			return rec, u.ID, ok
		}
		moderates, err := in.Tokens.ModeratesLive(r.Context(), string(rec.ID), u.ID)
		if err != nil {
			a.internal(w, "look up the meeting's co-hosts", err)
			return rec, u.ID, false
		}
		if !moderates {
			writeError(w, http.StatusNotFound, "meeting_not_found", "You have no meeting with this ID.")
			return rec, u.ID, false
		}
		return rec, u.ID, true
	}
	mux.HandleFunc("GET /api/meetings/{id}/"+k.path, func(w http.ResponseWriter, r *http.Request) {
		rec, _, ok := owned(w, r)
		if !ok {
			return
		}
		toks, err := in.Tokens.IngestTokens(r.Context(), string(rec.ID))
		if err != nil {
			a.internal(w, "list "+k.log+" tokens", err)
			return
		}
		toks = ofKind(toks, k.kind)
		out := make([]ingestTokenJSON, 0, len(toks))
		for _, t := range toks {
			out = append(out, toJSON(r, rec, t))
		}
		writeJSON(w, http.StatusOK, map[string]any{"tokens": out, "allowed": rec.Settings.IngestAllowed()})
	})
	mux.HandleFunc("POST /api/meetings/{id}/"+k.path, func(w http.ResponseWriter, r *http.Request) {
		rec, userID, ok := owned(w, r)
		if !ok {
			return
		}
		// A token outlives the session that makes it, as an API token
		// does: a stolen session must not mint one (reauth.go).
		if !a.recentAuth(w, r) {
			return
		}
		var req struct{ Name string }
		if !readJSON(w, r, &req) {
			return
		}
		name, err := meeting.NormaliseName(req.Name)
		if err != nil || len(name) > maxTokenName {
			writeError(w, http.StatusBadRequest, "bad_name", "Name the source: 1 to 64 characters, without control or invisible characters.")
			return
		}
		toks, err := in.Tokens.IngestTokens(r.Context(), string(rec.ID))
		if err != nil {
			a.internal(w, "count "+k.log+" tokens", err)
			return
		}
		if len(ofKind(toks, k.kind)) >= maxIngestTokens {
			writeError(w, http.StatusConflict, "too_many_tokens", k.tooMany)
			return
		}
		secret := make([]byte, 32)
		rand.Read(secret)
		text := k.prefix + base64.RawURLEncoding.EncodeToString(secret)
		sum := sha256.Sum256([]byte(text))
		idBytes := make([]byte, 9)
		rand.Read(idBytes)
		t := store.IngestToken{ID: k.idPrefix + base64.RawURLEncoding.EncodeToString(idBytes), MeetingID: string(rec.ID), Hash: sum[:],
			Name: name, CreatedBy: userID, CreatedAt: a.now().UTC(), Kind: k.kind}
		if err := in.Tokens.CreateIngestToken(r.Context(), t, ingestEntry(userID, k.created, t, a.now())); err != nil {
			a.internal(w, "create "+k.log+" token", err)
			return
		}
		a.log.Info(k.log+" token created", "meeting", rec.ID, "token", t.ID)
		j := toJSON(r, rec, t)
		j.Token = text
		writeJSON(w, http.StatusCreated, j)
	})
	mux.HandleFunc("DELETE /api/meetings/{id}/"+k.path+"/{token}", func(w http.ResponseWriter, r *http.Request) {
		rec, userID, ok := owned(w, r)
		if !ok {
			return
		}
		id := r.PathValue("token")
		if !strings.HasPrefix(id, k.idPrefix) {
			// A token of the other kind is not revoked through this path.
			writeError(w, http.StatusNotFound, "token_not_found", "This meeting has no such "+k.log+" token.")
			return
		}
		err := in.Tokens.RevokeIngestToken(r.Context(), string(rec.ID), id, func(t store.IngestToken) audit.Entry {
			return ingestEntry(userID, k.revoked, t, a.now())
		})
		if errors.Is(err, store.ErrNotFound) {
			writeError(w, http.StatusNotFound, "token_not_found", "This meeting has no such "+k.log+" token.")
			return
		}
		if err != nil {
			a.internal(w, "revoke "+k.log+" token", err)
			return
		}
		in.WHIP.EndToken(id)
		a.log.Info(k.log+" token revoked", "meeting", rec.ID, "token", id)
		w.WriteHeader(http.StatusNoContent)
	})
}

// ingestEntry is the audit entry of a token made or revoked: the meeting
// is its subject, and never the token itself.
func ingestEntry(userID string, action audit.Action, t store.IngestToken, now time.Time) audit.Entry {
	return audit.Entry{Time: now, ActorKind: audit.ActorUser, ActorID: userID, Action: action,
		SubjectKind: audit.SubjectMeeting, SubjectID: t.MeetingID, Details: map[string]string{"id": t.ID, "name": t.Name}}
}
