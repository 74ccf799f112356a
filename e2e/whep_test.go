package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/servertest"
	"github.com/kaigi-meet/kaigi/internal/whip/whiptest"
	"github.com/pion/webrtc/v4"
)

// TestWHEPThroughTheUI: the host of a meeting without end-to-end
// encryption makes a watch (WHEP) token in the meeting's settings dialog;
// a Go WHEP client (pion) watches with it and receives the host
// browser's camera, starting at a key frame, and microphone; the host's
// roster marks the viewer as watching outside end-to-end encryption; and
// revoking the token in the dialog takes the viewer out.
func TestWHEPThroughTheUI(t *testing.T) {
	srv := startServer(t, servertest.Options{})
	admin := srv.Admin(t)
	m := admin.NewMeeting(t, servertest.OpenSettings())
	host := newTab(t, "Host")
	host.signedInAs(srv, admin)
	host.joinMeeting(srv.URL + "/m/" + m.ID)

	host.clickInMore("#open-meeting-settings")
	host.waitVisible("the watch section", "#egress")
	host.typeInto("#egress-name", "Stage screen")
	host.click("#egress-create")
	host.waitJS("the new token shown", `(document.querySelector("#egress-token")?.value ?? "").startsWith("kaigi_whep_")`)
	var tok, url string
	if err := host.eval(`document.querySelector("#egress-token").value`, &tok); err != nil {
		t.Fatal(err)
	}
	if err := host.eval(`document.querySelector("#egress-url").value`, &url); err != nil {
		t.Fatal(err)
	}
	if url != srv.URL+"/whep/"+m.ID {
		t.Fatalf("the dialog shows the URL %q", url)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	v, err := whiptest.Watch(ctx, url, tok)
	if err != nil {
		t.Fatalf("WHEP watch: %v", err)
	}
	defer v.Close()
	for {
		a, vid := v.Packets()
		if a >= 50 && vid >= 50 && v.KeyFrames() > 0 {
			break
		}
		select {
		case <-v.Arrived():
		case <-ctx.Done():
			t.Fatalf("the viewer got %d audio and %d video packets, %d key frames", a, vid, v.KeyFrames())
		}
	}
	if log := v.Log(webrtc.RTPCodecTypeVideo); len(log) == 0 || !log[0].KeyFrame {
		t.Fatalf("the viewer's video did not begin with a key frame: %+v", log[:min(len(log), 3)])
	}

	host.waitFor("the viewer's row marked", `#participants li[data-viewer="true"] .not-e2ee`)
	if got := host.text(`#participants li[data-viewer="true"] .not-e2ee`); !strings.HasPrefix(got, "Watching") {
		t.Fatalf("the roster's mark reads %q", got)
	}

	// Revoking the token in the dialog ends the viewer's session.
	host.waitVisible("the token listed", `#egress-tokens li .ingest-revoke`)
	host.click(`#egress-tokens li .ingest-revoke`)
	host.waitGone("the viewer to leave the roster", `#participants li[data-viewer="true"]`)
	host.waitGone("the token to leave the list", `#egress-tokens li`)
}
