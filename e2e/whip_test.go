package e2e

import (
	"context"
	"net/http"
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
