package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/signal"
)

// regionsLive is a Live that counts the checks of regions a change
// through the API asks for (on a cluster, each broadcasts
// kaigi.regions.changed to every node).
type regionsLive struct{ checks atomic.Int32 }

func (*regionsLive) LiveMeetings() []signal.LiveMeeting                { return nil }
func (*regionsLive) EndMeeting(meeting.ID, string) bool                { return false }
func (*regionsLive) LockMeeting(meeting.ID, bool, string, string) bool { return false }
func (l *regionsLive) EndOutsideRegions(context.Context) int           { l.checks.Add(1); return 0 }

// TestMeetingPatchChecksRegionsOnlyWhenChanged: saving a meeting's
// settings through the API asks the live meetings (and, on a cluster,
// every node) to check their regions only when its regions changed: a
// title, a setting, the same regions again (in another order) ask
// nothing; every save used to ask, each a broadcast to every node.
func TestMeetingPatchChecksRegionsOnlyWhenChanged(t *testing.T) {
	env := newTestEnv(t)
	live := &regionsLive{}
	h := New(Options{Meetings: env.db, Accounts: env.accounts, Live: live, Logger: env.log, Web: testWeb,
		Signal: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	b := newBrowser(t, srv)
	signUp(t, b, "ada@example.org", "Ada")
	code, m := b.call("POST", "/api/meetings", nil)
	if code != http.StatusCreated {
		t.Fatalf("create = %d %v", code, m)
	}
	id := m["id"].(string)
	settings := func(regions ...string) map[string]any {
		s := map[string]any{"passcode": true, "waitingRoom": true, "screenShare": "hosts", "unmute": "everyone", "chat": "everyone", "rename": "everyone"}
		if regions != nil {
			s["regions"] = regions
		}
		return s
	}
	patch := func(body map[string]any, wantChecks int32, what string) {
		t.Helper()
		if code, resp := b.call("PATCH", "/api/meetings/"+id, body); code != http.StatusOK {
			t.Fatalf("%s: %d %v", what, code, resp)
		}
		if got := live.checks.Load(); got != wantChecks {
			t.Fatalf("after %s: %d checks of regions, want %d", what, got, wantChecks)
		}
	}
	patch(map[string]any{"title": "Planning"}, 0, "a new title")
	patch(map[string]any{"settings": settings()}, 0, "settings without regions")
	patch(map[string]any{"settings": settings("eu", "us")}, 1, "regions eu and us")
	patch(map[string]any{"settings": settings("us", "eu")}, 1, "the same regions in another order")
	patch(map[string]any{"title": "Planning again", "settings": settings()}, 1, "settings leaving the regions out")
	patch(map[string]any{"settings": settings("eu")}, 2, "regions narrowed to eu")
	stored, _ := env.db.Meeting(t.Context(), meeting.ID(id))
	if stored.Settings.Regions == nil || len(*stored.Settings.Regions) != 1 {
		t.Fatalf("stored regions %v, want eu", stored.Settings.Regions)
	}
}
