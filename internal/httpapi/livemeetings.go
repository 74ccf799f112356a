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
	LockMeeting(id meeting.ID, locked bool, reason, message string) bool
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
	Locked        bool   `json:"locked"`
}

// adminLiveMeetings handles GET /api/admin/meetings/live.
func (a *api) adminLiveMeetings(w http.ResponseWriter, r *http.Request) {
	if _, ok := a.admin(w, r); !ok {
		return
	}
	out := []liveMeetingJSON{}
	if a.live != nil {
		for _, lm := range a.live.LiveMeetings() {
			j := liveMeetingJSON{ID: string(lm.ID), Participants: lm.Participants, Waiting: lm.Waiting, BreakoutRooms: lm.BreakoutRooms, Locked: lm.Locked}
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

// adminLockMeeting handles POST /api/admin/meetings/{id}/lock {locked,
// reason}: an administrator locks or unlocks a meeting they do not host,
// live or not. The stored meeting's lock and the audit entry
// (meeting.locked or meeting.unlocked, with the reason, about the
// meeting, so its owner's account page lists it) are written in one
// transaction first; then, if the meeting is live, its lock changes as a
// host's would and everyone in it, breakout rooms included, is told the
// reason. The lock is kept with the meeting until a host unlocks it from
// inside or an administrator does.
func (a *api) adminLockMeeting(w http.ResponseWriter, r *http.Request) {
	u, ok := a.admin(w, r)
	if !ok {
		return
	}
	var req struct {
		Locked *bool
		Reason string
	}
	if !readJSON(w, r, &req) {
		return
	}
	if req.Locked == nil {
		writeError(w, http.StatusBadRequest, "bad_request", "Say whether to lock the meeting: locked true or false.")
		return
	}
	id, err := meeting.ParseID(r.PathValue("id"))
	if err != nil {
		writeError(w, http.StatusNotFound, "not_found", "There is no such meeting.")
		return
	}
	var live *signal.LiveMeeting
	if a.live != nil {
		for _, lm := range a.live.LiveMeetings() {
			if lm.ID == id {
				live = &lm
			}
		}
	}
	if _, err := a.meetings.Meeting(r.Context(), id); errors.Is(err, store.ErrNotFound) && live == nil {
		writeError(w, http.StatusNotFound, "not_found", "There is no such meeting.")
		return
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		a.internal(w, "look up meeting", err)
		return
	}
	action, done, told := audit.MeetingUnlocked, "unlocked", "people with the link can join again"
	if *req.Locked {
		action, done, told = audit.MeetingLocked, "locked", "nobody new can join"
	}
	details := map[string]string{"live": strconv.FormatBool(live != nil)}
	if live != nil {
		details["participants"], details["waiting"] = strconv.Itoa(live.Participants), strconv.Itoa(live.Waiting)
	}
	e, err := a.accounts.ActionEntry(auth.ByAdmin(u), action, audit.SubjectMeeting, string(id), req.Reason, details)
	if err != nil {
		a.authError(w, err)
		return
	}
	if e, err = a.meetings.LockMeeting(r.Context(), id, *req.Locked, e); err != nil {
		a.internal(w, "lock meeting", err)
		return
	}
	// Asked again after the entry: a meeting that started since is told too.
	wasLive := a.live != nil && a.live.LockMeeting(id, *req.Locked, e.Reason,
		"An administrator "+done+" this meeting ("+told+"): "+e.Reason)
	a.log.Info("meeting "+done+" by an administrator", "meeting", id, "admin", u.ID, "live", wasLive)
	writeJSON(w, http.StatusOK, map[string]any{"locked": *req.Locked, "live": wasLive})
}
