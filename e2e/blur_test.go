package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// sharpnessJS measures how sharp the top fifth of a video element's
// picture is: the mean absolute Laplacian of its luma, drawn at 320×240 (so
// simulcast layers of different sizes compare alike), averaged over three
// frames; -1: no picture yet. Chromium's fake camera shows a frame counter
// there, sharp text on a plain background, which the segmentation model
// takes for background (the big disc in the middle it takes for a person,
// and keeps sharp).
const sharpnessJS = `(async (sel) => {
	const v = document.querySelector(sel);
	if (!v || v.videoWidth === 0) return -1;
	const W = 320, H = 240;
	const c = document.createElement("canvas");
	c.width = W; c.height = H;
	const x = c.getContext("2d", { willReadFrequently: true });
	let total = 0;
	for (let k = 0; k < 3; k++) {
		await new Promise((r) => (v.requestVideoFrameCallback ? v.requestVideoFrameCallback(() => r()) : setTimeout(r, 50)));
		x.drawImage(v, 0, 0, W, H);
		const d = x.getImageData(0, 0, W, H).data;
		const g = new Float32Array(W * H);
		for (let i = 0; i < W * H; i++) g[i] = 0.299 * d[4 * i] + 0.587 * d[4 * i + 1] + 0.114 * d[4 * i + 2];
		let s = 0;
		for (let y = 1; y < H / 5; y++) for (let i = y * W + 1; i < y * W + W - 1; i++) s += Math.abs(4 * g[i] - g[i - 1] - g[i + 1] - g[i - W] - g[i + W]);
		total += s / ((W - 2) * (H / 5 - 1));
	}
	return total / 3;
})`

// fpsJS counts the frames a video element presents in a second and a half
// (reported, not judged: this machine's load decides it).
const fpsJS = `((sel) => new Promise((resolve) => {
	const v = document.querySelector(sel);
	if (!v || !v.requestVideoFrameCallback) return resolve(-1);
	let n = 0;
	const t0 = performance.now();
	const f = () => {
		n++;
		if (performance.now() - t0 < 1500) v.requestVideoFrameCallback(f);
		else resolve((n * 1000) / (performance.now() - t0));
	};
	v.requestVideoFrameCallback(f);
}))`

func (tb *tab) sharpness(selector string) float64 {
	tb.t.Helper()
	var s float64
	if err := tb.eval(fmt.Sprintf(`%s(%q)`, sharpnessJS, selector), &s); err != nil {
		tb.t.Fatalf("%s: sharpness of %s: %v", tb.name, selector, err)
	}
	return s
}

// waitLog waits for a console line containing `part` and returns it
// (the lines before it are consumed).
func (tb *tab) waitLog(what, part string) string {
	tb.t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case l := <-tb.logs.lines:
			if strings.Contains(l, part) {
				return l
			}
		case <-timeout:
			tb.t.Fatalf("%s: timed out waiting for %s in the console", tb.name, what)
		}
	}
}

func (tb *tab) fps(selector string) float64 {
	tb.t.Helper()
	var f float64
	if err := tb.eval(fmt.Sprintf(`%s(%q)`, fpsJS, selector), &f); err != nil {
		tb.t.Fatalf("%s: frame rate of %s: %v", tb.name, selector, err)
	}
	return f
}

// resources lists the URLs the page fetched (Resource Timing) that match
// `part`, and any that were not on the page's own origin.
func (tb *tab) resources(part string) (matching, foreign []string) {
	tb.t.Helper()
	var raw string
	if err := tb.eval(fmt.Sprintf(`JSON.stringify((() => {
		const all = performance.getEntriesByType("resource").map((e) => e.name);
		return { matching: all.filter((u) => u.includes(%q)), foreign: all.filter((u) => new URL(u).origin !== location.origin) };
	})())`, part), &raw); err != nil {
		tb.t.Fatal(err)
	}
	var r struct{ Matching, Foreign []string }
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		tb.t.Fatal(err)
	}
	return r.Matching, r.Foreign
}

// Background blur in an end-to-end encrypted meeting: Ada turns it on in
// the meeting's "Audio and video" dialog. Bob's decrypted picture of Ada
// and Ada's self-view get measurably blurrier (Chromium's fake camera has
// no person, so all of it is background), frames keep coming, the model
// is fetched from Kaigi itself and only once blur is on, and turning blur
// off brings the sharp picture back. The choice is remembered.
func TestBackgroundBlurInMeeting(t *testing.T) {
	srv, host, link := e2eeMeeting(t)
	ada, bob := newTab(t, "Ada"), newTab(t, "Bob")
	ada.signedInAs(srv, host)
	ada.joinMeeting(link)
	bob.joinMeeting(link)
	adaID := ada.selfID()
	bob.decodes(adaID, "camera")

	remote := fmt.Sprintf(`.tile:not(.screen)[data-participant=%q] video.tile-video`, adaID)
	self := `.tile.self:not(.screen) video.tile-video`
	bob.waitJS("Ada's video playing at Bob's", fmt.Sprintf(`(document.querySelector(%q)?.videoWidth ?? 0) > 0`, remote))
	ada.waitJS("Ada's self-view playing", fmt.Sprintf(`(document.querySelector(%q)?.videoWidth ?? 0) > 0`, self))
	sharpRemote, sharpSelf := bob.sharpness(remote), ada.sharpness(self)
	if sharpRemote <= 0 || sharpSelf <= 0 {
		t.Fatalf("no picture to measure: Bob sees %.2f, Ada's self-view %.2f", sharpRemote, sharpSelf)
	}
	if got, _ := ada.resources("/assets/blur"); len(got) != 0 {
		t.Fatalf("blur's files were fetched before blur was turned on: %v", got)
	}
	fpsOff := bob.fps(remote)

	ada.clickInMore("#open-devices")
	ada.waitVisible("the device settings", "#device-settings")
	ada.click("#meeting-blur")
	ada.click("#device-settings-done")
	ada.waitGone("the settings closed", "#device-settings")

	// Bob's picture of Ada: at most half as sharp (the blur divides the
	// Laplacian by far more; half leaves room for encoding noise).
	bob.waitJS("Ada's picture blurred at Bob's", fmt.Sprintf(`%s(%q).then((s) => s > 0 && s < %v)`, sharpnessJS, remote, sharpRemote/2))
	ada.waitJS("Ada's self-view blurred", fmt.Sprintf(`%s(%q).then((s) => s > 0 && s < %v)`, sharpnessJS, self, sharpSelf/2))
	// The model was loaded (by the worker, from /assets/blur/: the CSP's
	// connect-src and script-src allow nothing else) and its first mask
	// applied; the pipeline keeps the camera's frame rate while it runs.
	firstMask := ada.waitLog("the model's first mask", "background blur: first mask after")
	blurredRemote, blurredSelf := bob.sharpness(remote), ada.sharpness(self)
	before := bob.framesDecoded(adaID, "camera")
	fpsOn, fpsSelf := bob.fps(remote), ada.fps(self)
	bob.decodesMore(adaID, "camera", before+10)
	t.Logf("sharpness (mean |Laplacian|) at Bob: %.2f sharp, %.2f blurred; Ada's self-view: %.2f, %.2f", sharpRemote, blurredRemote, sharpSelf, blurredSelf)
	t.Logf("model loaded and first mask applied: %s", firstMask)
	t.Logf("frames per second of Ada's video at Bob: %.1f without blur, %.1f with; Ada's self-view with blur: %.1f", fpsOff, fpsOn, fpsSelf)
	for _, tb := range []*tab{ada, bob} {
		if _, foreign := tb.resources(""); len(foreign) != 0 {
			t.Errorf("%s's page fetched from other origins: %v", tb.name, foreign)
		}
	}
	var remembered string
	if err := ada.eval(`localStorage.getItem("kaigi.blur") ?? ""`, &remembered); err != nil || remembered != "1" {
		t.Errorf("blur on is remembered as %q (%v), want \"1\"", remembered, err)
	}

	// Off again: the sharp camera is back on the same sender.
	ada.clickInMore("#open-devices")
	ada.waitVisible("the device settings", "#device-settings")
	ada.waitJS("the toggle shows blur on", `document.querySelector("#meeting-blur").checked`)
	ada.click("#meeting-blur")
	ada.click("#device-settings-done")
	ada.waitGone("the settings closed", "#device-settings")
	bob.waitJS("Ada's picture sharp again at Bob's", fmt.Sprintf(`%s(%q).then((s) => s > %v)`, sharpnessJS, remote, sharpRemote*0.7))
	ada.waitJS("Ada's self-view sharp again", fmt.Sprintf(`%s(%q).then((s) => s > %v)`, sharpnessJS, self, sharpSelf*0.7))
	if err := ada.eval(`localStorage.getItem("kaigi.blur") ?? ""`, &remembered); err != nil || remembered != "0" {
		t.Errorf("blur off is remembered as %q (%v), want \"0\"", remembered, err)
	}
	ada.screenshot("blur-off")
}
