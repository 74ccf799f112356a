package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/store"
)

// Meetings is the storage the API needs.
type Meetings interface {
	CreateMeeting(ctx context.Context, m store.Meeting) error
	MeetingExists(ctx context.Context, id meeting.ID) (bool, error)
}

type api struct {
	meetings  Meetings
	publicURL string
	log       *slog.Logger
	now       func() time.Time
}

type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	var e apiError
	e.Error.Code, e.Error.Message = code, message
	writeJSON(w, status, e)
}

type meetingResponse struct {
	ID  string `json:"id"`
	URL string `json:"url,omitempty"`
}

// createMeeting handles POST /api/meetings.
func (a *api) createMeeting(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	id := meeting.NewID()
	if err := a.meetings.CreateMeeting(r.Context(), store.Meeting{ID: id, CreatedAt: a.now()}); err != nil {
		a.log.Error("create meeting", "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "The meeting could not be created. Try again in a moment.")
		return
	}
	a.log.Info("meeting created", "meeting", id)
	writeJSON(w, http.StatusCreated, meetingResponse{ID: string(id), URL: a.baseURL(r) + "/m/" + string(id)})
}

// getMeeting handles GET /api/meetings/{id}. Knowing the ID is the proof
// of having the link, so it may confirm that the meeting exists.
func (a *api) getMeeting(w http.ResponseWriter, r *http.Request) {
	id, err := meeting.ParseID(r.PathValue("id"))
	if err == nil {
		var ok bool
		ok, err = a.meetings.MeetingExists(r.Context(), id)
		if err == nil && ok {
			writeJSON(w, http.StatusOK, meetingResponse{ID: string(id)})
			return
		}
		if err != nil && !errors.Is(err, meeting.ErrBadMeetingID) {
			a.log.Error("look up meeting", "meeting", id, "err", err)
			writeError(w, http.StatusInternalServerError, "internal", "The server could not look up this meeting.")
			return
		}
	}
	writeError(w, http.StatusNotFound, "meeting_not_found", "There is no meeting with this link. Check the link, or ask the host for a new one.")
}

// baseURL is the configured public URL, or this request's own origin.
func (a *api) baseURL(r *http.Request) string {
	if a.publicURL != "" {
		return a.publicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
