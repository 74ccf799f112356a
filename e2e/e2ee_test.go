package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kaigi-meet/kaigi/internal/servertest"
	"github.com/kaigi-meet/kaigi/internal/sfu"
	"github.com/kaigi-meet/kaigi/internal/signal"
)

// relayLog keeps what the server relayed of E2EE application messages:
// everything the server can see of chat.
type relayLog struct {
	mu   sync.Mutex
	data [][]byte
}

func (l *relayLog) options() servertest.Options {
	return servertest.Options{Signal: func(o *signal.Options) {
		o.RelayLog = func(_, _, _ string, data []byte) {
			l.mu.Lock()
			l.data = append(l.data, append([]byte(nil), data...))
			l.mu.Unlock()
		}
	}}
}

func (l *relayLog) contains(b []byte) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, d := range l.data {
		if bytes.Contains(d, b) {
			return true
		}
	}
	return false
}

func (l *relayLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.data)
}

// securityCode waits for the tab's security code.
func (tb *tab) securityCode() string {
	tb.t.Helper()
	tb.waitJS("a security code", `window.kaigiDebug.securityCode() !== null`)
	var code string
	if err := tb.eval(`window.kaigiDebug.securityCode()`, &code); err != nil {
		tb.t.Fatal(err)
	}
	return code
}

func (tb *tab) e2eeEpoch() int {
	tb.t.Helper()
	var e int
	if err := tb.eval(`window.kaigiDebug.e2eeEpoch()`, &e); err != nil {
		tb.t.Fatal(err)
	}
	return e
}

// sameCodes waits until every tab shows the same security code, at the
// same epoch, and returns it.
func sameCodes(t *testing.T, tabs ...*tab) string {
	t.Helper()
	tabs[0].securityCode()
	var code string
	for _, tb := range tabs[1:] {
		tb.waitJS("the same epoch as "+tabs[0].name, fmt.Sprintf(`window.kaigiDebug.e2eeEpoch() === %d`, tabs[0].e2eeEpoch()))
	}
	for i, tb := range tabs {
		c := tb.securityCode()
		if i == 0 {
			code = c
		} else if c != code {
			t.Fatalf("%s's security code %q differs from %s's %q", tb.name, c, tabs[0].name, code)
		}
	}
	return code
}

// TestE2EEMeeting: three browsers in an end-to-end encrypted meeting (the
// default) decode each other; every one shows the same security code, which
// changes when someone joins and when someone is removed; chat arrives, and
// the server relays only ciphertext; after a removal the others go on and
// the removed one is left behind an epoch.
func TestE2EEMeeting(t *testing.T) {
	relay := &relayLog{}
	srv := startServer(t, relay.options())
	host := srv.Admin(t)
	set := servertest.OpenSettings()
	set.E2EE = true
	m := host.NewMeeting(t, set)
	link := srv.URL + "/m/" + m.ID

	ada, bob, cy := newTab(t, "Ada"), newTab(t, "Bob"), newTab(t, "Cy")
	ada.signedInAs(srv, host) // Ada hosts
	ada.joinMeeting(link)
	bob.joinMeeting(link)
	adaID, bobID := ada.selfID(), bob.selfID()
	ada.decodes(bobID, "camera")
	ada.decodes(bobID, "microphone")
	bob.decodes(adaID, "camera")
	bob.decodes(adaID, "microphone")
	// The camera is simulcast: a subscriber's first layer starts only at a
	// key frame, which the SFU recognised in encrypted frames from the
	// bytes end-to-end encryption leaves in clear.
	awaitLog(t, srv, regexp.MustCompile(`msg="simulcast layer" .*participant=`+adaID+` source=camera rid=`))
	for _, tb := range []*tab{ada, bob} {
		tb.waitFor("the encrypted indicator", `#e2ee-indicator[data-state="on"]`)
	}
	codeOfTwo := sameCodes(t, ada, bob)
	if len(strings.ReplaceAll(codeOfTwo, " ", "")) != 30 {
		t.Fatalf("security code %q is not 30 digits", codeOfTwo)
	}
	var timings map[string]float64
	if err := bob.eval(`window.kaigiDebug.timings()`, &timings); err == nil {
		t.Logf("join time with E2EE (socket open → first decoded remote frame): %.0f ms", timings["firstRemoteFrame"]-timings["socketOpen"])
	}

	cy.joinMeeting(link)
	cyID := cy.selfID()
	for _, pair := range [][2]*tab{{cy, ada}, {cy, bob}, {ada, cy}, {bob, cy}} {
		pair[0].decodes(pair[1].selfID(), "camera")
	}
	codeOfThree := sameCodes(t, ada, bob, cy)
	if codeOfThree == codeOfTwo {
		t.Fatal("the security code did not change when Cy joined")
	}

	// The security panel shows the code and everyone's key.
	ada.click("#e2ee-indicator")
	ada.waitText("the code in the panel", "#security-code", codeOfThree)
	ada.waitJS("three members with fingerprints", `document.querySelectorAll("#e2ee-members li .fingerprint").length === 3 &&
		[...document.querySelectorAll("#e2ee-members li")].every(li => li.dataset.participant !== "")`)
	ada.screenshot("security-panel")
	ada.click("#e2ee-indicator")

	// Chat, end to end: the server holds only ciphertext.
	secret := "meet at the hidden cafe https://example.org/plan and not \\\\fileserver\\share"
	bob.click("#toggle-chat")
	bob.typeInto("#chat-input", secret)
	bob.click("#chat-send")
	for _, tb := range []*tab{ada, cy} {
		tb.waitJS("Bob's chat message", fmt.Sprintf(`window.kaigiDebug.chat().some(m => m.from === %q && m.text.includes("hidden cafe"))`, bobID))
	}
	cy.click("#toggle-chat")
	cy.waitText("the message in the panel", "#chat-messages", "hidden cafe")
	if n := cy.count(`#chat-messages a[href="https://example.org/plan"]`); n != 1 {
		t.Errorf("%d https links in the chat, want 1", n)
	}
	if n := cy.count(`#chat-messages a`); n != 1 {
		t.Errorf("%d links in the chat, want only the https one (no UNC path)", n)
	}
	cy.screenshot("chat")
	if relay.len() == 0 {
		t.Fatal("nothing went through the relay")
	}
	for _, plain := range []string{"hidden cafe", "fileserver", "example.org"} {
		if relay.contains([]byte(plain)) {
			t.Fatalf("the server's relay saw %q in the clear", plain)
		}
	}

	// An honest meeting raises no alarm: every key holder said who it is,
	// well past the grace period for saying so.
	for _, tb := range []*tab{ada, bob, cy} {
		tb.waitJS("no encryption alert", `!document.querySelector("#e2ee-alert").checkVisibility()`)
	}

	// Ada removes Cy; Ada and Bob go on in a new epoch Cy is not in.
	cyEpoch := cy.e2eeEpoch()
	ada.click("#toggle-participants")
	ada.click(rowOf(cyID) + ` button[data-action="more"]`)
	ada.click(rowOf(cyID) + ` [role="menuitem"][data-action="remove"]`)
	ada.waitVisible("the confirmation", "#confirm-remove")
	ada.click("#confirm-remove-ok")
	cy.waitVisible("the removed screen", `#fatal-error[data-code="removed"]`)
	ada.waitJS("a new epoch", fmt.Sprintf(`window.kaigiDebug.e2eeEpoch() > %d`, cyEpoch))
	codeAfter := sameCodes(t, ada, bob)
	if codeAfter == codeOfThree {
		t.Fatal("the security code did not change when Cy was removed")
	}
	ada.decodesMore(bobID, "camera", ada.framesDecoded(bobID, "camera"))
	bob.decodesMore(adaID, "camera", bob.framesDecoded(adaID, "camera"))

	// What the SFU forwards now is under an epoch Cy never had.
	g := srv.Ghost(t, m.ID)
	frames := ghostFrames(t, ada, g, adaID)
	for _, f := range frames {
		h, ok := parseSFrame(f)
		if !ok {
			t.Fatalf("a forwarded frame has no SFrame header after its clear prefix: % x", f[:min(len(f), 24)])
		}
		if int(h.kid&15) == cyEpoch&15 {
			t.Fatalf("a frame after the removal is under Cy's epoch (%d)", cyEpoch)
		}
	}
}

// TestTamperedServer plays a server that taps and injects media. Without
// end-to-end encryption, what the tap captures decodes to the picture and
// injected video plays; with it, captured frames are SFrame ciphertext that
// does not decode, and the same injected video is dropped by every client.
func TestTamperedServer(t *testing.T) {
	srv := startServer(t, servertest.Options{})
	host := srv.Admin(t)
	decoder := newTab(t, "Decoder")
	decoder.run("open a page of the server", chromedp.Navigate(srv.URL+"/"))

	// A plain meeting: the tap sees the picture.
	plainSet := servertest.OpenSettings()
	plain := host.NewMeeting(t, plainSet)
	ada, bob := newTab(t, "Ada"), newTab(t, "Bob")
	ada.joinMeeting(srv.URL + "/m/" + plain.ID)
	bob.joinMeeting(srv.URL + "/m/" + plain.ID)
	bob.decodes(ada.selfID(), "camera")
	tap := srv.Ghost(t, plain.ID)
	plainFrames := ghostFrames(t, ada, tap, ada.selfID())
	plainKey := keyFrame(t, plainFrames)
	if d := decoder.decodeVP8(plainKey); !d.OK || !d.green() {
		t.Fatalf("control: a key frame tapped from an unencrypted meeting does not decode to the camera's green picture: %+v", d)
	}
	// Injected media plays in the plain meeting.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tap.Replay(ctx, sfu.SourceScreen, tap.Track(ada.selfID(), "camera").Kept())
	bob.decodes(tap.ID, "screen")

	// An end-to-end encrypted meeting, with the same two browsers.
	plainCapture := tap.Track(ada.selfID(), "camera").Kept()
	ada.click("#leave")
	bob.click("#leave")
	encSet := servertest.OpenSettings()
	encSet.E2EE = true
	enc := host.NewMeeting(t, encSet)
	cy, dee := ada, bob
	cy.joinMeeting(srv.URL + "/m/" + enc.ID)
	dee.joinMeeting(srv.URL + "/m/" + enc.ID)
	dee.decodes(cy.selfID(), "camera")
	sameCodes(t, cy, dee)
	ghost := srv.Ghost(t, enc.ID)
	encFrames := ghostFrames(t, cy, ghost, cy.selfID())
	epoch := cy.e2eeEpoch()
	for _, f := range encFrames {
		h, ok := parseSFrame(f)
		if !ok {
			t.Fatalf("a forwarded frame is not SFrame after its clear prefix: % x", f[:min(len(f), 24)])
		}
		if int(h.kid&15) != epoch&15 {
			t.Fatalf("frame KID %d is not of epoch %d", h.kid, epoch)
		}
	}
	encKey := keyFrame(t, encFrames)
	if d := decoder.decodeVP8(encKey); d.OK && d.green() {
		t.Fatalf("a key frame tapped from an end-to-end encrypted meeting decoded to the picture: %+v", d)
	} else {
		t.Logf("tapped E2EE key frame, decoded without keys: %+v", d)
	}

	// The same real, decodable video injected into the encrypted meeting is
	// dropped by the clients' decryption: nothing is rendered.
	ghost.Replay(ctx, sfu.SourceScreen, plainCapture)
	dee.waitJS("the injected track to arrive", fmt.Sprintf(`window.kaigiDebug.stats().then(s => s.some(x => x.participant === %q && x.source === "screen" && x.packetsReceived > 100))`, ghost.ID))
	dee.waitJS("the injected frames to be dropped", `window.kaigiDebug.e2eeStats().then(s => s.some(x => x.side === "receive" && x.kind === "video" && Object.values(x.dropped).reduce((a, b) => a + b, 0) > 10))`)
	if n := dee.framesDecoded(ghost.ID, "screen"); n != 0 {
		t.Fatalf("%v injected frames were decoded in an end-to-end encrypted meeting", n)
	}
}

// count returns how many elements match selector.
func (tb *tab) count(selector string) int {
	tb.t.Helper()
	var n int
	if err := tb.eval(fmt.Sprintf(`document.querySelectorAll(%q).length`, selector), &n); err != nil {
		tb.t.Fatal(err)
	}
	return n
}

// ghostFrames waits until the ghost has kept a few seconds of a
// participant's camera and returns the complete video frames in it,
// reassembled from RTP as a VP8 depacketizer does (RFC 7741).
func ghostFrames(t *testing.T, _ *tab, g *servertest.Ghost, participant string) [][]byte {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if tr := g.Track(participant, "camera"); tr != nil {
			frames := reassemble(tr.Kept())
			if len(frames) >= 10 && slices.ContainsFunc(frames, isKeyFrame) {
				return frames
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the ghost did not receive ten frames of the camera, one a key frame")
		}
		time.Sleep(100 * time.Millisecond) // packets have no event to wait on here
	}
}

func isKeyFrame(f []byte) bool { return len(f) > 10 && f[0]&0x01 == 0 }

// reassemble turns RTP packets into the complete VP8 frames among them.
func reassemble(packets []servertest.Packet) [][]byte {
	var frames [][]byte
	var cur []byte
	started := false
	for _, p := range packets {
		body, start, ok := vp8Payload(p.Payload)
		if !ok {
			continue
		}
		if start {
			cur, started = nil, true
		}
		if !started {
			continue
		}
		cur = append(cur, body...)
		if p.Marker {
			frames = append(frames, cur)
			started = false
		}
	}
	return frames
}

// vp8Payload strips the VP8 payload descriptor (RFC 7741 §4.2) and says
// whether the packet starts a frame (S bit, partition 0).
func vp8Payload(p []byte) (body []byte, start, ok bool) {
	if len(p) < 1 {
		return nil, false, false
	}
	i := 1
	if p[0]&0x80 != 0 { // X: extension byte
		if len(p) < 2 {
			return nil, false, false
		}
		x := p[1]
		i = 2
		if x&0x80 != 0 { // I: picture ID, 1 or 2 bytes
			if len(p) <= i {
				return nil, false, false
			}
			if p[i]&0x80 != 0 {
				i += 2
			} else {
				i++
			}
		}
		if x&0x40 != 0 { // L: TL0PICIDX
			i++
		}
		if x&0x30 != 0 { // T or K
			i++
		}
	}
	if len(p) < i {
		return nil, false, false
	}
	return p[i:], p[0]&0x10 != 0 && p[0]&0x07 == 0, true
}

// keyFrame returns the first key frame (P bit clear).
func keyFrame(t *testing.T, frames [][]byte) []byte {
	t.Helper()
	for _, f := range frames {
		if isKeyFrame(f) {
			return f
		}
	}
	var first []string
	for _, f := range frames[:min(len(frames), 8)] {
		first = append(first, fmt.Sprintf("%d:% x", len(f), f[:min(len(f), 4)]))
	}
	t.Fatalf("no key frame among %d tapped frames (first: %v)", len(frames), first)
	return nil
}

type sframeHeader struct{ kid, ctr uint64 }

// parseSFrame reads the SFrame header (RFC 9605 §4.3) after a VP8 frame's
// clear prefix: 10 bytes for a key frame, 3 otherwise (docs/security.md).
func parseSFrame(f []byte) (sframeHeader, bool) {
	if len(f) < 3 {
		return sframeHeader{}, false
	}
	prefix := 3
	if f[0]&0x01 == 0 {
		prefix = 10
	}
	if len(f) < prefix+1+16 {
		return sframeHeader{}, false
	}
	b := f[prefix]
	i := prefix + 1
	read := func(n int) (uint64, bool) {
		if i+n > len(f) {
			return 0, false
		}
		var v uint64
		for _, x := range f[i : i+n] {
			v = v<<8 | uint64(x)
		}
		i += n
		return v, true
	}
	var h sframeHeader
	var ok bool
	if b&0x80 == 0 {
		h.kid = uint64(b>>4) & 0x07
	} else if h.kid, ok = read(int(b>>4&0x07) + 1); !ok {
		return h, false
	}
	if b&0x08 == 0 {
		h.ctr = uint64(b & 0x07)
	} else if h.ctr, ok = read(int(b&0x07) + 1); !ok {
		return h, false
	}
	return h, len(f)-i >= 16 // the AES-GCM tag at least
}

// decoded is what a plain VP8 decoder (WebCodecs, no keys) made of a frame.
type decoded struct {
	OK            bool
	Error         string
	Width, Height int
	R, G, B       float64
}

// green reports whether the picture is the fake camera's: mostly green.
func (d decoded) green() bool { return d.OK && d.G > d.R+40 && d.G > d.B+40 }

// decodeVP8 decodes one key frame with the browser's plain VP8 decoder, as
// anyone holding the forwarded media but no keys could.
func (tb *tab) decodeVP8(frame []byte) decoded {
	tb.t.Helper()
	js := fmt.Sprintf(`(async () => {
		const data = Uint8Array.from(atob(%q), c => c.charCodeAt(0));
		return await new Promise((resolve) => {
			let done = false;
			const finish = (r) => { if (!done) { done = true; resolve(r); } };
			const dec = new VideoDecoder({
				output: (frame) => {
					const c = new OffscreenCanvas(frame.displayWidth, frame.displayHeight);
					const ctx = c.getContext("2d");
					ctx.drawImage(frame, 0, 0);
					const px = ctx.getImageData(0, 0, c.width, c.height).data;
					let r = 0, g = 0, b = 0;
					for (let i = 0; i < px.length; i += 4) { r += px[i]; g += px[i + 1]; b += px[i + 2]; }
					const n = px.length / 4;
					frame.close();
					finish({ OK: true, Width: c.width, Height: c.height, R: r / n, G: g / n, B: b / n });
				},
				error: (e) => finish({ OK: false, Error: String(e) }),
			});
			try {
				dec.configure({ codec: "vp8" });
				dec.decode(new EncodedVideoChunk({ type: "key", timestamp: 0, data }));
				dec.flush().then(() => finish({ OK: false, Error: "no frame" }), (e) => finish({ OK: false, Error: String(e) }));
			} catch (e) {
				finish({ OK: false, Error: String(e) });
			}
		});
	})()`, base64.StdEncoding.EncodeToString(frame))
	var d decoded
	if err := tb.eval(js, &d); err != nil {
		tb.t.Fatalf("decode: %v", err)
	}
	return d
}
