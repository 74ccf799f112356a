package multinode_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/client"
	"github.com/kaigi-meet/kaigi/internal/pgtest"
	"github.com/kaigi-meet/kaigi/internal/servertest"
)

// liveList is GET /api/admin/meetings/live's answer.
type liveList struct {
	Meetings []struct {
		ID           string
		Title        string
		Participants int
		Locked       bool
	}
	Unanswered []string
}

// adminCluster starts eu1 and eu2 and a meeting held on eu1: Ada, its
// owner, is connected to eu1 and Bob relayed through eu2. idle is a
// meeting nobody is in.
func adminCluster(t *testing.T) (eu1, eu2 *servertest.Server, admin *servertest.Account, m, idle string, ada, bob *client.Client) {
	t.Helper()
	natsURL := startNATS(t)
	db := pgtest.NewDatabase(t)
	key := clusterKey(t)
	eu1 = node(t, "eu1", "eu", natsURL, db, key)
	eu2 = node(t, "eu2", "eu", natsURL, db, key)
	admin = eu1.Admin(t)
	owner := eu1.NewAccount(t, "ada@example.org", "Ada")
	m = owner.NewMeeting(t, servertest.OpenSettings()).ID
	idle = owner.NewMeeting(t, servertest.OpenSettings()).ID
	undo := placeOn(t, eu1, eu2)
	ada = join(t, eu1, client.Options{Meeting: m, Name: "Ada", Cookie: owner.Cookie()})
	undo()
	bob = join(t, eu2, client.Options{Meeting: m, Name: "Bob"})
	waitFor(t, ada, "Bob in", func() bool { return len(ada.Roster()) == 2 })
	if st := eu2.Signal().Stats(); st.Meetings != 0 {
		t.Fatalf("eu2 holds %d meetings, want 0 (the meeting is eu1's)", st.Meetings)
	}
	return eu1, eu2, admin, m, idle, ada, bob
}

// auditCount counts the audit log's entries about the meetings, by action.
func auditCount(t *testing.T, admin *servertest.Account, srv *servertest.Server, ids ...string) map[string]int {
	t.Helper()
	var log struct {
		Entries []struct{ Action, SubjectID string }
	}
	if code := doAt(t, admin, srv, "GET", "/api/admin/audit", nil, &log); code != http.StatusOK {
		t.Fatalf("audit log: %d", code)
	}
	count := map[string]int{}
	for _, e := range log.Entries {
		for _, id := range ids {
			if e.SubjectID == id {
				count[e.Action]++
			}
		}
	}
	return count
}

// TestClusterAdminLiveList: the live list through eu2 shows the meeting
// held on eu1 with its two participants (Ada on eu1, Bob relayed), and
// no node unanswered.
func TestClusterAdminLiveList(t *testing.T) {
	_, eu2, admin, m, _, _, _ := adminCluster(t)
	var live liveList
	if code := doAt(t, admin, eu2, "GET", "/api/admin/meetings/live", nil, &live); code != http.StatusOK ||
		len(live.Meetings) != 1 || live.Meetings[0].ID != m || live.Meetings[0].Participants != 2 || live.Meetings[0].Locked || len(live.Unanswered) != 0 {
		t.Fatalf("the live list through eu2: %d %+v", code, live)
	}
}

// TestClusterAdminLock: locking through eu2 locks the live room on eu1:
// both members are told (admin_notice, locked settings), a newcomer
// joining through eu1 is refused meeting_locked, the list through eu2
// shows it locked, and the audit log has one meeting.locked entry.
func TestClusterAdminLock(t *testing.T) {
	eu1, eu2, admin, m, _, ada, bob := adminCluster(t)
	var locked struct{ Locked, Live bool }
	if code := doAt(t, admin, eu2, "POST", "/api/admin/meetings/"+m+"/lock", map[string]any{"locked": true, "reason": "Abuse report 9"}, &locked); code != http.StatusOK || !locked.Locked || !locked.Live {
		t.Fatalf("lock through eu2: %d %+v", code, locked)
	}
	for _, c := range []*client.Client{ada, bob} {
		waitFor(t, c, "the administrator's notice", func() bool { return len(c.AdminNotices()) == 1 })
		if n := c.AdminNotices()[0]; n.Action != "locked" || n.Reason != "Abuse report 9" || !strings.HasSuffix(n.Message, ": Abuse report 9") {
			t.Fatalf("%s was told %+v", c.Self().Name, n)
		}
		waitFor(t, c, "locked settings", func() bool { return c.Settings()["locked"] == true })
	}
	_, err := tryJoin(t, eu1, client.Options{Meeting: m, Name: "Late"})
	if r := (*client.Refused)(nil); !errors.As(err, &r) || r.Code != "meeting_locked" {
		t.Fatalf("a newcomer joining the locked meeting through eu1: %v, want refused meeting_locked", err)
	}
	var live liveList
	if code := doAt(t, admin, eu2, "GET", "/api/admin/meetings/live", nil, &live); code != http.StatusOK || len(live.Meetings) != 1 || !live.Meetings[0].Locked {
		t.Fatalf("the live list through eu2 after the lock: %d %+v", code, live)
	}
	if c := auditCount(t, admin, eu1, m); c["meeting.locked"] != 1 || len(c) != 1 {
		t.Fatalf("audit entries about the meeting: %v, want one meeting.locked", c)
	}
}

// TestClusterAdminEnd: a meeting live nowhere is 404 not_live through
// eu2; ending the meeting held on eu1 through eu2 closes both sockets
// with ended and the reason, once: ending it again is 404, and the audit
// log has one meeting.ended entry.
func TestClusterAdminEnd(t *testing.T) {
	eu1, eu2, admin, m, idle, ada, bob := adminCluster(t)
	var refused struct{ Error struct{ Code string } }
	if code := doAt(t, admin, eu2, "POST", "/api/admin/meetings/"+idle+"/end", map[string]string{"reason": "x"}, &refused); code != http.StatusNotFound || refused.Error.Code != "not_live" {
		t.Fatalf("ending a meeting live nowhere: %d %+v, want 404 not_live", code, refused)
	}
	if code := doAt(t, admin, eu2, "POST", "/api/admin/meetings/"+m+"/end", map[string]string{"reason": "Court order 3"}, nil); code != http.StatusNoContent {
		t.Fatalf("end through eu2: %d", code)
	}
	for _, c := range []*client.Client{ada, bob} {
		select {
		case <-c.Done():
		case <-waitCtx(t).Done():
			t.Fatalf("%s's socket stayed open after the meeting was ended through eu2", c.Self().Name)
		}
		if r, msg := c.ClosedReason(), c.ClosedMessage(); r != "ended" || !strings.Contains(msg, "An administrator ended this meeting: Court order 3") {
			t.Fatalf("%s closed with %q %q", c.Self().Name, r, msg)
		}
	}
	if code := doAt(t, admin, eu2, "POST", "/api/admin/meetings/"+m+"/end", map[string]string{"reason": "again"}, nil); code != http.StatusNotFound {
		t.Fatalf("ending the ended meeting again: %d, want 404", code)
	}
	if c := auditCount(t, admin, eu1, m, idle); c["meeting.ended"] != 1 || len(c) != 1 {
		t.Fatalf("audit entries about the meetings: %v, want one meeting.ended", c)
	}
}

// TestClusterAdminHolderSilent: the node holding the meeting stops
// answering (eu1's cluster membership halts as in a crash; its placement
// stays until it expires): ending the meeting through eu2 is 503
// node_unreachable, not 404, and nothing is recorded in the audit log.
func TestClusterAdminHolderSilent(t *testing.T) {
	eu1, eu2, admin, m, _, _, _ := adminCluster(t)
	eu1.Cluster().Halt()
	var refused struct{ Error struct{ Code string } }
	if code := doAt(t, admin, eu2, "POST", "/api/admin/meetings/"+m+"/end", map[string]string{"reason": "x"}, &refused); code != http.StatusServiceUnavailable || refused.Error.Code != "node_unreachable" {
		t.Fatalf("ending a meeting whose node is silent: %d %+v, want 503 node_unreachable", code, refused)
	}
	if c := auditCount(t, admin, eu2, m); len(c) != 0 {
		t.Fatalf("audit entries about the meeting: %v, want none", c)
	}
}
