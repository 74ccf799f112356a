package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/kaigi-meet/kaigi/internal/config"
	"github.com/kaigi-meet/kaigi/internal/servertest"
)

// TestServerRecording (issue 18): in a meeting that is not end-to-end
// encrypted the host chooses "Record on the server" in the More menu and
// confirms; both participants see the indicator saying the server records
// the speaker's video and voice; the server stores WebM chunks as it goes
// (plain: the EBML magic, VP8 and Opus tracks); the host stops it and the
// indicator goes; the recording is finished, and the host's Recordings
// page lists it as the server's, without a Share button, and plays it in
// the browser to its end with decoded frames, about as long as the server
// noted; Bob, a guest, cannot fetch it.
func TestServerRecording(t *testing.T) {
	data := t.TempDir()
	srv := startServer(t, servertest.Options{Config: func(c *config.Config) { c.Data = data }})
	host := srv.Admin(t)
	m := host.NewMeeting(t, servertest.OpenSettings())
	link := srv.URL + "/m/" + m.ID

	ada, bob := newTab(t, "Ada"), newTab(t, "Bob")
	ada.signedInAs(srv, host)
	for _, tb := range []*tab{ada, bob} {
		tb.joinMeeting(link)
	}
	ada.decodes(bob.selfID(), "camera")
	bob.decodes(ada.selfID(), "camera")

	ada.clickInMore("#menu-record-server")
	ada.waitVisible("the server recording confirmation", "#record-server-confirm")
	if txt := ada.text("#record-server-confirm"); !strings.Contains(txt, "not end-to-end encrypted") || !strings.Contains(txt, "the speaker's video and voice") {
		t.Fatalf("the confirmation says %q", txt)
	}
	ada.click("#record-server-start")
	for _, tb := range []*tab{ada, bob} {
		tb.waitJS("the server recording state", `document.body.dataset.recording === "on" && document.body.dataset.recordingServer === "true"`)
		tb.waitText("what the indicator says", "#recording-indicator", "Recorded by the server: the speaker's video and voice")
	}
	bob.waitVisible("the leave button on the indicator", "#recording-leave")
	var id string
	if err := ada.eval(`document.body.dataset.recordingId`, &id); err != nil || !strings.HasPrefix(id, "rec_") {
		t.Fatalf("recording ID %q: %v", id, err)
	}
	// A few chunks (one each 5 s) reach the store while it runs.
	waitChunks(t, host, id, 3)
	ada.clickInMore("#menu-record")
	for _, tb := range []*tab{ada, bob} {
		tb.waitJS("the indicator gone", `document.body.dataset.recording === "off" && !document.querySelector("#recording-indicator").checkVisibility()`)
	}

	// Finished, plain WebM on disk.
	var finished struct {
		Recording struct {
			FinishedAt string
			Kind       string
		}
	}
	ada.waitJS("the recording finished", fmt.Sprintf(`fetch("/api/recordings/%s").then(r => r.json()).then(j => !!j.recording.finishedAt)`, id))
	if code := host.Do(t, "GET", "/api/recordings/"+id, nil, &finished); code != http.StatusOK || finished.Recording.Kind != "server" {
		t.Fatalf("the recording: %d %+v", code, finished)
	}
	chunks, manifest := storedRecording(t, filepath.Join(data, "kaigi.db"), id)
	all := bytes.Join(chunks, nil)
	if len(chunks) < 3 || !bytes.HasPrefix(all, []byte{0x1a, 0x45, 0xdf, 0xa3}) || !bytes.Contains(all, []byte("V_VP8")) || !bytes.Contains(all, []byte("OpusHead")) {
		t.Fatalf("%d chunks stored, not a WebM with VP8 and Opus", len(chunks))
	}
	var man struct {
		DurationMs, VideoFrames, DroppedFrames int
	}
	if err := json.Unmarshal(manifest, &man); err != nil || man.VideoFrames == 0 {
		t.Fatalf("manifest %s: %v", manifest, err)
	}
	t.Logf("stored %d chunks, %d bytes: %s", len(chunks), len(all), manifest)

	// Bob, a guest in the meeting, cannot fetch it.
	var status []int
	if err := bob.eval(fmt.Sprintf(`Promise.all([fetch("/api/recordings/%s"), fetch("/api/recordings/%s/chunks/0")]).then(rs => rs.map(r => r.status))`, id, id), &status); err != nil ||
		len(status) != 2 || status[0] == http.StatusOK || status[1] == http.StatusOK {
		t.Fatalf("Bob's requests for the recording and a chunk: %v, %v", status, err)
	}

	// Ada plays it from her Recordings page.
	ada.run("open Recordings", chromedp.Navigate(srv.URL+"/recordings"))
	item := fmt.Sprintf(`li[data-recording=%q][data-kind="server"]`, id)
	ada.waitVisible("the server recording in Ada's list", item)
	if txt := ada.text(item); !strings.Contains(txt, "Recorded by the server") || !strings.Contains(txt, "not end-to-end encrypted") {
		t.Fatalf("the list says %q", txt)
	}
	if n := ada.count(item + ` button[data-action="share"]`); n != 0 {
		t.Fatal("a server recording offers Share")
	}
	ada.click(item + ` button[data-action="play"]`)
	ada.waitJS("the player knows the duration", `Number(document.querySelector("#recording-player").dataset.duration) > 0`)
	var duration float64
	if err := ada.eval(`Number(document.querySelector("#recording-player").dataset.duration)`, &duration); err != nil {
		t.Fatal(err)
	}
	recorded := float64(man.DurationMs) / 1000
	if duration < recorded-2 || duration > recorded+2 || duration < 8 {
		t.Fatalf("the recording plays %.1f s; the server noted %.1f s", duration, recorded)
	}
	if err := ada.eval(`(() => { const v = document.querySelector("#recording-player"); v.muted = true; v.playbackRate = 4; return v.play().then(() => true); })()`, nil); err != nil {
		t.Fatalf("play: %v", err)
	}
	ada.waitJS("the recording played to its end", `(() => { const v = document.querySelector("#recording-player"); return v.ended && v.getVideoPlaybackQuality().totalVideoFrames > 0; })()`)
	var frames float64
	_ = ada.eval(`document.querySelector("#recording-player").getVideoPlaybackQuality().totalVideoFrames`, &frames)
	t.Logf("Ada played %.1f s of the server's recording, %.0f frames decoded", duration, frames)
}
