package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/servertest"
	"github.com/kaigi-meet/kaigi/internal/signal"
)

// The server as the adversary of end-to-end encryption, through the real
// signalling path and real browsers (docs/security.md, "Attacks").

// openE2EEMeeting starts a server, has its administrator make an open
// end-to-end encrypted meeting, and brings Ada (the host, signed in) and
// Bob (a guest) into it.
func openE2EEMeeting(t *testing.T, opts servertest.Options) (srv *servertest.Server, m servertest.Meeting, link string, ada, bob *tab) {
	t.Helper()
	srv = startServer(t, opts)
	host := srv.Admin(t)
	set := servertest.OpenSettings()
	set.E2EE = true
	m = host.NewMeeting(t, set)
	link = srv.URL + "/m/" + m.ID
	ada, bob = newTab(t, "Ada"), newTab(t, "Bob")
	ada.signedInAs(srv, host)
	ada.joinMeeting(link)
	bob.joinMeeting(link)
	return srv, m, link, ada, bob
}

// hostileProposal has node craft what a hostile delivery service can make
// from the envelopes it sees (group id, epoch): an MLS Add proposal of a
// key of its own (web/test/tools/hostile-proposal.mjs), base64.
func hostileProposal(t *testing.T, meetingID string, epoch uint64) string {
	t.Helper()
	out, err := exec.Command("node", "../web/test/tools/hostile-proposal.mjs", meetingID, fmt.Sprint(epoch)).Output()
	if err != nil {
		t.Fatalf("crafting the proposal: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// TestE2EEServerInjectsAMember: the server slips an Add proposal of its
// own key to every member, passed on as an ordinary message. Each browser
// refuses it and says so on screen; the next join (committed by a member)
// adds the joiner and nobody else, and everyone's security code covers
// exactly the three people in the meeting. Before the fix, the proposal
// was stored and folded into the next commit: the server's key joined the
// group with every screen showing the same code.
func TestE2EEServerInjectsAMember(t *testing.T) {
	srv, m, link, ada, bob := openE2EEMeeting(t, servertest.Options{})
	adaID, bobID := ada.selfID(), bob.selfID()
	bob.decodes(adaID, "camera")
	sameCodes(t, ada, bob)

	epoch, ok := srv.Signal().E2EEEpoch(meeting.ID(m.ID))
	if !ok {
		t.Fatal("no live meeting")
	}
	proposal := hostileProposal(t, m.ID, epoch)
	for _, to := range []struct {
		tb   *tab
		id   string
		from string
	}{{ada, adaID, bobID}, {bob, bobID, adaID}} {
		msg := map[string]any{"type": "e2ee_message", "from": to.from, "epoch": epoch, "kind": "chat", "data": proposal, "private": false}
		if !srv.Signal().SendAsServer(meeting.ID(m.ID), meeting.ParticipantID(to.id), msg) {
			t.Fatalf("%s is not connected", to.tb.name)
		}
	}
	for _, tb := range []*tab{ada, bob} {
		tb.waitVisible("the warning", "#e2ee-alert")
		tb.waitText("what was refused", "#e2ee-alert", "proposal outside a commit")
	}
	ada.screenshot("injected-proposal-refused")

	cy := newTab(t, "Cy")
	cy.joinMeeting(link)
	for _, pair := range [][2]*tab{{cy, ada}, {ada, cy}, {bob, cy}} {
		pair[0].decodes(pair[1].selfID(), "camera")
	}
	sameCodes(t, ada, bob, cy)
	for _, tb := range []*tab{ada, bob, cy} {
		var n int
		if err := tb.eval(`window.kaigiDebug.e2eeMembers()`, &n); err != nil {
			t.Fatal(err)
		}
		if n != 3 {
			t.Fatalf("%s's group has %d keys, want the 3 people in the meeting", tb.name, n)
		}
	}
	// Cy came after the attack: nothing is wrong on her screen.
	cy.waitJS("no warning for Cy", `!document.querySelector("#e2ee-alert").checkVisibility()`)
}

// streamSwapper plays a server that relabels streams: in the offers it
// sends one participant (the victim), two others' camera tracks trade
// places, so each face appears under the other's name.
type streamSwapper struct {
	mu             sync.Mutex
	victim, p1, p2 string
}

func (s *streamSwapper) set(victim, p1, p2 string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.victim, s.p1, s.p2 = victim, p1, p2
}

func (s *streamSwapper) tamper(participant string, msg []byte) []byte {
	s.mu.Lock()
	victim, p1, p2 := s.victim, s.p1, s.p2
	s.mu.Unlock()
	if participant != victim || victim == "" || !bytes.Contains(msg, []byte(`"type":"offer"`)) {
		return msg
	}
	var offer map[string]any
	if err := json.Unmarshal(msg, &offer); err != nil {
		return msg
	}
	tracks, _ := offer["tracks"].([]any)
	for _, t := range tracks {
		tr, _ := t.(map[string]any)
		if tr["source"] != "camera" {
			continue
		}
		switch tr["participant"] {
		case p1:
			tr["participant"] = p2
		case p2:
			tr["participant"] = p1
		}
	}
	out, err := json.Marshal(offer)
	if err != nil {
		return msg
	}
	return out
}

// TestE2EEServerSwapsStreams: the server labels Bob's camera as Cy's and
// Cy's as Bob's in what it tells Ada. The frames decrypt (both are
// members), but under the other one's key: Ada's tiles say so.
func TestE2EEServerSwapsStreams(t *testing.T) {
	swap := &streamSwapper{}
	srv, _, link, ada, bob := openE2EEMeeting(t, servertest.Options{Signal: func(o *signal.Options) { o.Tamper = swap.tamper }})
	swap.set(ada.selfID(), bob.selfID(), "cy-to-come")
	cy := newTab(t, "Cy")
	cy.joinMeeting(link)
	bobID, cyID := bob.selfID(), cy.selfID()
	swap.set(ada.selfID(), bobID, cyID)
	// Ada reconnects, so the next offer she gets carries the swap.
	srv.DropConnections()
	for _, id := range []string{bobID, cyID} {
		ada.waitVisible("the wrong-key warning on "+id+"'s tile", tileOf(id)+" .tile-wrong-key")
	}
	ada.screenshot("swapped-streams")
	// Bob and Cy, told the truth, see no such thing.
	for _, tb := range []*tab{bob, cy} {
		tb.decodes(ada.selfID(), "camera")
		if n := tb.count(".tile.wrong-key"); n != 0 {
			t.Fatalf("%s sees %d tiles with the wrong key", tb.name, n)
		}
	}
}
