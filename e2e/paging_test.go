package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/client"
	"github.com/kaigi-meet/kaigi/internal/servertest"
)

// goCameras is how many Go participants TestGalleryPages brings: with the
// browser's own tile, one more than a gallery page holds (25), and one
// more again, so that the second page holds two.
const goCameras = 26

// goFrameInterval is the Go participants' frame rate: 10 a second.
const goFrameInterval = 100 * time.Millisecond

// vp8KeyFrames has the tab's own VP8 encoder (WebCodecs) make n small key
// frames, 160×90, each a colour of its own with a white block in a place
// of its own: real pictures, small enough for one RTP packet, so that the
// browser decodes what the Go participants send.
func (tb *tab) vp8KeyFrames(n int) [][]byte {
	tb.t.Helper()
	var encoded []string
	err := tb.eval(fmt.Sprintf(`(async () => {
		const out = [];
		let failed = null;
		const enc = new VideoEncoder({
			output: (chunk) => { const b = new Uint8Array(chunk.byteLength); chunk.copyTo(b); out.push(b); },
			error: (e) => { failed = String(e); },
		});
		enc.configure({ codec: "vp8", width: 160, height: 90, bitrate: 60000, framerate: 10 });
		const canvas = new OffscreenCanvas(160, 90);
		const g = canvas.getContext("2d");
		for (let i = 0; i < %d; i++) {
			g.fillStyle = "hsl(" + Math.round(i * 360 / %d) + " 55%% 45%%)";
			g.fillRect(0, 0, 160, 90);
			g.fillStyle = "#fff"; // a block in a place of its own, on the encoder's 16-pixel grid: cheap to encode
			g.fillRect(16 * (i %% 9) + 8, 16 * Math.floor(i / 9) + 16, 16, 16);
			const f = new VideoFrame(canvas, { timestamp: i * 100000 });
			enc.encode(f, { keyFrame: true });
			f.close();
		}
		await enc.flush();
		if (failed) throw new Error(failed);
		return out.map((b) => { let s = ""; for (const x of b) s += String.fromCharCode(x); return btoa(s); });
	})()`, n, n), &encoded)
	if err != nil {
		tb.t.Fatalf("%s: encode VP8 key frames: %v", tb.name, err)
	}
	if len(encoded) != n {
		tb.t.Fatalf("%s: the encoder made %d frames, want %d", tb.name, len(encoded), n)
	}
	frames := make([][]byte, n)
	for i, e := range encoded {
		f, err := base64.StdEncoding.DecodeString(e)
		if err != nil {
			tb.t.Fatal(err)
		}
		if !isKeyFrame(f) {
			tb.t.Fatalf("frame %d is no VP8 key frame", i)
		}
		frames[i] = f
	}
	return frames
}

// goCamera is a Go participant that sends one VP8 key frame, again and
// again, as its camera, in single RTP packets (a VP8 payload descriptor
// with the start bit, then the frame), and asks the server for none of
// the others' video (0×0 for each), which it never looks at.
func goCamera(ctx context.Context, srv *servertest.Server, meetingID, name string, frame []byte) (*client.Client, error) {
	if len(frame)+1 > 1200 {
		return nil, fmt.Errorf("a %d-byte key frame does not fit one packet", len(frame))
	}
	var (
		mu    sync.Mutex
		c     *client.Client
		ready = make(chan struct{})
	)
	hide := func(rt *client.RemoteTrack) func([]byte) {
		if rt.Kind != "video" {
			return nil
		}
		go func() {
			<-ready
			mu.Lock()
			cl := c
			mu.Unlock()
			_ = cl.SendRaw(ctx, map[string]any{"type": "video_size", "participant": rt.Participant, "source": "camera", "width": 0, "height": 0})
		}()
		return nil
	}
	jctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	joined, err := client.Join(jctx, client.Options{
		BaseURL: srv.URL, Meeting: meetingID, Name: name, Publish: []string{"camera"},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Observe: hide,
	})
	if err != nil {
		return nil, fmt.Errorf("%s joins: %w", name, err)
	}
	mu.Lock()
	c = joined
	mu.Unlock()
	close(ready)
	payload := append([]byte{0x10}, frame...) // VP8 payload descriptor: start of partition 0
	go func() {
		tick := time.NewTicker(goFrameInterval)
		defer tick.Stop()
		cam := joined.Local("camera")
		for {
			if err := cam.WriteFrame(payload, 1200, 9000); err != nil {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return joined, nil
}

// TestGalleryPages: one browser meets 26 Go participants, each sending a
// small real VP8 picture at 10 frames a second (about 30 kbit/s). The
// browser's gallery shows 25 tiles (its own and 24 others) and a page
// control saying "Page 1 of 2"; the two people on page 2 report 0×0 (the
// SFU's debug line says so) and the browser receives not a packet of their
// video while it decodes 10 more frames of each of the 24; on page 2 the
// two show and their video arrives, and then the 24 of page 1 receive
// nothing. The meeting is not end-to-end encrypted: a Go participant
// cannot be an MLS member (internal/e2ee is the server's side only and
// e2eetest makes KeyPackages, not members), and paging does not depend on
// encryption.
func TestGalleryPages(t *testing.T) {
	began := time.Now()
	srv := startServer(t, servertest.Options{})
	host := srv.Admin(t)
	m := host.NewMeeting(t, servertest.OpenSettings()) // not end-to-end encrypted: see above
	link := srv.URL + "/m/" + m.ID

	ada := newTab(t, "Ada")
	ada.openPrejoin(link)
	frames := ada.vp8KeyFrames(goCameras)
	t.Logf("VP8 key frames of %d to %d bytes", len(slices.MinFunc(frames, byLen)), len(slices.MaxFunc(frames, byLen)))

	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	goIDs := make([]string, goCameras)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 6)
	for i := range goCameras {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			c, err := goCamera(ctx, srv, m.ID, fmt.Sprintf("Go %02d", i+1), frames[i])
			if err != nil {
				t.Error(err)
				return
			}
			t.Cleanup(c.Close)
			goIDs[i] = c.Self().ID
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("%d Go participants in after %.1f s", goCameras, time.Since(began).Seconds())

	ada.joinTo("", "")
	ada.waitJS("to be in the meeting", `window.kaigiDebug.state() === "in-meeting"`)
	adaID := ada.selfID()
	ada.waitText("27 people", "#toggle-participants", fmt.Sprint(goCameras+1))

	// Page 1: 25 tiles, the page control, and two people off it.
	ada.waitVisible("the page control", ".gallery-pager")
	ada.waitText("page 1 of 2", "#gallery-page", "Page 1 of 2")
	if n := ada.count("#gallery .tile"); n != 25 {
		t.Fatalf("page 1 shows %d tiles, want 25", n)
	}
	page1 := ada.galleryIDs()
	if !slices.Contains(page1, adaID) {
		t.Fatalf("Ada's own tile is not on page 1")
	}
	var on1, off1 []string
	for _, id := range goIDs {
		if slices.Contains(page1, id) {
			on1 = append(on1, id)
		} else {
			off1 = append(off1, id)
		}
	}
	if len(on1) != 24 || len(off1) != 2 {
		t.Fatalf("page 1 has %d Go participants and %d are off it, want 24 and 2", len(on1), len(off1))
	}
	for _, id := range off1 {
		awaitLog(t, srv, regexp.MustCompile(`msg="video size" .*participant=`+adaID+` publisher=`+id+` source=camera width=0 height=0`))
	}
	ada.receivesOnly(on1, off1, 10)
	ada.screenshot("page-1")

	// Page 2: the two, whose video now arrives; the 24 get nothing.
	ada.click("#gallery-next")
	ada.waitText("page 2 of 2", "#gallery-page", "Page 2 of 2")
	if n := ada.count("#gallery .tile"); n != 2 {
		t.Fatalf("page 2 shows %d tiles, want 2", n)
	}
	page2 := ada.galleryIDs()
	slices.Sort(page2)
	slices.Sort(off1)
	if !slices.Equal(page2, off1) {
		t.Fatalf("page 2 shows %v, want the two off page 1, %v", page2, off1)
	}
	for _, id := range off1 {
		ada.decodes(id, "camera")
	}
	for _, id := range on1[:3] {
		awaitLog(t, srv, regexp.MustCompile(`msg="video size" .*participant=`+adaID+` publisher=`+id+` source=camera width=0 height=0`))
	}
	ada.receivesOnly(off1, on1, 10)
	ada.screenshot("page-2")
	t.Logf("the whole test took %.1f s", time.Since(began).Seconds())
}

func byLen(a, b []byte) int { return len(a) - len(b) }

// galleryIDs lists the participants whose tiles the gallery shows now.
func (tb *tab) galleryIDs() []string {
	tb.t.Helper()
	var ids []string
	if err := tb.eval(`[...document.querySelectorAll("#gallery .tile")].map((e) => e.dataset.participant ?? "")`, &ids); err != nil {
		tb.t.Fatal(err)
	}
	return ids
}

// receivesOnly waits until the tab has decoded `more` more frames of each
// shown participant's camera, and checks that meanwhile not one packet of
// the hidden participants' cameras arrived.
func (tb *tab) receivesOnly(shown, hidden []string, more int) {
	tb.t.Helper()
	packets := func() map[string]float64 {
		out := map[string]float64{}
		for _, s := range tb.stats() {
			if s.Source == "camera" {
				out[s.Participant] = s.PacketsReceived
			}
		}
		return out
	}
	before := packets()
	decoded := map[string]float64{}
	for _, id := range shown {
		decoded[id] = tb.framesDecoded(id, "camera")
	}
	began := time.Now()
	want := map[string]float64{}
	for _, id := range shown {
		want[id] = decoded[id] + float64(more)
	}
	target, _ := json.Marshal(want)
	tb.waitJS(fmt.Sprintf("%d more frames of each of the %d shown", more, len(shown)), fmt.Sprintf(`window.kaigiDebug.stats().then((s) => Object.entries(%s).every(([id, n]) => s.some((x) => x.participant === id && x.source === "camera" && x.framesDecoded >= n)))`, target))
	after := packets()
	var got, total float64
	for _, id := range shown {
		total += tb.framesDecoded(id, "camera") - decoded[id]
	}
	for _, id := range hidden {
		if _, ok := before[id]; !ok {
			tb.t.Errorf("%s: no receiver for the camera of %s, who is on another page: nothing to measure", tb.name, id)
		}
		got += after[id] - before[id]
		if after[id] != before[id] {
			tb.t.Errorf("%s: %v packets of the camera of %s, who is on another page, arrived while the page showed", tb.name, after[id]-before[id], id)
		}
	}
	tb.t.Logf("%s: in %.1f s, %.0f frames decoded of the %d shown (%.1f a second each), %.0f packets of the %d on another page",
		tb.name, time.Since(began).Seconds(), total, len(shown), total/float64(len(shown))/time.Since(began).Seconds(), got, len(hidden))
}
