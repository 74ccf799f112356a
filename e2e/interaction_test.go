package e2e

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/kaigi-meet/kaigi/internal/servertest"
	"github.com/kaigi-meet/kaigi/internal/signal"
)

// kindLog keeps what the server relayed of E2EE application messages,
// with each one's kind (the only thing of it the server reads).
type kindLog struct {
	mu    sync.Mutex
	kinds map[string]int
	data  [][]byte
}

func (l *kindLog) options() servertest.Options {
	return servertest.Options{Signal: func(o *signal.Options) {
		o.RelayLog = func(_, _, kind string, data []byte) {
			l.mu.Lock()
			defer l.mu.Unlock()
			if l.kinds == nil {
				l.kinds = map[string]int{}
			}
			l.kinds[kind]++
			l.data = append(l.data, append([]byte(nil), data...))
		}
	}}
}

func (l *kindLog) count(kind string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.kinds[kind]
}

func (l *kindLog) contains(b []byte) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, d := range l.data {
		if bytes.Contains(d, b) {
			return true
		}
	}
	return false
}

// watchReactions records, in the tab, every reaction that appears over a
// tile from now on (a reaction shows for a few seconds only).
func (tb *tab) watchReactions() {
	tb.t.Helper()
	if err := tb.eval(`(() => {
		window.seenReactions = [];
		new MutationObserver((ms) => {
			for (const m of ms) for (const n of m.addedNodes) {
				if (n instanceof HTMLElement && n.classList.contains("reaction")) {
					window.seenReactions.push({ participant: n.closest(".tile")?.dataset.participant ?? "", emoji: n.dataset.emoji });
				}
			}
		}).observe(document.querySelector("#gallery"), { subtree: true, childList: true });
		return true;
	})()`, nil); err != nil {
		tb.t.Fatal(err)
	}
}

// TestMeetingInteractions: three browsers in an end-to-end encrypted
// meeting. A reaction shows over the sender's tile for the others; a
// raised hand shows in the others' participants panel, and the host lowers
// it; the host's poll is answered by two (one changes its answer), the
// host's tally is right and survives the host's reload, and the shared
// results reach everyone; the server relayed only ciphertext of each kind.
func TestMeetingInteractions(t *testing.T) {
	relay := &kindLog{}
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
	cy.joinMeeting(link)
	bobID, cyID := bob.selfID(), cy.selfID()
	adaID := ada.selfID()
	sameCodes(t, ada, bob, cy)
	for _, tb := range []*tab{ada, bob, cy} {
		tb.waitJS("every member announced", `window.kaigiDebug.e2eeMembers() === 3`)
		tb.waitFor("Bob's and Cy's tiles", tileOf(bobID)+`, `+tileOf(cyID))
	}

	// A reaction: over Bob's tile on the others' screens, and on his own.
	for _, tb := range []*tab{ada, bob, cy} {
		tb.watchReactions()
	}
	bob.click("#toggle-reactions")
	bob.click(`#reaction-picker button[data-emoji="🎉"]`)
	for _, tb := range []*tab{ada, cy, bob} {
		tb.waitJS("Bob's 🎉 over his tile", fmt.Sprintf(`window.seenReactions.some(r => r.participant === %q && r.emoji === "🎉")`, bobID))
	}
	if relay.count("reaction") != 1 {
		t.Fatalf("the server relayed %d reactions, want 1", relay.count("reaction"))
	}

	// A raised hand: in the others' participants panel and on Cy's tile; the host lowers it.
	cy.click("#toggle-hand")
	cy.waitFor("Cy's hand button pressed", `#toggle-hand[aria-pressed="true"]`)
	bob.click("#toggle-participants")
	bob.waitVisible("Cy in the queue of raised hands", fmt.Sprintf(`#hand-queue li[data-participant=%q]`, cyID))
	bob.waitFor("the hand on Cy's row", rowOf(cyID)+`[data-hand="1"]`)
	bob.waitFor("the hand on Cy's tile", tileOf(cyID)+` .tile-hand`)
	// The marks are the controls' SVG hand with a label, not an emoji a system may lack.
	bob.waitFor("a labelled hand icon on Cy's tile", tileOf(cyID)+` .tile-hand[role="img"][aria-label="Hand raised, 1st in the queue"] svg.icon`)
	bob.waitFor("a labelled hand icon on Cy's row", rowOf(cyID)+` .people-hand[aria-label="Hand raised, 1st in the queue"] svg.icon`)
	if n := bob.count(`#hand-queue button[data-action="lower-hand"]`); n != 0 {
		t.Fatalf("Bob, no host, is offered %d buttons to lower others' hands", n)
	}
	ada.waitVisible("the hosts' raised-hand chip", "#hands-chip")
	ada.waitFor("the hand icon in the chip", "#hands-chip svg.icon")
	ada.waitText("the chip's text", "#hands-chip", "Cy raised a hand")
	var emoji int
	if err := ada.eval(`[...document.querySelectorAll("#hands-chip, .tile-hand, .people-hand")].filter((e) => e.textContent.includes("✋") || getComputedStyle(e, "::after").content.includes("✋")).length`, &emoji); err != nil {
		t.Fatal(err)
	}
	if emoji != 0 {
		t.Fatalf("%d raised-hand marks still draw the ✋ emoji", emoji)
	}
	ada.screenshot("raised-hand")
	ada.click("#hands-chip")
	ada.click(fmt.Sprintf(`#hand-queue li[data-participant=%q] button[data-action="lower-hand"]`, cyID))
	cy.waitFor("Cy's hand lowered by the host", `#toggle-hand[aria-pressed="false"]`)
	bob.waitGone("Cy's hand in Bob's queue", fmt.Sprintf(`#hand-queue li[data-participant=%q]`, cyID))
	bob.waitGone("the hand on Cy's tile", tileOf(cyID)+` .tile-hand`)

	// A poll: Ada asks, Bob and Cy answer (Cy changes its mind), Ada tallies and shares.
	question := "Where shall we hold the offsite retreat"
	options := []string{"Lighthouse island", "Mountain chalet", "Riverside barn"}
	ada.clickInMore("#toggle-polls")
	ada.click("#new-poll")
	ada.waitVisible("the poll dialog", "#poll-dialog")
	ada.typeInto("#poll-question", question)
	ada.typeInto("#poll-option-0", options[0])
	ada.typeInto("#poll-option-1", options[1])
	ada.click("#poll-add-option")
	ada.typeInto("#poll-option-2", options[2])
	ada.click("#poll-create")
	poll := fmt.Sprintf(`#polls article.poll[data-creator=%q]`, adaID)
	for _, tb := range []*tab{bob, cy} {
		tb.waitVisible("Ada's poll", poll)
		tb.waitText("the question", poll+" .poll-question", question)
	}
	bob.click(poll + ` input.poll-choice[value="1"]`)
	bob.click(poll + ` .poll-submit`)
	cy.click(poll + ` input.poll-choice[value="2"]`)
	cy.click(poll + ` .poll-submit`)
	tally := func(option, n int) string {
		return fmt.Sprintf(`%s .poll-tally .poll-count[data-option="%d"][data-count="%d"]`, poll, option, n)
	}
	ada.waitFor("two answers", poll+` .poll-tally [data-answered="2"]`)
	ada.waitFor("one for option 2", tally(2, 1))
	cy.waitFor("Cy's answer sent", poll+`[data-answered="true"]`)
	cy.click(poll + ` input.poll-choice[value="1"]`)
	cy.click(poll + ` .poll-submit`)
	ada.waitFor("Cy's changed answer", tally(1, 2))
	for i, n := range []int{0, 2, 0} {
		ada.waitFor(fmt.Sprintf("option %d: %d", i, n), tally(i, n))
	}
	ada.waitText("who chose option 1", poll+` .poll-count[data-option="1"] .poll-voters`, "Bob")
	ada.waitText("who chose option 1", poll+` .poll-count[data-option="1"] .poll-voters`, "Cy")
	ada.waitFor("still two answers", poll+` .poll-tally [data-answered="2"]`)
	ada.screenshot("poll-tally")

	// The tally lives in Ada's tab only: a reload (which resumes her as the
	// same participant) keeps it, and the poll goes on from there.
	reloaded := time.Now()
	ada.run("reload the host's page", chromedp.Reload())
	ada.waitJS("the host back in the meeting", `window.kaigiDebug.state() === "in-meeting"`)
	if got := ada.selfID(); got != adaID {
		t.Fatalf("the host came back as %s, want %s", got, adaID)
	}
	ada.waitJS("every member again", `window.kaigiDebug.e2eeMembers() === 3`)
	ada.clickInMore("#toggle-polls")
	ada.waitVisible("the poll after the reload", poll)
	for i, n := range []int{0, 2, 0} {
		ada.waitFor(fmt.Sprintf("option %d after the reload: %d", i, n), tally(i, n))
	}
	ada.waitFor("two answers after the reload", poll+` .poll-tally [data-answered="2"]`)
	ada.waitText("who chose option 1, after the reload", poll+` .poll-count[data-option="1"] .poll-voters`, "Cy")
	t.Logf("the host's reload, back to the tally: %.1f s", time.Since(reloaded).Seconds())
	ada.click(poll + ` .poll-close`)
	bob.waitFor("the poll closed", poll+`[data-open="false"]`)
	ada.click(poll + ` .poll-share`)
	for _, tb := range []*tab{bob, cy} {
		for i, n := range []int{0, 2, 0} {
			tb.waitFor(fmt.Sprintf("shared result %d: %d", i, n), fmt.Sprintf(`%s .poll-results .poll-result[data-option="%d"][data-count="%d"]`, poll, i, n))
		}
	}
	cy.screenshot("poll-results")

	// The server relayed each kind, and only ciphertext.
	for kind, want := range map[string]int{"hand": 2, "poll": 1, "poll_answer": 3, "poll_close": 1, "poll_results": 1} {
		if n := relay.count(kind); n < want {
			t.Errorf("the server relayed %d %s messages, want at least %d", n, kind, want)
		}
	}
	for _, plain := range append([]string{question, "offsite", "🎉", "Lighthouse", "chalet", "Riverside"}, options...) {
		if relay.contains([]byte(plain)) {
			t.Fatalf("the server's relay saw %q in the clear", plain)
		}
	}
}
