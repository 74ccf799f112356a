package whip

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"time"

	"github.com/kaigi-meet/kaigi/internal/live"
	"github.com/kaigi-meet/kaigi/internal/sfu"
	"github.com/kaigi-meet/kaigi/internal/store"
	"github.com/pion/webrtc/v4"
)

// WHEP egress (draft-ietf-wish-whep): a program (OBS, GStreamer's
// whepsrc, ffmpeg) watches a meeting. It POSTs a recvonly offer to
// /whep/{meetingID} with an egress token of the meeting (its kind
// "whep", text starting EgressTokenPrefix) and gets 201 with the answer
// and the session's resource, as WHIP does; DELETE ends it; PATCH (trickle
// ICE, ICE restarts) answers 405, as in WHIP. Everything else is WHIP's
// too: one session per token, failed tokens bounded per address, the
// token looked up again every Options.Recheck, 307 to the node holding
// the meeting, the same offer bounds (at most one audio and one video
// section, Opus and VP8) but receiving only.
//
// The viewer joins the meeting's room as live.Hub.Egress says: marked
// in every roster as a viewer outside end-to-end encryption, removable
// by a host, and only where the meeting allows programs outside
// encryption (the ingest setting). What it receives is sfu.Viewer's:
// one audio track, the active speaker's, and one video track, a shared
// screen or else the active speaker's camera. In an end-to-end
// encrypted meeting that allows it, that is the frames as the members'
// browsers encrypted them: the viewer cannot decode them, but sees who
// speaks and when.

// watch takes a viewer's offer.
func (h *Handler) watch(w http.ResponseWriter, r *http.Request) {
	in, ok := h.take(w, r, whepProtocol)
	if !ok {
		return
	}
	audio, video, err := viewedKinds(in.offer)
	if err != nil {
		refuse(w, http.StatusBadRequest, codeOf(err), "The offer cannot be taken: "+err.Error()+".")
		return
	}
	s := &session{id: newName(), proto: whepProtocol, tokenID: in.tok.ID, hash: in.sum, meeting: in.meeting, h: h, done: make(chan struct{})}
	if !h.claim(s) {
		refuse(w, http.StatusConflict, "token_in_use", "This token is already watching the meeting. End that session (DELETE its resource) or wait for it to time out.")
		return
	}
	answer, no := h.startViewer(r.Context(), s, in.tok, addrOf(r), in.offer, audio, video)
	if no != nil {
		refused(w, s, no)
		return
	}
	h.created(w, r, s, answer)
}

// startViewer puts the viewer in the room and answers its offer, or says
// why not.
func (h *Handler) startViewer(ctx context.Context, s *session, tok store.IngestToken, addr netip.Addr, offer string, audio, video bool) (string, *refusal) {
	room, pid, v, err := h.opts.Viewers.Egress(ctx, s.meeting, live.Source{Conn: s, Name: tok.Name, Addr: addr, Ended: s.end})
	if no := h.notPlaced(s, err); no != nil {
		return "", no
	}
	s.mu.Lock()
	s.room, s.pid, s.viewer = room, pid, v
	closed := s.closed
	s.mu.Unlock()
	if closed { // removed before it was answered
		v.Close()
		return "", &refusal{status: http.StatusConflict, code: "removed", message: "The viewer was removed from the meeting."}
	}
	h.log.Info("whep session started", "meeting", s.meeting, "participant", pid, "token", tok.ID)
	gctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	answer, err := v.Answer(gctx, offer, audio, video)
	if errors.Is(err, sfu.ErrBadSDP) {
		return "", &refusal{status: http.StatusBadRequest, code: "bad_offer", message: "The offer cannot be taken: " + err.Error() + "."}
	}
	if err != nil {
		h.log.Error("whep answer", "meeting", s.meeting, "err", err)
		return "", &refusal{status: http.StatusInternalServerError, code: "internal", message: "The server could not make its answer."}
	}
	go h.recheck(s)
	// A viewer whose media never connects does not stay in the roster.
	time.AfterFunc(h.opts.ConnectTimeout, func() {
		if v.ConnectionState() != webrtc.PeerConnectionStateConnected {
			h.log.Info("whep session ended: media did not connect", "meeting", s.meeting, "participant", pid)
			s.end()
		}
	})
	return answer, nil
}
