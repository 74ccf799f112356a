package httpapi

import (
	"net/http"
	"strconv"

	"github.com/kaigi-meet/kaigi/internal/audit"
)

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
	entries := make([]audit.JSON, len(page.Entries))
	for i, e := range page.Entries {
		entries[i] = audit.ToJSON(e, audit.ShownToAdmin)
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
	out := make([]audit.JSON, len(entries))
	for i, e := range entries {
		out[i] = audit.ToJSON(e, audit.ShownToSubject)
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": out})
}
