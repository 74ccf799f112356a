package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/kaigi-meet/kaigi/internal/audit"
)

// auditEntryJSON is an audit entry as the API shows it (docs/api.md).
type auditEntryJSON struct {
	Seq         int64             `json:"seq"`
	Time        time.Time         `json:"time"`
	ActorKind   string            `json:"actorKind"`
	ActorID     string            `json:"actorId,omitempty"`
	Action      string            `json:"action"`
	SubjectKind string            `json:"subjectKind"`
	SubjectID   string            `json:"subjectId,omitempty"`
	Reason      string            `json:"reason,omitempty"`
	Details     map[string]string `json:"details,omitempty"`
	Hash        string            `json:"hash,omitempty"`
}

// toAuditJSON shows an entry; withActor false leaves out who acted (a
// person sees that an administrator acted on their account, and why, not
// which one) and the hash.
func toAuditJSON(e audit.Entry, withActor bool) auditEntryJSON {
	j := auditEntryJSON{Seq: e.Seq, Time: e.Time, ActorKind: string(e.ActorKind), Action: string(e.Action),
		SubjectKind: string(e.SubjectKind), SubjectID: e.SubjectID, Reason: e.Reason, Details: e.Details}
	if withActor {
		j.ActorID, j.Hash = e.ActorID, e.Hash.String()
	}
	return j
}

// adminAudit handles GET /api/admin/audit[?before=SEQ]: the chain's
// verdict and head, and up to 200 entries before SEQ, newest first.
func (a *api) adminAudit(w http.ResponseWriter, r *http.Request) {
	u, ok := a.admin(w, r)
	if !ok {
		return
	}
	var before int64
	if v := r.URL.Query().Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, "bad_request", "before must be an entry number.")
			return
		}
		before = n
	}
	page, err := a.accounts.AuditLog(r.Context(), u, before, 100)
	if err != nil {
		a.authError(w, err)
		return
	}
	entries := make([]auditEntryJSON, len(page.Entries))
	for i, e := range page.Entries {
		entries[i] = toAuditJSON(e, true)
	}
	out := map[string]any{"verified": page.Verified, "entries": entries}
	if page.Verified {
		out["head"] = page.Head.String()
	}
	if page.Broken != nil {
		out["broken"] = map[string]any{"seq": page.Broken.Seq, "reason": page.Broken.Reason}
	}
	writeJSON(w, http.StatusOK, out)
}

// myAudit handles GET /api/me/audit: the administrative actions on the
// signed-in account, newest first.
func (a *api) myAudit(w http.ResponseWriter, r *http.Request) {
	u, ok := a.user(w, r, false)
	if !ok {
		return
	}
	entries, err := a.accounts.AuditAboutMe(r.Context(), u, 50)
	if err != nil {
		a.internal(w, "read audit entries", err)
		return
	}
	out := make([]auditEntryJSON, len(entries))
	for i, e := range entries {
		out[i] = toAuditJSON(e, false)
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": out})
}
