package httpapi

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/kaigi-meet/kaigi/internal/audit"
	"github.com/kaigi-meet/kaigi/internal/auth"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/signal"
	"github.com/kaigi-meet/kaigi/internal/store"
)

// Live is what administrators see and do of the meetings in progress
// (*signal.Server implements it).
type Live interface {
	LiveMeetings() []signal.LiveMeeting
	EndMeeting(id meeting.ID, message string) bool
}

// liveMeetingJSON is a live meeting in the admin page: counts, the title
// and its owner, never who is in it or what they say.
type liveMeetingJSON struct {
	ID            string `json:"id"`
	Title         string `json:"title"`
	OwnerID       string `json:"ownerId,omitempty"`
	Participants  int    `json:"participants"`
	Waiting       int    `json:"waiting"`
	BreakoutRooms int    `json:"breakoutRooms"`
}

// adminLiveMeetings handles GET /api/admin/meetings/live.
func (a *api) adminLiveMeetings(w http.ResponseWriter, r *http.Request) {
	if _, ok := a.admin(w, r); !ok {
		return
	}
	out := []liveMeetingJSON{}
	if a.live != nil {
		for _, lm := range a.live.LiveMeetings() {
			j := liveMeetingJSON{ID: string(lm.ID), Participants: lm.Participants, Waiting: lm.Waiting, BreakoutRooms: lm.BreakoutRooms}
			rec, err := a.meetings.Meeting(r.Context(), lm.ID)
			switch {
			case err == nil:
				j.Title, j.OwnerID = rec.Title, rec.OwnerID
			case !errors.Is(err, store.ErrNotFound):
				a.internal(w, "look up meeting", err)
				return
			}
			out = append(out, j)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"meetings": out})
}

// adminEndMeeting handles POST /api/admin/meetings/{id}/end {reason}: the
// action is recorded first (with how many it affects), then everyone in
// the meeting is taken out and told the reason.
func (a *api) adminEndMeeting(w http.ResponseWriter, r *http.Request) {
	u, ok := a.admin(w, r)
	if !ok {
		return
	}
	var req struct{ Reason string }
	if !readJSON(w, r, &req) {
		return
	}
	id, err := meeting.ParseID(r.PathValue("id"))
	var live *signal.LiveMeeting
	if err == nil && a.live != nil {
		for _, lm := range a.live.LiveMeetings() {
			if lm.ID == id {
				live = &lm
			}
		}
	}
	if live == nil {
		writeError(w, http.StatusNotFound, "not_live", "Nobody is in that meeting.")
		return
	}
	e, err := a.accounts.RecordAction(r.Context(), auth.ByAdmin(u), audit.MeetingEnded, audit.SubjectMeeting, string(id), req.Reason,
		map[string]string{"participants": strconv.Itoa(live.Participants), "waiting": strconv.Itoa(live.Waiting)})
	if err != nil {
		a.authError(w, err)
		return
	}
	a.live.EndMeeting(id, "An administrator ended this meeting: "+e.Reason)
	a.log.Info("meeting ended by an administrator", "meeting", id, "admin", u.ID)
	w.WriteHeader(http.StatusNoContent)
}
