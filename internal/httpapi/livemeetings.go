package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/kaigi-meet/kaigi/internal/audit"
	"github.com/kaigi-meet/kaigi/internal/auth"
	"github.com/kaigi-meet/kaigi/internal/cluster"
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

// ClusterLive is Live across the nodes of a cluster (internal/server
// implements it): the meetings held on other nodes are listed, ended and
// locked through the node that holds them. An error is a holding node
// that did not answer in time.
type ClusterLive interface {
	// ClusterMeetings lists every node's live meetings; unanswered names
	// the nodes that did not answer (their meetings are missing).
	ClusterMeetings(ctx context.Context) (meetings []signal.LiveMeeting, unanswered []string)
	// ClusterMeeting returns the meeting if it is live on any node, nil
	// if on none.
	ClusterMeeting(ctx context.Context, id meeting.ID) (*signal.LiveMeeting, error)
	ClusterEnd(ctx context.Context, id meeting.ID, message string) (bool, error)
	ClusterLock(ctx context.Context, id meeting.ID, locked bool, reason, message string) (bool, error)
}

// liveMeeting returns the meeting if it is live (on any node of a
// cluster), nil if not.
func (a *api) liveMeeting(ctx context.Context, id meeting.ID) (*signal.LiveMeeting, error) {
	if a.live == nil {
		return nil, nil
	}
	if cl, ok := a.live.(ClusterLive); ok {
		return cl.ClusterMeeting(ctx, id)
	}
	for _, lm := range a.live.LiveMeetings() {
		if lm.ID == id {
			return &lm, nil
		}
	}
	return nil, nil
}

// unreachable answers 503 for a node holding the meeting that did not
// answer.
func (a *api) unreachable(w http.ResponseWriter, id meeting.ID, err error, message string) {
	a.log.Warn("the node holding a meeting did not answer", "meeting", id, "err", err)
	writeError(w, http.StatusServiceUnavailable, "node_unreachable", message)
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

// adminLiveMeetings handles GET /api/admin/meetings/live: the live
// meetings of every node of the cluster (ClusterLive), and in unanswered
// the nodes that did not answer in time, whose meetings are missing.
func (a *api) adminLiveMeetings(w http.ResponseWriter, r *http.Request) {
	if _, ok := a.admin(w, r); !ok {
		return
	}
	out := []liveMeetingJSON{}
	var all []signal.LiveMeeting
	unanswered := []string{}
	if cl, ok := a.live.(ClusterLive); ok {
		var missing []string
		all, missing = cl.ClusterMeetings(r.Context())
		unanswered = append(unanswered, missing...)
	} else if a.live != nil {
		all = a.live.LiveMeetings()
	}
	for _, lm := range all {
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
	writeJSON(w, http.StatusOK, map[string]any{"meetings": out, "unanswered": unanswered})
}

// adminEndMeeting handles POST /api/admin/meetings/{id}/end {reason}: the
// action is recorded first (with how many it affects), then everyone in
// the meeting is taken out and told the reason. With ClusterLive the
// meeting may be held on another node, which is asked to end it; a node
// that does not answer is 503 node_unreachable (before the entry when
// the meeting could not be looked up, after it when the end could not
// be delivered).
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
	if err == nil {
		if live, err = a.liveMeeting(r.Context(), id); err != nil {
			a.unreachable(w, id, err, "The server holding that meeting did not answer; try again.")
			return
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
	message := "An administrator ended this meeting: " + e.Reason
	if cl, ok := a.live.(ClusterLive); ok {
		if _, err := cl.ClusterEnd(r.Context(), id, message); err != nil {
			a.unreachable(w, id, err, "The action is recorded, but the server holding that meeting did not answer; try again.")
			return
		}
	} else {
		a.live.EndMeeting(id, message)
	}
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
// inside or an administrator does. A meeting held on another node is
// locked there (ClusterLive); if that node does not answer, the answer is
// 503 node_unreachable: before anything is written when the meeting could
// not be looked up, after the stored lock when it could not be told.
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
	live, err := a.liveMeeting(r.Context(), id)
	if err != nil {
		a.unreachable(w, id, err, "The server holding that meeting did not answer; nothing was changed; try again.")
		return
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
	message := "An administrator " + done + " this meeting (" + told + "): " + e.Reason
	var wasLive bool
	if cl, ok := a.live.(ClusterLive); ok {
		if wasLive, err = cl.ClusterLock(r.Context(), id, *req.Locked, e.Reason, message); err != nil {
			a.unreachable(w, id, err, "The meeting is "+done+" where it is stored, but the server holding it did not answer: those in it were not told.")
			return
		}
	} else {
		wasLive = a.live != nil && a.live.LockMeeting(id, *req.Locked, e.Reason, message)
	}
	a.log.Info("meeting "+done+" by an administrator", "meeting", id, "admin", u.ID, "live", wasLive)
	writeJSON(w, http.StatusOK, map[string]any{"locked": *req.Locked, "live": wasLive})
}

// Mover moves a live meeting off the node holding it (internal/server
// implements it): to target, or with target "" to the least-loaded other
// node that may hold it and is not draining; with from set, only if it is
// held on the node from (not live otherwise). It returns the node it went
// to and whether the meeting was live; an error wrapping cluster.ErrNoNode
// is no node to move to, one wrapping cluster.ErrNodeUnreachable a
// holding node that did not answer.
type Mover interface {
	ClusterMove(ctx context.Context, id meeting.ID, from, target string) (node string, live bool, err error)
}

// adminMoveMeeting handles POST /api/admin/meetings/{id}/move {node,
// from, reason}: an administrator moves a live meeting off the node
// holding it (before that node's maintenance; with from, only if that is
// the node holding it) to the node named, or to the one placement
// chooses. Its members are closed as at a server restart and
// resume at once on the new node: same participants and roles, nobody
// in the waiting room, the end-to-end encrypted group going on. The
// audit entry (meeting.moved, with the node it went to) is written once
// the move is done: 200 {node}; 404 not_live (or not held on from); 409 no_node when no other
// node that may hold the meeting is up (or the one named may not); 503
// node_unreachable.
func (a *api) adminMoveMeeting(w http.ResponseWriter, r *http.Request) {
	u, ok := a.admin(w, r)
	if !ok {
		return
	}
	var req struct{ Node, From, Reason string }
	if !readJSON(w, r, &req) {
		return
	}
	if len(req.Node) > 128 || len(req.From) > 128 {
		writeError(w, http.StatusBadRequest, "bad_request", "That is not a node's name.")
		return
	}
	id, err := meeting.ParseID(r.PathValue("id"))
	mv, isMover := a.live.(Mover)
	if err != nil || !isMover {
		writeError(w, http.StatusNotFound, "not_live", "Nobody is in that meeting.")
		return
	}
	// The reason is checked (and trimmed) before anything moves.
	e, err := a.accounts.ActionEntry(auth.ByAdmin(u), audit.MeetingMoved, audit.SubjectMeeting, string(id), req.Reason, nil)
	if err != nil {
		a.authError(w, err)
		return
	}
	node, live, err := mv.ClusterMove(r.Context(), id, req.From, req.Node)
	switch {
	case errors.Is(err, cluster.ErrNoNode):
		writeError(w, http.StatusConflict, "no_node", "No other server that may hold this meeting is up: "+err.Error())
		return
	case err != nil:
		a.unreachable(w, id, err, "The server holding that meeting did not answer; nothing was moved; try again.")
		return
	case !live:
		writeError(w, http.StatusNotFound, "not_live", "Nobody is in that meeting.")
		return
	}
	if _, err := a.accounts.RecordAction(r.Context(), auth.ByAdmin(u), audit.MeetingMoved, audit.SubjectMeeting, string(id), e.Reason,
		map[string]string{"node": node}); err != nil {
		a.authError(w, err)
		return
	}
	a.log.Info("meeting moved by an administrator", "meeting", id, "admin", u.ID, "to", node)
	writeJSON(w, http.StatusOK, map[string]any{"node": node})
}
