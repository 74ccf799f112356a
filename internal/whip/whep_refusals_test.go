package whip_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/servertest"
	"github.com/kaigi-meet/kaigi/internal/whip/whiptest"
)

// TestWHEPRefusals: every request WHEP must refuse is refused with its
// status and a clear error, and none of them puts a viewer in the room:
// no token, an ingest (WHIP) token, a malformed, wrong or revoked one, a
// token for another (or no) meeting, an end-to-end encrypted meeting
// that does not allow programs outside encryption, a body that is not
// application/sdp, offers the SFU cannot take (one that sends, as a WHIP
// offer does; H.264 only; a data channel; too large), PATCH (no trickle
// ICE), and the DELETE of a session that is not the token's. An egress
// token does not stream in at /whip/, nor revoke through .../ingest.
func TestWHEPRefusals(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	host := srv.Admin(t)
	ctx := waitCtx(t)
	open := host.NewMeeting(t, servertest.OpenSettings())
	other := host.NewMeeting(t, servertest.OpenSettings())
	tok := newEgressToken(t, host, open.ID, "Viewer")
	ingest := newToken(t, host, open.ID, "OBS")
	revoked := newEgressToken(t, host, open.ID, "Old")
	if code := host.Do(t, "DELETE", "/api/meetings/"+open.ID+"/egress/"+revoked.ID, nil, nil); code != http.StatusNoContent {
		t.Fatalf("revoke: %d", code)
	}
	encSet := servertest.OpenSettings()
	encSet.E2EE = true
	enc := host.NewMeeting(t, encSet)
	encTok := newEgressToken(t, host, enc.ID, "Viewer")
	allowSet := *encSet
	allowSet.Ingest = true
	allowing := host.NewMeeting(t, &allowSet)
	allowTok := newEgressToken(t, host, allowing.ID, "Viewer")

	_, offer, err := whiptest.WatchOffer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, sending, err := whiptest.Offer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h264 := strings.ReplaceAll(offer, "VP8/90000", "H264/90000")
	withData := offer + "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:2\r\na=sctp-port:5000\r\n"
	twoVideos := offer + "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:9\r\na=recvonly\r\na=rtpmap:96 VP8/90000\r\n"
	endpoint := srv.URL + "/whep/" + open.ID
	for _, c := range []struct {
		name, method, url, token, contentType, body string
		status                                      int
		code                                        string
	}{
		{"no token", "POST", endpoint, "", "application/sdp", offer, 401, "bad_token"},
		{"an ingest token", "POST", endpoint, ingest.Token, "application/sdp", offer, 401, "bad_token"},
		{"an ingest token renamed", "POST", endpoint, "kaigi_whep_" + strings.TrimPrefix(ingest.Token, "kaigi_whip_"), "application/sdp", offer, 401, "bad_token"},
		{"a wrong token", "POST", endpoint, "kaigi_whep_" + strings.Repeat("A", 43), "application/sdp", offer, 401, "bad_token"},
		{"a revoked token", "POST", endpoint, revoked.Token, "application/sdp", offer, 401, "bad_token"},
		{"another meeting's token", "POST", srv.URL + "/whep/" + other.ID, tok.Token, "application/sdp", offer, 404, "meeting_not_found"},
		{"an unknown meeting", "POST", srv.URL + "/whep/" + string(meeting.NewID()), tok.Token, "application/sdp", offer, 404, "meeting_not_found"},
		{"an E2EE meeting that forbids egress", "POST", srv.URL + "/whep/" + enc.ID, encTok.Token, "application/sdp", offer, 403, "egress_forbidden"},
		{"an egress token streaming in", "POST", srv.URL + "/whip/" + open.ID, tok.Token, "application/sdp", sending, 401, "bad_token"},
		{"not SDP", "POST", endpoint, tok.Token, "application/json", `{"sdp": 1}`, 415, "bad_content_type"},
		{"not an offer", "POST", endpoint, tok.Token, "application/sdp", "hello", 400, "bad_offer"},
		{"an offer that sends", "POST", endpoint, tok.Token, "application/sdp", sending, 400, "bad_offer"},
		{"a codec the SFU does not know", "POST", endpoint, tok.Token, "application/sdp", h264, 400, "unsupported_codec"},
		{"a data channel", "POST", endpoint, tok.Token, "application/sdp", withData, 400, "bad_offer"},
		{"two video sections", "POST", endpoint, tok.Token, "application/sdp", twoVideos, 400, "bad_offer"},
		{"an offer too large", "POST", endpoint, tok.Token, "application/sdp", offer + strings.Repeat("a=x\r\n", 10000), 413, "too_large"},
		{"GET the endpoint", "GET", endpoint, tok.Token, "", "", 405, "method_not_allowed"},
		{"PATCH a session (trickle ICE)", "PATCH", endpoint + "/abc", tok.Token, "application/trickle-ice-sdpfrag", "a=end-of-candidates\r\n", 405, "method_not_allowed"},
		{"DELETE a session that does not exist", "DELETE", endpoint + "/abc", tok.Token, "", "", 404, "session_not_found"},
		{"DELETE without the token", "DELETE", endpoint + "/abc", "", "", "", 401, "bad_token"},
	} {
		res, err := whiptest.Do(ctx, c.method, c.url, c.token, c.contentType, c.body)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if res.Status != c.status || !strings.Contains(res.Body, `"code":"`+c.code+`"`) || !strings.Contains(res.Body, `"message":"`) {
			t.Errorf("%s: %d %s, want %d %s", c.name, res.Status, res.Body, c.status, c.code)
		}
		if c.status == 405 && res.Header.Get("Allow") == "" {
			t.Errorf("%s: 405 without Allow", c.name)
		}
		if c.status == 401 && !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s: 401 without WWW-Authenticate: Bearer", c.name)
		}
	}
	res, err := whiptest.Do(ctx, "OPTIONS", endpoint, "", "", "")
	if err != nil || res.Status != http.StatusNoContent || !strings.Contains(res.Header.Get("Allow"), "POST") || res.Header.Get("Accept-Post") != "application/sdp" {
		t.Errorf("OPTIONS: %+v %v", res, err)
	}
	if res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("OPTIONS answers CORS: %q", res.Header.Get("Access-Control-Allow-Origin"))
	}
	// A browser page on another site cannot watch with a token it holds.
	req, _ := http.NewRequestWithContext(ctx, "POST", endpoint, strings.NewReader(offer))
	req.Header.Set("Content-Type", "application/sdp")
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode != http.StatusForbidden {
		t.Errorf("a cross-site browser POST: %v %v", r, err)
	} else {
		r.Body.Close()
	}
	// Tokens of one kind are neither listed nor revoked as the other's.
	var list struct{ Tokens []ingestToken }
	if code := host.Do(t, "GET", "/api/meetings/"+open.ID+"/egress", nil, &list); code != http.StatusOK || len(list.Tokens) != 1 || list.Tokens[0].ID != tok.ID {
		t.Errorf("egress tokens listed: %d %+v", code, list)
	}
	if code := host.Do(t, "DELETE", "/api/meetings/"+open.ID+"/ingest/"+tok.ID, nil, nil); code != http.StatusNotFound {
		t.Errorf("an egress token revoked as an ingest one: %d", code)
	}
	if code := host.Do(t, "DELETE", "/api/meetings/"+open.ID+"/egress/"+ingest.ID, nil, nil); code != http.StatusNotFound {
		t.Errorf("an ingest token revoked as an egress one: %d", code)
	}

	// Nothing refused entered a room.
	if live := srv.Signal().LiveMeetings(); len(live) != 0 {
		t.Fatalf("refused viewers left live meetings: %+v", live)
	}

	// The E2EE meeting whose host allowed programs outside encryption
	// takes the viewer.
	v, err := whiptest.Watch(ctx, srv.URL+"/whep/"+allowing.ID, allowTok.Token)
	if err != nil {
		t.Fatalf("an E2EE meeting that allows egress: %v", err)
	}
	v.Close()

	// An address that keeps guessing is held back, even with a good token.
	for i := 0; i < 25; i++ {
		whiptest.Do(ctx, "POST", endpoint, "kaigi_whep_guess", "application/sdp", offer)
	}
	if res, _ := whiptest.Do(ctx, "POST", endpoint, tok.Token, "application/sdp", offer); res == nil || res.Status != http.StatusTooManyRequests {
		t.Fatalf("after 25 wrong tokens: %+v", res)
	}
}
