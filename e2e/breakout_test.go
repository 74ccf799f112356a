package e2e

import (
	"fmt"
	"testing"
)

// inRoom waits until the tab is in the meeting, in breakout room n (0:
// the main room).
func (tb *tab) inRoom(n int) {
	tb.t.Helper()
	tb.waitJS(fmt.Sprintf("to be in room %d", n), fmt.Sprintf(`document.body.dataset.room === "%d" && window.kaigiDebug.state() === "in-meeting"`, n))
}

// choose sets a select and tells the page.
func (tb *tab) choose(selector, value string) {
	tb.t.Helper()
	var ok bool
	if err := tb.eval(fmt.Sprintf(`(() => { const s = document.querySelector(%q); if (!s) return false; s.value = %q; s.dispatchEvent(new Event("change")); return s.value === %q; })()`, selector, value, value), &ok); err != nil || !ok {
		t := tb.t
		t.Fatalf("%s: choose %s in %s: %v", tb.name, value, selector, err)
	}
}

// TestBreakoutRoomsInBrowsers: in an end-to-end encrypted meeting the host
// sends Bob and Cy to two breakout rooms and broadcasts a message that both
// rooms show (sealed with the channel the host gave the main room's group
// before opening them), then moves Cy to Bob's room: they
// see each other there, with a security code of that room's own (not the
// main room's), and the host no longer receives them; at the close
// everyone is back in the main room, decoding each other, one code again.
func TestBreakoutRoomsInBrowsers(t *testing.T) {
	srv, host, link := e2eeMeeting(t)

	ada, bob, cy := newTab(t, "Ada"), newTab(t, "Bob"), newTab(t, "Cy")
	ada.signedInAs(srv, host)
	ada.joinMeeting(link)
	bob.joinMeeting(link)
	cy.joinMeeting(link)
	adaID, bobID, cyID := ada.selfID(), bob.selfID(), cy.selfID()
	ada.decodes(bobID, "camera")
	ada.decodes(cyID, "camera")
	mainCode := sameCodes(t, ada, bob, cy)

	// Two rooms, by hand: Bob to the first, Cy to the second, at once.
	ada.clickInMore("#open-breakouts")
	ada.waitVisible("the planner", "#breakout-planner")
	ada.choose("#breakout-count", "2")
	ada.click("#breakout-by-hand")
	ada.choose(fmt.Sprintf(`#breakout-assign select[data-participant=%q]`, bobID), "1")
	ada.choose(fmt.Sprintf(`#breakout-assign select[data-participant=%q]`, cyID), "2")
	ada.choose("#breakout-countdown", "0")
	ada.click("#breakout-open")
	bob.inRoom(1)
	cy.inRoom(2)
	if bob.selfID() != bobID || cy.selfID() != cyID {
		t.Fatalf("moved as %s and %s, want the same participants", bob.selfID(), cy.selfID())
	}

	// The host broadcasts to all rooms: each room shows it, from Ada.
	ada.clickInMore("#open-breakouts")
	ada.waitVisible("who is where", "#breakout-status")
	const message = "Five minutes left, then back to the main room"
	ada.typeInto("#breakout-broadcast-text", message)
	ada.click("#breakout-broadcast-send")
	ada.waitText("the broadcast sent", "#breakout-broadcast-status", "Sent to everyone")
	for _, tb := range []*tab{bob, cy} {
		tb.waitText("the host's broadcast", "#broadcast-notice .broadcast-text", message)
		tb.waitText("from the host", "#broadcast-notice strong", "Message from Ada")
	}
	cy.waitJS("the broadcast in the chat", fmt.Sprintf(`window.kaigiDebug.chat().some((m) => m.from === %q && m.text === %q)`, adaID, message))
	bob.click("#broadcast-dismiss")
	bob.waitJS("the notice dismissed", `document.querySelector("#broadcast-notice").hidden`)

	// The host moves Cy to Bob's room.
	ada.waitJS("both rooms listed", `document.querySelectorAll("#breakout-status .breakout-room").length === 3`)
	ada.choose(fmt.Sprintf(`#breakout-status select[data-participant=%q]`, cyID), "1")
	// The open dialog follows the move: Cy's row goes to the first room.
	ada.waitFor("Cy listed in the first room", fmt.Sprintf(`#breakout-status .breakout-room[data-room="1"] select[data-participant=%q]`, cyID))
	ada.waitText("two in the first room", `#breakout-status .breakout-room[data-room="1"] h3`, "(2)")
	ada.click(`#breakout-status button[value="cancel"]`)
	cy.inRoom(1)
	bob.waitText("the room's name in the bar", "#breakout-indicator", "Breakout: Room 1")
	bob.decodes(cyID, "camera")
	cy.decodes(bobID, "camera")
	roomCode := sameCodes(t, bob, cy)
	if roomCode == mainCode || roomCode == ada.securityCode() {
		t.Fatalf("the breakout room's code %s is the main room's", roomCode)
	}
	bob.screenshot("breakout")

	// The close brings everyone back.
	ada.clickInMore("#open-breakouts")
	ada.waitVisible("who is where", "#breakout-status")
	ada.choose("#breakout-close-countdown", "0")
	ada.click("#breakout-close")
	bob.inRoom(0)
	cy.inRoom(0)
	bob.waitJS("no room's name in the main room", `document.querySelector("#breakout-indicator").hidden`)
	ada.decodes(bobID, "camera")
	ada.decodes(cyID, "camera")
	bob.decodes(adaID, "camera")
	sameCodes(t, ada, bob, cy)
}
