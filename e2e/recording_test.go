package e2e

import (
	"bytes"
	"database/sql"
	"fmt"
	"math"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/kaigi-meet/kaigi/internal/config"
	"github.com/kaigi-meet/kaigi/internal/servertest"
	_ "modernc.org/sqlite"
)

// TestRecordingStaysEncrypted (issue 18): three people in an end-to-end
// encrypted meeting; the host records from the More menu for about 20
// seconds (seven 3-second chunks uploaded, with every connection dropped
// on the way: the upload goes on where it was); everyone sees the indicator
// while it runs and it goes when it stops. What the server stored on disk
// (the database file, read directly) has no WebM, VP8 or Opus structure
// and the entropy of random bytes. The host shares it with Bob after
// comparing his key's fingerprint; Bob plays it in his browser to its end
// with decoded frames; Eve, an account it was not shared with, can see
// neither it nor its key nor a chunk.
func TestRecordingStaysEncrypted(t *testing.T) {
	data := t.TempDir()
	srv := startServer(t, servertest.Options{Config: func(c *config.Config) { c.Data = data }})
	host := srv.Admin(t)
	bobAcc := srv.NewAccount(t, "bob@example.org", "Bob Reader")
	eveAcc := srv.NewAccount(t, "eve@example.org", "Eve Other")
	set := servertest.OpenSettings()
	set.E2EE = true
	m := host.NewMeeting(t, set)
	link := srv.URL + "/m/" + m.ID

	ada, bob, cy := newTab(t, "Ada"), newTab(t, "Bob"), newTab(t, "Cy")
	ada.signedInAs(srv, host)
	bob.signedInAs(srv, bobAcc)
	for _, tb := range []*tab{ada, bob, cy} {
		tb.joinMeeting(link)
	}
	for _, tb := range []*tab{ada, bob, cy} {
		tb.waitFor("the encrypted indicator", `#e2ee-indicator[data-state="on"]`)
	}
	ada.decodes(bob.selfID(), "camera")
	ada.decodes(cy.selfID(), "camera")

	// Ada starts recording: she is shown whom it is readable by (herself,
	// with her new key's fingerprint), and everyone is told.
	ada.clickInMore("#menu-record")
	ada.waitVisible("the recording confirmation", "#record-confirm")
	if n := ada.count("#record-readers li"); n != 1 {
		t.Fatalf("%d readers offered, want Ada alone", n)
	}
	if !strings.Contains(ada.text("#record-readers"), "Alex Admin") {
		t.Fatalf("readers %q do not name the host's account", ada.text("#record-readers"))
	}
	ada.click("#record-confirm-start")
	for _, tb := range []*tab{ada, bob, cy} {
		tb.waitVisible("the recording indicator", "#recording-indicator")
		tb.waitJS("the recording state", `document.body.dataset.recording === "on"`)
		// The server said so, and so does the meeting's MLS group (the
		// recorder committed the state before it started recording).
		tb.waitJS("the recording state in the group", `document.body.dataset.recordingSource === "both"`)
	}
	for _, tb := range []*tab{bob, cy} {
		tb.waitText("who records", "#recording-indicator", "Ada is recording")
		tb.waitVisible("the leave button on the indicator", "#recording-leave")
	}
	var id string
	if err := ada.eval(`document.body.dataset.recordingId`, &id); err != nil || !strings.HasPrefix(id, "rec_") {
		t.Fatalf("recording ID %q: %v", id, err)
	}

	// About 20 seconds: seven chunks of 3 s reach the server, across a
	// dropped connection after the third (the recorder comes back as the
	// same participant, still recording, and uploads what waited).
	waitChunks(t, host, id, 3)
	srv.DropConnections()
	ada.waitJS("to be back in the meeting", `window.kaigiDebug.state() === "in-meeting"`)
	ada.waitJS("still recording", `document.body.dataset.recording === "on"`)
	waitChunks(t, host, id, 7)
	ada.waitJS("this browser recording", `document.body.dataset.recorder === "recording"`)
	// Stop from the More menu, clicked from script: while it records, the
	// recorder's tab (drawing and encoding 1280x720 frames) on this starved
	// machine can take longer than chromedp waits for a dispatched click.
	ada.waitJS("Stop recording clicked", `(() => {
		if (document.querySelector("#more-controls-menu").hidden) { document.querySelector("#more-controls").click(); return false; }
		const b = document.querySelector("#more-controls-menu #menu-record");
		if (!b || b.textContent !== "Stop recording") return false;
		b.click();
		return true;
	})()`)
	ada.waitJS("the recording saved", fmt.Sprintf(`document.body.dataset.recordingSaved === %q`, id))
	// The recorder clears the group's state at once (a recording commit,
	// not a key update bounded to one per 30 s): how long it took is logged.
	saved := time.Now()
	for _, tb := range []*tab{ada, bob, cy} {
		tb.waitJS("the indicator gone", `document.body.dataset.recording === "off" && !document.querySelector("#recording-indicator").checkVisibility()`)
	}
	t.Logf("every indicator off %s after the recording was saved", time.Since(saved).Round(100*time.Millisecond))

	// What the server keeps on disk is ciphertext.
	chunks, manifest := storedRecording(t, filepath.Join(data, "kaigi.db"), id)
	if len(chunks) < 7 || len(manifest) == 0 {
		t.Fatalf("%d chunks stored, manifest %d bytes", len(chunks), len(manifest))
	}
	all := bytes.Join(chunks, nil)
	// Markers of at least five bytes (a shorter one turns up by chance in
	// megabytes of random bytes): the WebM DocType element, the VP8 and
	// Opus codec IDs, Opus's header; and no chunk starts as a WebM file.
	for _, marker := range [][]byte{append([]byte{0x42, 0x82, 0x84}, "webm"...), []byte("V_VP8"), []byte("A_OPUS"), []byte("OpusHead")} {
		if bytes.Contains(all, marker) {
			t.Fatalf("the stored recording contains %q (WebM/VP8/Opus structure)", marker)
		}
	}
	for i, c := range chunks {
		if bytes.HasPrefix(c, []byte{0x1a, 0x45, 0xdf, 0xa3}) {
			t.Fatalf("stored chunk %d starts with the EBML magic of a WebM file", i)
		}
	}
	if e := entropy(all); e < 7.99 {
		t.Fatalf("the stored recording's entropy is %.4f bits a byte over %d bytes: not random-looking", e, len(all))
	}
	t.Logf("stored %d chunks, %d bytes, entropy %.5f bits/byte", len(chunks), len(all), entropy(all))

	// Bob makes his recording key; Ada shares with him after seeing its
	// fingerprint, the one Bob's page shows.
	bob.run("open Recordings", chromedp.Navigate(srv.URL+"/recordings"))
	bob.waitVisible("the key card", "#recording-key-make")
	bob.click("#recording-key-make")
	bob.waitVisible("Bob's fingerprint", "#recording-key-fingerprint")
	bobFP := bob.text("#recording-key-fingerprint")
	ada.run("open Recordings", chromedp.Navigate(srv.URL+"/recordings"))
	item := fmt.Sprintf(`li[data-recording=%q]`, id)
	ada.waitVisible("the recording in Ada's list", item)
	ada.click(item + ` button[data-action="share"]`)
	ada.typeInto("#recording-share-email", "bob@example.org")
	ada.click("#recording-share-next")
	ada.waitVisible("Bob's key fingerprint", "#recording-share-fingerprint")
	if got := ada.text("#recording-share-fingerprint"); got != bobFP {
		t.Fatalf("Ada is shown fingerprint %q for Bob, his page says %q", got, bobFP)
	}
	ada.click("#recording-share-confirm")
	ada.waitJS("the share done", `!document.querySelector("#recording-share-confirm-dialog") && !document.querySelector("#recording-error").checkVisibility()`)

	// Bob plays it in his browser to its end, with decoded frames.
	bob.run("reload Recordings", chromedp.Navigate(srv.URL+"/recordings"))
	bob.waitVisible("the recording in Bob's list", item)
	bob.click(item + ` button[data-action="play"]`)
	bob.waitJS("the player knows the duration", `Number(document.querySelector("#recording-player").dataset.duration) > 0`)
	// The video lasts about 20 s or more (longer when the reconnection
	// took a while), and no longer than the recorder recorded (its sealed
	// manifest says); it may be a little shorter: a starved browser draws
	// the canvas's last frames late.
	var duration, recorded float64
	if err := bob.eval(`Number(document.querySelector("#recording-player").dataset.duration)`, &duration); err != nil {
		t.Fatal(err)
	}
	if err := bob.eval(`Number(document.querySelector("#recording-player").dataset.recorded)`, &recorded); err != nil {
		t.Fatal(err)
	}
	if duration < 18 || duration > recorded+5 {
		t.Fatalf("the recording plays %.1f s; the recorder recorded %.1f s", duration, recorded)
	}
	if err := bob.eval(`(() => { const v = document.querySelector("#recording-player"); v.muted = true; v.playbackRate = 4; return v.play().then(() => true); })()`, nil); err != nil {
		t.Fatalf("play: %v", err)
	}
	bob.waitJS("the recording played to its end", `(() => { const v = document.querySelector("#recording-player"); return v.ended && v.getVideoPlaybackQuality().totalVideoFrames > 0; })()`)
	var frames float64
	_ = bob.eval(`document.querySelector("#recording-player").getVideoPlaybackQuality().totalVideoFrames`, &frames)
	t.Logf("Bob played %.1f s of recording, %.0f frames decoded", duration, frames)

	// Eve, not a reader: nothing listed, no key, no chunk.
	eve := newTab(t, "Eve")
	eve.signedInAs(srv, eveAcc)
	eve.run("open Recordings", chromedp.Navigate(srv.URL+"/recordings"))
	eve.waitVisible("Eve's empty list", "#recordings-none")
	var status []int
	if err := eve.eval(fmt.Sprintf(`Promise.all([fetch("/api/recordings/%s"), fetch("/api/recordings/%s/chunks/0")]).then(rs => rs.map(r => r.status))`, id, id), &status); err != nil ||
		len(status) != 2 || status[0] != http.StatusNotFound || status[1] != http.StatusNotFound {
		t.Fatalf("Eve's requests for the recording and a chunk: %v, %v; want 404s", status, err)
	}
	if code := eveAcc.Do(t, "GET", "/api/recordings/"+id, nil, nil); code != http.StatusNotFound {
		t.Fatalf("Eve's API read: %d", code)
	}
}

// waitChunks waits (bounded) until the server holds n chunks of the
// recording, as its recorder's account reads it.
func waitChunks(t *testing.T, a *servertest.Account, id string, n int) {
	t.Helper()
	deadline := time.Now().Add(120 * time.Second)
	last := 0
	for time.Now().Before(deadline) {
		var out struct{ Recording struct{ Chunks int } }
		if code := a.Do(t, "GET", "/api/recordings/"+id, nil, &out); code == http.StatusOK {
			last = out.Recording.Chunks
			if last >= n {
				return
			}
		}
		time.Sleep(time.Second)
	}
	t.Fatalf("the server holds %d chunks of the recording, want %d", last, n)
}

// storedRecording reads a recording's chunks and manifest straight from
// the server's database file.
func storedRecording(t *testing.T, path, id string) ([][]byte, []byte) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var manifest []byte
	if err := db.QueryRow(`SELECT manifest FROM recordings WHERE id = ?`, id).Scan(&manifest); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(`SELECT data FROM recording_chunks WHERE recording_id = ? ORDER BY n`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var chunks [][]byte
	for rows.Next() {
		var c []byte
		if err := rows.Scan(&c); err != nil {
			t.Fatal(err)
		}
		chunks = append(chunks, c)
	}
	return chunks, manifest
}

// entropy is the Shannon entropy of b's bytes, in bits a byte.
func entropy(b []byte) float64 {
	var counts [256]int
	for _, x := range b {
		counts[x]++
	}
	var h float64
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / float64(len(b))
			h -= p * math.Log2(p)
		}
	}
	return h
}
