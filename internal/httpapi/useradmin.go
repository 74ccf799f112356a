package httpapi

import (
	"net/http"

	"github.com/kaigi-meet/kaigi/internal/auth"
)

// adminUserAction handles POST /api/admin/users/{id}/{suspend,reinstate,
// reset-2fa,delete} with {reason}: the reason is required except to
// reinstate, and the person is shown it.
func (a *api) adminUserAction(w http.ResponseWriter, r *http.Request) {
	admin, ok := a.admin(w, r)
	if !ok {
		return
	}
	if !a.recentAuth(w, r) { // reauth.go
		return
	}
	var req struct{ Reason string }
	if !readJSON(w, r, &req) {
		return
	}
	by, id := auth.ByAdmin(admin), r.PathValue("id")
	var u auth.User
	var err error
	switch r.PathValue("action") {
	case "suspend":
		u, err = a.accounts.SuspendUser(r.Context(), by, id, req.Reason)
	case "reinstate":
		u, err = a.accounts.ReinstateUser(r.Context(), by, id, req.Reason)
	case "reset-2fa":
		u, err = a.accounts.ResetTwoFactor(r.Context(), by, id, req.Reason)
	case "delete":
		if err = a.accounts.DeleteUser(r.Context(), by, id, req.Reason); err == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
	default:
		writeError(w, http.StatusNotFound, "page_not_found", "No such action.")
		return
	}
	if err != nil {
		a.authError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": toUserJSON(u)})
}

// deleteMe handles POST /api/me/delete {password, code}: the signed-in
// account is deleted, after its password (and a code, with two-factor
// on) is checked again.
func (a *api) deleteMe(w http.ResponseWriter, r *http.Request) {
	u, ok := a.user(w, r, false)
	if !ok {
		return
	}
	var req struct{ Password, Code string }
	if !readJSON(w, r, &req) {
		return
	}
	if err := a.accounts.DeleteOwnAccount(a.ownerContext(r), u, req.Password, req.Code); err != nil {
		a.authError(w, err)
		return
	}
	a.clearSessionCookie(w)
	w.WriteHeader(http.StatusNoContent)
}
