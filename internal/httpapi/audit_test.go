package httpapi

import (
	"fmt"
	"net/http"
	"testing"
)

// TestAuditOverHTTP: an admin sees the verified chain, its head and the
// entries newest first, page by page; a member is refused the log but
// sees the actions on their own account, without the acting admin's ID.
func TestAuditOverHTTP(t *testing.T) {
	srv, _ := newAPIServer(t)
	admin, member := newBrowser(t, srv), newBrowser(t, srv)
	signUp(t, admin, "ada@example.org", "Ada")
	if code, body := admin.call("POST", "/api/admin/users", map[string]string{"email": "bob@example.org", "name": "Bob", "password": password}); code != http.StatusCreated {
		t.Fatalf("create member = %d %v", code, body)
	}
	_, org := admin.call("GET", "/api/admin/org", nil)
	for i := range 3 {
		org["name"] = fmt.Sprintf("Org %d", i)
		if code, _ := admin.call("PUT", "/api/admin/org", org); code != http.StatusOK {
			t.Fatalf("put org = %d", code)
		}
	}

	code, page := admin.call("GET", "/api/admin/audit", nil)
	if code != http.StatusOK || page["verified"] != true {
		t.Fatalf("audit = %d %v", code, page)
	}
	entries, _ := page["entries"].([]any)
	if len(entries) != 5 {
		t.Fatalf("%d entries, want 5 (first admin, Bob, 3 policy changes): %v", len(entries), entries)
	}
	first := entries[0].(map[string]any)
	if first["seq"] != float64(5) || first["action"] != "org.policy_changed" || first["actorId"] == nil || page["head"] == nil {
		t.Fatalf("newest entry = %v, head %v", first, page["head"])
	}
	if head, _ := page["head"].(string); head[:2] != "5:" || first["hash"] != head[2:] {
		t.Fatalf("head %q does not match the newest entry's hash %v", head, first["hash"])
	}
	code, older := admin.call("GET", "/api/admin/audit?before=3", nil)
	olderEntries, _ := older["entries"].([]any)
	if code != http.StatusOK || len(olderEntries) != 2 || olderEntries[0].(map[string]any)["seq"] != float64(2) {
		t.Fatalf("before=3: %d %v", code, older)
	}
	for _, q := range []string{"?before=0", "?before=x", "?before=-1"} {
		if code, _ := admin.call("GET", "/api/admin/audit"+q, nil); code != http.StatusBadRequest {
			t.Errorf("audit%s = %d, want 400", q, code)
		}
	}

	member.call("POST", "/api/auth/signin", map[string]string{"email": "bob@example.org", "password": password})
	if code, _ := member.call("GET", "/api/admin/audit", nil); code != http.StatusForbidden {
		t.Fatalf("a member read the audit log: %d", code)
	}
	code, mine := member.call("GET", "/api/me/audit", nil)
	mineEntries, _ := mine["entries"].([]any)
	if code != http.StatusOK || len(mineEntries) != 1 {
		t.Fatalf("me/audit = %d %v", code, mine)
	}
	e := mineEntries[0].(map[string]any)
	if e["action"] != "user.created" || e["actorKind"] != "user" || e["actorId"] != nil || e["hash"] != nil {
		t.Fatalf("member's entry = %v", e)
	}
	if code, _ := newBrowser(t, srv).call("GET", "/api/me/audit", nil); code != http.StatusUnauthorized {
		t.Errorf("signed out me/audit = %d", code)
	}
}
