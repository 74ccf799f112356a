package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/servertest"
	"github.com/kaigi-meet/kaigi/internal/whip/whiptest"
)

// TestWHIPSourceInAnE2EEMeeting: a Go WHIP client (pion) publishes real
// VP8 video into an end-to-end encrypted meeting whose host allowed
// sources outside encryption. A browser in the meeting decodes the
// source's video, which it can only do by playing it without SFrame
// decryption (decrypting it would drop every frame, as TestTamperedServer
// shows for media injected without the roster's mark), and marks the
// source as not end-to-end encrypted in the roster and on its tile. The
// source's DELETE takes it out of the roster.
func TestWHIPSourceInAnE2EEMeeting(t *testing.T) {
	srv := startServer(t, servertest.Options{})
	host := srv.Admin(t)

	// Real video to stream: a browser's fake camera, tapped at the SFU in
	// a meeting without end-to-end encryption.
	plain := host.NewMeeting(t, servertest.OpenSettings())
	ada := newTab(t, "Ada")
	ada.joinMeeting(srv.URL + "/m/" + plain.ID)
	tap := srv.Ghost(t, plain.ID)
	ghostFrames(t, ada, tap, ada.selfID()) // waits for ten frames and a key frame
	var frames [][][]byte
	var cur [][]byte
	for _, p := range tap.Track(ada.selfID(), "camera").Kept() {
		cur = append(cur, p.Payload)
		if p.Marker {
			frames = append(frames, cur)
			cur = nil
		}
	}
	ada.click("#leave")

	set := servertest.OpenSettings()
	set.E2EE = true
	set.Ingest = true
	enc := host.NewMeeting(t, set)
	bob := newTab(t, "Bob")
	bob.joinMeeting(srv.URL + "/m/" + enc.ID)
	var tok struct{ ID, URL, Token string }
	if code := host.Do(t, "POST", "/api/meetings/"+enc.ID+"/ingest", map[string]any{"name": "Stage camera"}, &tok); code != http.StatusCreated {
		t.Fatalf("create an ingest token: %d", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	pub, err := whiptest.Publish(ctx, tok.URL, tok.Token)
	if err != nil {
		t.Fatalf("WHIP publish: %v", err)
	}
	defer pub.Close()
	pub.Pump(ctx, func(n int) [][]byte { return frames[n%len(frames)] })

	bob.waitFor("the source's row marked not end-to-end encrypted", `#participants li[data-ingest="true"] .not-e2ee`)
	var src string
	if err := bob.eval(`document.querySelector('#participants li[data-ingest="true"]').dataset.participant`, &src); err != nil || src == "" {
		t.Fatalf("the source's participant ID: %q %v", src, err)
	}
	if got := bob.text(rowOf(src) + " .not-e2ee"); got != "Not end-to-end encrypted" {
		t.Fatalf("the roster's mark reads %q", got)
	}
	bob.decodes(src, "camera")
	bob.decodesMore(src, "camera", bob.framesDecoded(src, "camera"))
	bob.waitFor("the source's tile marked", tileOf(src)+` .tile-not-e2ee:not([hidden])`)
	// Bob's own camera is still end-to-end encrypted: his tile has no mark.
	if n := bob.count(`.tile.self .tile-not-e2ee:not([hidden])`); n != 0 {
		t.Fatalf("Bob's own tile is marked as not end-to-end encrypted")
	}

	if code, err := pub.Delete(ctx); err != nil || code != http.StatusOK {
		t.Fatalf("DELETE the WHIP session: %d %v", code, err)
	}
	bob.waitGone("the source to leave the roster", rowOf(src))
	bob.waitGone("the source's tile to go", tileOf(src))
}

// TestWHIPTokenThroughTheUI: the host of an end-to-end encrypted meeting
// makes an ingest token in the meeting's settings dialog; it is refused
// until the host allows stream-in sources there; then a WHIP client
// publishes with it, the host's roster marks the source, and revoking
// the token in the dialog takes the source out.
func TestWHIPTokenThroughTheUI(t *testing.T) {
	srv := startServer(t, servertest.Options{})
	admin := srv.Admin(t)
	set := servertest.OpenSettings()
	set.E2EE = true
	m := admin.NewMeeting(t, set)
	host := newTab(t, "Host")
	host.signedInAs(srv, admin)
	host.joinMeeting(srv.URL + "/m/" + m.ID)

	host.clickInMore("#open-meeting-settings")
	host.waitVisible("the stream-in section", "#ingest")
	host.typeInto("#ingest-name", "Stage camera")
	host.click("#ingest-create")
	host.waitJS("the new token shown", `(document.querySelector("#ingest-token")?.value ?? "").startsWith("kaigi_whip_")`)
	var tok, url string
	if err := host.eval(`document.querySelector("#ingest-token").value`, &tok); err != nil {
		t.Fatal(err)
	}
	if err := host.eval(`document.querySelector("#ingest-url").value`, &url); err != nil {
		t.Fatal(err)
	}
	if url != srv.URL+"/whip/"+m.ID {
		t.Fatalf("the dialog shows the URL %q", url)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := whiptest.Publish(ctx, url, tok); err == nil || !refusedAs(err, http.StatusForbidden, "ingest_forbidden") {
		t.Fatalf("before the host allows sources: %v", err)
	}

	// The host allows sources in the same dialog.
	host.click("#live-ingest")
	host.click("#meeting-settings-save")
	host.waitGone("the dialog closed", "#meeting-settings[open]")
	var listed struct{ Allowed bool }
	deadline := time.Now().Add(20 * time.Second)
	for admin.Do(t, "GET", "/api/meetings/"+m.ID+"/ingest", nil, &listed); !listed.Allowed; admin.Do(t, "GET", "/api/meetings/"+m.ID+"/ingest", nil, &listed) {
		if time.Now().After(deadline) {
			t.Fatal("the meeting does not allow sources after the host saved the setting")
		}
		time.Sleep(100 * time.Millisecond) // the setting is saved right after it is broadcast; nothing to wait on from here
	}
	pub, err := whiptest.Publish(ctx, url, tok)
	if err != nil {
		t.Fatalf("after the host allowed sources: %v", err)
	}
	defer pub.Close()
	host.waitFor("the source's row marked", `#participants li[data-ingest="true"] .not-e2ee`)

	// Revoking the token in the dialog ends the stream.
	host.clickInMore("#open-meeting-settings")
	host.waitVisible("the token listed", `#ingest-tokens li .ingest-revoke`)
	host.click(`#ingest-tokens li .ingest-revoke`)
	host.waitGone("the source to leave the roster", `#participants li[data-ingest="true"]`)
	host.waitGone("the token to leave the list", `#ingest-tokens li`)
}

// refusedAs reports whether err is a WHIP refusal with status and code.
func refusedAs(err error, status int, code string) bool {
	r, ok := err.(*whiptest.Refusal)
	return ok && r.Status == status && strings.Contains(r.Body, `"code":"`+code+`"`)
}
