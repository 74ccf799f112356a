package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/client"
)

// TestSuspendedAccountLeavesItsMeeting: an admin suspends a member who is
// hosting a live meeting, with a reason: the member's socket is closed at
// once with account_suspended and the reason, their sessions end, the
// others see them go, a sign-in with the right password is refused naming
// the reason, and the member's own account shows nothing until
// reinstated, when it lists the suspension with its reason. An admin
// cannot act on their own account; a member cannot act at all.
func TestSuspendedAccountLeavesItsMeeting(t *testing.T) {
	srv, _, admin := defended(t, nil)
	bob := srv.NewAccount(t, "bob@example.org", "Bob")
	m := bob.NewMeeting(t, nil)
	set := m.Settings
	set.E2EE, set.WaitingRoom, set.Passcode = false, false, false
	if code := bob.Do(t, "PATCH", "/api/meetings/"+m.ID, map[string]any{"settings": set}, nil); code != http.StatusOK {
		t.Fatalf("settings: %d", code)
	}
	b := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Bob", Cookie: bob.Cookie()})
	gus := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Gus"})
	waitFor(t, gus, "Bob in the roster", func() bool { return participant(gus, b.Self().ID).ID != "" })

	if code := bob.Do(t, "POST", "/api/admin/users/"+admin.ID+"/suspend", map[string]string{"reason": "coup"}, nil); code != http.StatusForbidden {
		t.Fatalf("a member suspended the admin: %d", code)
	}
	if code := admin.Do(t, "POST", "/api/admin/users/"+admin.ID+"/suspend", map[string]string{"reason": "me"}, nil); code != http.StatusForbidden {
		t.Fatalf("the admin suspended themselves: %d", code)
	}
	if code := admin.Do(t, "POST", "/api/admin/users/"+bob.ID+"/suspend", map[string]string{"reason": ""}, nil); code != http.StatusBadRequest {
		t.Fatalf("a suspension without a reason: %d", code)
	}
	if code := admin.Do(t, "POST", "/api/admin/users/"+bob.ID+"/suspend", map[string]string{"reason": "Security review"}, nil); code != http.StatusOK {
		t.Fatalf("suspend: %d", code)
	}
	select {
	case <-b.Done():
	case <-waitCtx(t).Done():
		t.Fatal("the suspended host's socket stayed open")
	}
	if r := b.ClosedReason(); r != "account_suspended" {
		t.Fatalf("closed with %q", r)
	}
	waitFor(t, gus, "Bob gone", func() bool { return participant(gus, b.Self().ID).ID == "" })
	if code := bob.Do(t, "GET", "/api/me", nil, nil); code != http.StatusUnauthorized {
		t.Fatalf("the suspended account's session: %d", code)
	}
	var refused struct{ Error struct{ Code, Message string } }
	if code := bob.Do(t, "POST", "/api/auth/signin", map[string]string{"email": "bob@example.org", "password": bob.Pass}, &refused); code != http.StatusForbidden ||
		refused.Error.Code != "account_suspended" || !strings.Contains(refused.Error.Message, "Security review") {
		t.Fatalf("sign-in while suspended: %d %+v", code, refused)
	}
	if code := admin.Do(t, "POST", "/api/admin/users/"+bob.ID+"/reinstate", map[string]string{}, nil); code != http.StatusOK {
		t.Fatalf("reinstate: %d", code)
	}
	if code := bob.Do(t, "POST", "/api/auth/signin", map[string]string{"email": "bob@example.org", "password": bob.Pass}, nil); code != http.StatusOK {
		t.Fatalf("sign-in after reinstating: %d", code)
	}
	var mine struct{ Entries []struct{ Action, Reason, ActorID string } }
	bob.Do(t, "GET", "/api/me/audit", nil, &mine)
	if len(mine.Entries) != 3 || mine.Entries[1].Action != "user.suspended" || mine.Entries[1].Reason != "Security review" || mine.Entries[1].ActorID != "" {
		t.Fatalf("Bob's account page entries: %+v", mine.Entries)
	}
}
