package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestSwitchDevicesInMeeting: during an end-to-end encrypted meeting Ada
// picks another microphone in the meeting's settings; her running track
// switches to it (the settings, opened again, show it in use) and Bob
// keeps hearing her, decrypted, without a renegotiation or a reconnect.
//
// Then, in the same meeting, background blur: Ada turns it on in the same
// "Audio and video" dialog. Bob's decrypted picture of Ada and Ada's
// self-view get measurably blurrier (Chromium's fake camera has no person,
// so all of it is background), frames keep coming, the model is fetched
// from Kaigi itself and only once blur is on, nothing comes from another
// origin, and turning blur off brings the sharp picture back. The choice
// is remembered.
func TestSwitchDevicesInMeeting(t *testing.T) {
	srv, host, link := e2eeMeeting(t)

	ada, bob := newTab(t, "Ada"), newTab(t, "Bob")
	ada.signedInAs(srv, host)
	ada.joinMeeting(link)
	bob.joinMeeting(link)
	adaID := ada.selfID()
	bob.decodes(adaID, "microphone")
	bob.decodes(adaID, "camera")

	// How sharp Ada's picture is before blur, at Bob's and in her self-view.
	remote := fmt.Sprintf(`.tile:not(.screen)[data-participant=%q] video.tile-video`, adaID)
	self := `.tile.self:not(.screen) video.tile-video`
	bob.waitJS("Ada's video playing at Bob's", fmt.Sprintf(`(document.querySelector(%q)?.videoWidth ?? 0) > 0`, remote))
	ada.waitJS("Ada's self-view playing", fmt.Sprintf(`(document.querySelector(%q)?.videoWidth ?? 0) > 0`, self))
	sharpRemote, sharpSelf := bob.sharpness(remote), ada.sharpness(self)
	if sharpRemote <= 0 || sharpSelf <= 0 {
		t.Fatalf("no picture to measure: Bob sees %.2f, Ada's self-view %.2f", sharpRemote, sharpSelf)
	}
	framesOff, sinceOff := bob.framesDecoded(adaID, "camera"), time.Now()

	ada.clickInMore("#open-devices")
	ada.waitVisible("the device settings", "#device-settings")
	var picked string
	if err := ada.eval(`(() => {
		const s = document.querySelector("#meeting-select-microphone");
		const o = [...s.options].find((o) => o.value !== "" && o.value !== s.value);
		if (!o) return "";
		s.value = o.value;
		s.dispatchEvent(new Event("change"));
		return o.value;
	})()`, &picked); err != nil {
		t.Fatal(err)
	}
	if picked == "" {
		t.Fatal("the browser lists a single microphone: nothing to switch to")
	}
	ada.click("#device-settings-done")
	ada.waitGone("the settings closed", "#device-settings")

	// Bob keeps hearing Ada: more samples, decrypted, on the same receiver.
	samples := func() float64 {
		for _, s := range bob.stats() {
			if s.Participant == adaID && s.Source == "microphone" {
				return s.TotalSamplesReceived
			}
		}
		return 0
	}
	before := samples()
	bob.waitJS("more of Ada's sound", fmt.Sprintf(`window.kaigiDebug.stats().then(s => s.some(x => x.participant === %q && x.source === "microphone" && x.totalSamplesReceived > %v))`, adaID, before+48000))
	fpsOff := (bob.framesDecoded(adaID, "camera") - framesOff) / time.Since(sinceOff).Seconds()

	// The running microphone is the one picked.
	ada.clickInMore("#open-devices")
	ada.waitVisible("the device settings again", "#device-settings")
	ada.waitJS("the picked microphone in use", fmt.Sprintf(`document.querySelector("#meeting-select-microphone").value === %q`, picked))
	ada.screenshot("devices")

	// Background blur on, in the same dialog; nothing of it was fetched before.
	if got, _ := ada.resources("/assets/blur"); len(got) != 0 {
		t.Fatalf("blur's files were fetched before blur was turned on: %v", got)
	}
	ada.click("#meeting-blur")
	ada.click("#device-settings-done")
	ada.waitGone("the settings closed", "#device-settings")

	// Bob's picture of Ada: at most half as sharp (the blur divides the
	// Laplacian by far more; half leaves room for encoding noise).
	bob.waitJS("Ada's picture blurred at Bob's", fmt.Sprintf(`%s(%q).then((s) => s > 0 && s < %v)`, sharpnessJS, remote, sharpRemote/2))
	ada.waitJS("Ada's self-view blurred", fmt.Sprintf(`%s(%q).then((s) => s > 0 && s < %v)`, sharpnessJS, self, sharpSelf/2))
	// The model was loaded (by the worker, from /assets/blur/: the CSP's
	// connect-src and script-src allow nothing else) and its first mask
	// applied; frames keep coming while it runs (counted from here while
	// the steps up to turning blur off go on: blur is slow on a loaded
	// machine, and waiting for them alone would add seconds for nothing).
	firstMask := ada.waitLog("the model's first mask", "background blur: first mask after")
	framesOn, sinceOn := bob.framesDecoded(adaID, "camera"), time.Now()
	bob.startSharpness(remote)
	ada.startSharpness(self)
	for _, tb := range []*tab{ada, bob} {
		if _, foreign := tb.resources(""); len(foreign) != 0 {
			t.Errorf("%s's page fetched from other origins: %v", tb.name, foreign)
		}
	}
	var remembered string
	if err := ada.eval(`localStorage.getItem("kaigi.blur") ?? ""`, &remembered); err != nil || remembered != "1" {
		t.Errorf("blur on is remembered as %q (%v), want \"1\"", remembered, err)
	}
	ada.clickInMore("#open-devices")
	ada.waitVisible("the device settings", "#device-settings")
	ada.waitJS("the toggle shows blur on", `document.querySelector("#meeting-blur").checked`)
	bob.decodesMore(adaID, "camera", framesOn+10)
	fpsOn := (bob.framesDecoded(adaID, "camera") - framesOn) / time.Since(sinceOn).Seconds()
	blurredRemote, blurredSelf := bob.startedSharpness(), ada.startedSharpness()
	t.Logf("sharpness (mean |Laplacian|) at Bob: %.2f sharp, %.2f blurred; Ada's self-view: %.2f, %.2f", sharpRemote, blurredRemote, sharpSelf, blurredSelf)
	t.Logf("model loaded and first mask applied: %s", firstMask)
	t.Logf("frames of Ada's video Bob decodes per second: %.1f without blur, %.1f with", fpsOff, fpsOn)

	// Off again: the sharp camera is back on the same sender.
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

func (tb *tab) sharpness(selector string) float64 {
	tb.t.Helper()
	var s float64
	if err := tb.eval(fmt.Sprintf(`%s(%q)`, sharpnessJS, selector), &s); err != nil {
		tb.t.Fatalf("%s: sharpness of %s: %v", tb.name, selector, err)
	}
	return s
}

// startSharpness starts measuring (as sharpness) in the page and returns
// at once; startedSharpness waits for the result.
func (tb *tab) startSharpness(selector string) {
	tb.t.Helper()
	var ok bool
	if err := tb.eval(fmt.Sprintf(`(window.kaigiTestSharpness = %s(%q), true)`, sharpnessJS, selector), &ok); err != nil {
		tb.t.Fatalf("%s: sharpness of %s: %v", tb.name, selector, err)
	}
}

func (tb *tab) startedSharpness() float64 {
	tb.t.Helper()
	var s float64
	if err := tb.eval(`window.kaigiTestSharpness`, &s); err != nil {
		tb.t.Fatalf("%s: sharpness: %v", tb.name, err)
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
