package e2e

import (
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/servertest"
)

// TestE2EEChromiumAndFirefox: a Chromium host and a Firefox ESR guest in one
// end-to-end encrypted meeting. The guest waits in the waiting room until
// the host admits her; then each decodes the other's camera and microphone
// — frames encrypted by one browser's media-encryption worker and
// decrypted by the other's, none of them refused as malformed or
// unauthentic — both show the same security code, and each reads the
// other's chat message.
func TestE2EEChromiumAndFirefox(t *testing.T) {
	srv := startServer(t, servertest.Options{})
	host := srv.Admin(t)
	set := servertest.OpenSettings()
	set.E2EE = true
	set.WaitingRoom = true
	link := srv.URL + "/m/" + host.NewMeeting(t, set).ID

	fox := newFirefoxTab(t, "Fox") // without Firefox, the test skips here
	ada := newTab(t, "Ada")
	ada.signedInAs(srv, host)
	ada.joinMeeting(link)
	fox.joinTo(link, "")
	fox.waitVisible("the waiting room", `#waiting[data-reason="waiting_room"]`)
	ada.click("#toggle-participants")
	ada.waitVisible("Fox in the waiting room", `#waiting-room li[data-waiting]`)
	ada.click(`#waiting-room li[data-waiting] button[data-action="admit"]`)
	fox.waitJS("to be let in", `window.kaigiDebug.state() === "in-meeting"`)
	foxID := fox.selfID()

	for _, pair := range [][2]*tab{{ada, fox}, {fox, ada}} {
		rx, txID := pair[0], pair[1].selfID()
		rx.decodes(txID, "camera")
		rx.decodes(txID, "microphone")
		rx.decrypts("video")
		rx.decrypts("audio")
		rx.decodesMore(txID, "camera", rx.framesDecoded(txID, "camera"))
		rx.waitFor("the encrypted indicator", `#e2ee-indicator[data-state="on"]`)
	}
	// Firefox's camera reaches the server as simulcast too, its key frames
	// recognised in encrypted frames as Chromium's are.
	awaitLog(t, srv, regexp.MustCompile(`msg="simulcast layer" .*participant=`+foxID+` source=camera rid=`))

	code := sameCodes(t, ada, fox)
	if code == "" {
		t.Fatal("the security code is empty")
	}
	t.Logf("security code in both browsers: %s", code)

	for _, pair := range [][2]*tab{{ada, fox}, {fox, ada}} {
		tx, rx := pair[0], pair[1]
		text := fmt.Sprintf("hello from %s's browser", tx.name)
		tx.click("#toggle-chat")
		tx.typeInto("#chat-input", text)
		tx.click("#chat-send")
		rx.waitJS(tx.name+"'s chat message", fmt.Sprintf(`window.kaigiDebug.chat().some(m => m.from === %q && m.text === %q)`, tx.selfID(), text))
	}
	fox.waitText("Ada's message in Firefox's chat panel", "#chat-messages", "hello from Ada's browser")

	interactionsAcrossBrowsers(t, ada, fox)

	for _, tb := range []*tab{ada, fox} {
		for _, s := range tb.e2eeStats() {
			t.Logf("%s: media encryption, %s %s %s: %d frames, dropped %v", tb.name, s.Side, s.Kind, s.ID, s.Frames, s.Dropped)
			if s.Side != "receive" {
				continue
			}
			// Frames without a key yet, or empty ones, are dropped by
			// design around a join; these would mean the browsers disagree.
			for _, bad := range []string{"malformed", "unauthentic", "error"} {
				if n := s.Dropped[bad]; n > 0 {
					t.Errorf("%s dropped %d received %s frames as %s", tb.name, n, s.Kind, bad)
				}
			}
		}
		tb.screenshot("meeting")
	}
}

// interactionsAcrossBrowsers goes on from TestE2EEChromiumAndFirefox's
// meeting: Fox, in Firefox, and Ada, the host in Chromium, each send a
// reaction and raise a hand, and each sees the other's over the other's
// tile (and Fox the queue, in order, in her participants panel); Ada asks
// a poll, Fox answers it, Ada's tally counts it, and Fox gets the results
// Ada shares.
func interactionsAcrossBrowsers(t *testing.T, ada, fox *tab) {
	t.Helper()
	began := time.Now()
	defer func() {
		t.Logf("reactions, hands and a poll across the browsers took %.1f s", time.Since(began).Seconds())
	}()
	adaID, foxID := ada.selfID(), fox.selfID()
	for _, tb := range []*tab{ada, fox} {
		tb.waitJS("both members announced", `window.kaigiDebug.e2eeMembers() === 2`)
		tb.watchReactions()
	}
	seen := func(id, emoji string) string {
		return fmt.Sprintf(`window.seenReactions.some(r => r.participant === %q && r.emoji === %q)`, id, emoji)
	}
	fox.click("#toggle-reactions")
	fox.click(`#reaction-picker button[data-emoji="🎉"]`)
	ada.waitJS("Fox's 🎉 over her tile in Chromium", seen(foxID, "🎉"))
	fox.waitJS("Fox's 🎉 over her own tile in Firefox", seen(foxID, "🎉"))
	ada.click("#toggle-reactions")
	ada.click(`#reaction-picker button[data-emoji="👏"]`)
	fox.waitJS("Ada's 👏 over her tile in Firefox", seen(adaID, "👏"))

	fox.click("#toggle-hand")
	fox.waitFor("Fox's hand button pressed", `#toggle-hand[aria-pressed="true"]`)
	ada.waitVisible("the host's chip for Fox's hand", "#hands-chip")
	ada.waitFor("the hand on Fox's tile in Chromium", tileOf(foxID)+` .tile-hand[aria-label*="1st"]`)
	ada.click("#toggle-hand")
	fox.waitFor("the hand on Ada's tile in Firefox", tileOf(adaID)+` .tile-hand[aria-label*="2nd"]`)
	fox.click("#toggle-participants")
	fox.waitVisible("Fox's queue of raised hands", fmt.Sprintf(`#hand-queue li:nth-child(2)[data-participant=%q]`, adaID))
	if first := fox.attr("#hand-queue li:nth-child(1)", "data-participant"); first != foxID {
		t.Fatalf("Firefox's queue starts with %q, want Fox (%s)", first, foxID)
	}
	fox.waitFor("the hand on Ada's row in Firefox", rowOf(adaID)+` .people-hand`)
	fox.screenshot("hands")
	// Fox lowers her own hand from the queue; Ada sees it go.
	fox.click(fmt.Sprintf(`#hand-queue li[data-participant=%q] button[data-action="lower-hand"]`, foxID))
	ada.waitGone("the hand on Fox's tile in Chromium", tileOf(foxID)+` .tile-hand`)

	question := "Which browser do you use"
	ada.clickInMore("#toggle-polls")
	ada.click("#new-poll")
	ada.waitVisible("the poll dialog", "#poll-dialog")
	ada.typeInto("#poll-question", question)
	ada.typeInto("#poll-option-0", "Chromium")
	ada.typeInto("#poll-option-1", "Firefox")
	ada.click("#poll-create")
	poll := fmt.Sprintf(`#polls article.poll[data-creator=%q]`, adaID)
	fox.waitVisible("Ada's poll in Firefox", poll)
	fox.waitText("the question in Firefox", poll+" .poll-question", question)
	fox.click(poll + ` input.poll-choice[value="1"]`)
	fox.click(poll + ` .poll-submit`)
	ada.waitFor("Fox's answer counted", poll+` .poll-tally .poll-count[data-option="1"][data-count="1"]`)
	ada.waitText("Fox's name on it", poll+` .poll-count[data-option="1"] .poll-voters`, "Fox")
	ada.click(poll + ` .poll-close`)
	fox.waitFor("the poll closed in Firefox", poll+`[data-open="false"]`)
	ada.click(poll + ` .poll-share`)
	for i, n := range []int{0, 1} {
		fox.waitFor(fmt.Sprintf("shared result %d: %d in Firefox", i, n), fmt.Sprintf(`%s .poll-results .poll-result[data-option="%d"][data-count="%d"]`, poll, i, n))
	}
	fox.screenshot("poll")
}

// decrypts waits until the tab's media-encryption worker has decrypted and
// passed on received frames of a kind ("audio" or "video").
func (tb *tab) decrypts(kind string) {
	tb.t.Helper()
	tb.waitJS(kind+" frames decrypted", fmt.Sprintf(`window.kaigiDebug.e2eeStats().then(s => s.some(x => x.side === "receive" && x.kind === %q && x.frames > 0))`, kind))
}

// streamStats is one stream's counters in the media-encryption worker
// (web/src/e2ee/transform.ts, StreamStats).
type streamStats struct {
	ID      string         `json:"id"`
	Side    string         `json:"side"`
	Kind    string         `json:"kind"`
	Frames  int            `json:"frames"`
	Dropped map[string]int `json:"dropped"`
}

func (tb *tab) e2eeStats() []streamStats {
	tb.t.Helper()
	var out []streamStats
	if err := tb.eval(`window.kaigiDebug.e2eeStats()`, &out); err != nil {
		tb.t.Fatalf("%s: media encryption counters: %v", tb.name, err)
	}
	return out
}
