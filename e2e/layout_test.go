package e2e

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// layer is what a tab receives of a participant's camera, or sends of its
// own: the last frame's size and the frames so far.
type layer struct {
	Width  int     `json:"w"`
	Height int     `json:"h"`
	Frames float64 `json:"frames"`
}

// received reads the size of the last frame this tab decoded of a
// participant's camera (the simulcast layer it gets).
func (tb *tab) received(participant string) layer {
	tb.t.Helper()
	return tb.layerOf(fmt.Sprintf(`window.kaigiDebug.stats().then(s => { const x = s.find(x => x.participant === %q && x.source === "camera"); return JSON.stringify(x ? { w: x.frameWidth, h: x.frameHeight, frames: x.framesDecoded } : { w: 0, h: 0, frames: 0 }); })`, participant))
}

// sent reads the largest frame this tab's camera encoder sends now: the
// top simulcast layer a subscriber can get.
func (tb *tab) sent() layer {
	tb.t.Helper()
	return tb.layerOf(`window.kaigiDebug.outbound().then(s => { const x = s.find(x => x.source === "camera"); return JSON.stringify(x ? { w: x.frameWidth, h: x.frameHeight, frames: 0 } : { w: 0, h: 0, frames: 0 }); })`)
}

func (tb *tab) layerOf(expr string) layer {
	tb.t.Helper()
	var s string
	if err := tb.eval(expr, &s); err != nil {
		tb.t.Fatalf("%s: stats: %v", tb.name, err)
	}
	var l layer
	if err := json.Unmarshal([]byte(s), &l); err != nil {
		tb.t.Fatalf("%s: stats %s: %v", tb.name, s, err)
	}
	return l
}

// TestSharpVideoTwoPeople: in a two-person end-to-end encrypted call, each
// side's camera tile (624×569 CSS pixels, cropping a 16:9 picture, so it
// draws it at about 1012×569) receives the other's top simulcast layer, and
// the layer holds: it changes at most twice in 30 s, sampled every second.
// (Before, the tile reported its box and got 640×360 or 320×180, which
// flipped 11 times in 25 s.)
func TestSharpVideoTwoPeople(t *testing.T) {
	srv, host, link := e2eeMeeting(t)

	ada, bob := newTab(t, "Ada"), newTab(t, "Bob")
	ada.signedInAs(srv, host)
	ada.joinMeeting(link)
	bob.joinMeeting(link)
	adaID, bobID := ada.selfID(), bob.selfID()
	ada.decodes(bobID, "camera")
	bob.decodes(adaID, "camera")
	sameCodes(t, ada, bob)

	var size struct{ W, H, DPR float64 }
	if err := ada.eval(fmt.Sprintf(`(() => { const v = document.querySelector(%q + " video"); return { W: v.clientWidth, H: v.clientHeight, DPR: devicePixelRatio }; })()`, tileOf(bobID)), &size); err != nil {
		t.Fatal(err)
	}
	t.Logf("Ada's tile for Bob: %.0f×%.0f CSS pixels at ratio %.1f, object-fit cover", size.W, size.H, size.DPR)

	// Each side reaches the other's top layer (what its encoder sends now:
	// Chromium's fake camera is 1280×720 unless the encoder scales down).
	type pair struct {
		viewer *tab
		sender *tab
		id     string
	}
	pairs := []pair{{ada, bob, bobID}, {bob, ada, adaID}}
	for _, p := range pairs {
		top := p.sender.sent()
		t.Logf("%s's encoder sends at most %d×%d", p.sender.name, top.Width, top.Height)
		if top.Width == 0 {
			t.Fatalf("%s sends no camera frames", p.sender.name)
		}
		p.viewer.waitJS(fmt.Sprintf("%s's top layer (%d wide)", p.sender.name, top.Width), fmt.Sprintf(`window.kaigiDebug.stats().then(s => s.some(x => x.participant === %q && x.source === "camera" && x.frameWidth >= %d))`, p.id, top.Width))
	}

	// Sample every second for 30 s: the layer must hold.
	const samples = 30
	widths := map[string][]int{}
	start := map[string]layer{}
	for _, p := range pairs {
		start[p.viewer.name] = p.viewer.received(p.id)
	}
	began := time.Now()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for i := 0; i < samples; i++ {
		<-tick.C
		for _, p := range pairs {
			widths[p.viewer.name] = append(widths[p.viewer.name], p.viewer.received(p.id).Width)
		}
	}
	elapsed := time.Since(began).Seconds()
	for _, p := range pairs {
		w := widths[p.viewer.name]
		changes := 0
		for i := 1; i < len(w); i++ {
			if w[i] != w[i-1] {
				changes++
			}
		}
		end := p.viewer.received(p.id)
		top := p.sender.sent()
		fps := (end.Frames - start[p.viewer.name].Frames) / elapsed
		t.Logf("%s receives %s's camera at %d×%d, %.1f frames/s; %s sends at most %d×%d; widths over 30 s: %v; %d layer changes",
			p.viewer.name, p.sender.name, end.Width, end.Height, fps, p.sender.name, top.Width, top.Height, w, changes)
		if changes > 2 {
			t.Errorf("%s: the layer of %s's camera changed %d times in 30 s, want at most 2: %v", p.viewer.name, p.sender.name, changes, w)
		}
		// The encoder's top layer moves with its CPU; the subscriber follows it up.
		p.viewer.waitJS(fmt.Sprintf("%s's top layer (%d wide) at the end", p.sender.name, top.Width), fmt.Sprintf(`window.kaigiDebug.stats().then(s => s.some(x => x.participant === %q && x.source === "camera" && x.frameWidth >= %d))`, p.id, top.Width))
	}
	ada.screenshot("sharp")
}

// TestSpeakerView: in a three-person end-to-end encrypted meeting, Ada's
// speaker view shows whoever's microphone is on (Chromium's fake microphone
// sends a tone; the others are muted), read from the audio level header
// extension of encrypted audio, and follows when another one speaks.
func TestSpeakerView(t *testing.T) {
	srv, host, link := e2eeMeeting(t)

	ada, bob, cy := newTab(t, "Ada"), newTab(t, "Bob"), newTab(t, "Cy")
	ada.signedInAs(srv, host)
	for _, tb := range []*tab{ada, bob, cy} {
		tb.joinMeeting(link)
	}
	ids := map[*tab]string{ada: ada.selfID(), bob: bob.selfID(), cy: cy.selfID()}
	for _, pr := range [][2]*tab{{ada, bob}, {ada, cy}} {
		pr[0].decodes(ids[pr[1]], "camera")
		pr[0].decodes(ids[pr[1]], "microphone")
	}
	sameCodes(t, ada, bob, cy)

	mute := func(tb *tab, on bool) {
		t.Helper()
		want := "false"
		if on {
			want = "true"
		}
		if tb.attr("#toggle-mic", "aria-pressed") != want {
			tb.click("#toggle-mic")
		}
		tb.waitJS("the microphone "+want, fmt.Sprintf(`document.querySelector("#toggle-mic").getAttribute("aria-pressed") === %q`, want))
	}
	for _, tb := range []*tab{ada, bob, cy} {
		mute(tb, false)
	}
	ada.clickInMore("#toggle-layout")
	ada.waitFor("speaker view", `.tiles[data-layout="speaker"] #speaker-main .tile`)
	ada.waitJS("nobody speaking", `document.querySelector(".tile.speaking") === null`)

	// Whoever the view shows now (the first one, or whoever the fake tone
	// made the speaker before the microphones went off), the other one
	// speaks and takes it over.
	large := ada.attr("#speaker-main .tile", "data-participant")
	first, second := bob, cy
	if large == ids[bob] {
		first, second = cy, bob
	}
	t.Logf("speaker view shows %s before anyone speaks", map[string]string{ids[bob]: "Bob", ids[cy]: "Cy"}[large])
	for _, speaker := range []*tab{first, second} {
		mute(speaker, true)
		id := ids[speaker]
		ada.waitFor(speaker.name+"'s tile ringed", tileOf(id)+".speaking")
		ada.waitFor(speaker.name+" in the large tile", `#speaker-main `+tileOf(id)+`[data-large="speaker"]`)
		if n := ada.count("#speaker-main .tile"); n != 1 {
			t.Fatalf("%d large tiles", n)
		}
		ada.screenshot("speaker-" + speaker.name)
		mute(speaker, false)
		ada.waitGone(speaker.name+"'s ring gone", tileOf(id)+".speaking")
	}

	// A pin overrides the speaker; the gallery comes back when both go.
	ada.run("double-click Bob's tile", chromedp.DoubleClick(tileOf(ids[bob])+" .tile-label", chromedp.ByQuery))
	ada.waitFor("Bob pinned and large", `#speaker-main `+tileOf(ids[bob])+`[data-large="pin"]`)
	ada.run("double-click Bob's tile", chromedp.DoubleClick(tileOf(ids[bob])+" .tile-label", chromedp.ByQuery))
	ada.clickInMore("#toggle-layout")
	ada.waitFor("the gallery", `.tiles[data-layout="gallery"]`)
	if n := ada.count("#gallery .tile"); n != 3 {
		t.Fatalf("%d tiles in the gallery, want 3", n)
	}

	spotlightPinAndFullScreen(t, ada, bob, cy, ids)
}

// spotlightPinAndFullScreen goes on from TestSpeakerView's meeting, all
// three in the gallery: Ada, the host, pins Bob for herself; Bob, no host,
// is offered a pin but no spotlight; Ada puts Cy in the spotlight and
// every screen shows Cy large (Ada's over her pin), while Bob and Cy never
// show Ada's pin; Ada removes the spotlight and Bob and Cy are back in the
// gallery, Ada on her pin. Then full screen: Ada's item enters it for the
// whole meeting, controls bar included, and the same item leaves it.
func spotlightPinAndFullScreen(t *testing.T, ada, bob, cy *tab, ids map[*tab]string) {
	t.Helper()
	began := time.Now()
	defer func() { t.Logf("spotlight, pin and full screen took %.1f s", time.Since(began).Seconds()) }()
	everyone := []*tab{ada, bob, cy}
	large := func(tb *tab, id, reason string) string {
		return fmt.Sprintf(`.tiles[data-layout="speaker"] #speaker-main %s[data-large=%q]`, tileOf(id), reason)
	}
	// openTileMenu opens the menu of a tile on tb's screen and waits for its items.
	openTileMenu := func(tb *tab, id string) string {
		t.Helper()
		menu := tileOf(id) + " .tile-menu"
		tb.click(menu + " .tile-menu-button")
		tb.waitVisible("the menu of a tile", menu+` [role="menu"] [data-action]`)
		return menu
	}

	// Pin for oneself, from the tile's menu.
	menu := openTileMenu(ada, ids[bob])
	ada.click(menu + ` [data-action="pin"]`)
	ada.waitFor("Bob pinned and large on Ada's screen", large(ada, ids[bob], "pin"))

	// Bob is no host: a pin, no spotlight.
	menu = openTileMenu(bob, ids[cy])
	if n := bob.count(menu + ` [data-action="spotlight"]`); n != 0 {
		t.Fatalf("Bob, no host, is offered the spotlight (%d items)", n)
	}
	if n := bob.count(menu + ` [data-action="pin"]`); n != 1 {
		t.Fatalf("Bob's menu of Cy's tile has %d pin items, want 1", n)
	}
	bob.click(menu + " .tile-menu-button") // closes it
	bob.waitGone("Bob's tile menu closed", menu+` [role="menu"]:not([hidden])`)

	// The host's spotlight: Cy large on every screen, over Ada's own pin.
	menu = openTileMenu(ada, ids[cy])
	ada.click(menu + ` [data-action="spotlight"]`)
	for _, tb := range everyone {
		tb.waitFor("Cy in the spotlight on "+tb.name+"'s screen", large(tb, ids[cy], "spotlight"))
		if n := tb.count("#speaker-main .tile"); n != 1 {
			t.Fatalf("%s: %d large tiles under the spotlight", tb.name, n)
		}
		if n := tb.count(`.tile[data-large="pin"]`); n != 0 {
			t.Fatalf("%s: a pinned large tile under the spotlight", tb.name)
		}
	}
	ada.screenshot("spotlight-host")
	bob.screenshot("spotlight")

	// The host removes it: Bob and Cy are back in the gallery (Ada's pin,
	// made before the spotlight, never reached them), Ada on Bob.
	menu = openTileMenu(ada, ids[cy])
	ada.click(menu + ` [data-action="unspotlight"]`)
	for _, tb := range []*tab{bob, cy} {
		tb.waitFor(tb.name+" back in the gallery", `.tiles[data-layout="gallery"]`)
		if n := tb.count(`.tile[data-large]`); n != 0 {
			t.Fatalf("%s: %d large tiles after the spotlight went", tb.name, n)
		}
		if n := tb.count("#gallery .tile"); n != 3 {
			t.Fatalf("%s: %d tiles in the gallery, want 3", tb.name, n)
		}
	}
	ada.waitFor("Ada back on her pin", large(ada, ids[bob], "pin"))
	menu = openTileMenu(ada, ids[bob])
	ada.click(menu + ` [data-action="unpin"]`)
	ada.waitFor("Ada back in the gallery", `.tiles[data-layout="gallery"]`)

	// Full screen: the whole meeting, so the controls stay and the same item leaves it.
	ada.clickInMore("#toggle-fullscreen")
	ada.waitJS("full screen", `document.fullscreenElement === document.querySelector("#meeting")`)
	ada.waitVisible("the controls bar in full screen", "#toggle-mic")
	ada.screenshot("fullscreen")
	ada.click("#more-controls")
	ada.waitFor("the item checked", `#toggle-fullscreen[aria-checked="true"]`)
	ada.click("#toggle-fullscreen")
	ada.waitJS("full screen left", `document.fullscreenElement === null`)
	ada.click("#more-controls")
	ada.waitFor("the item unchecked", `#toggle-fullscreen[aria-checked="false"]`)
	ada.click("#more-controls")
}
