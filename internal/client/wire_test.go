package client

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHandlesEveryServerFixture: the client takes the canonical example of
// each server message (internal/wire/testdata) and keeps what it says.
// Negotiation messages that would answer the server (offer, answer,
// renegotiate, ice_restart) need a socket and are left to the integration
// tests (ice_restart: internal/server TestICERestartAfterPathDies).
func TestHandlesEveryServerFixture(t *testing.T) {
	c := &Client{opts: Options{API: DefaultAPI()}, changed: make(chan struct{}), done: make(chan struct{}), trackMap: map[string]TrackInfo{}, locals: map[string]*LocalTrack{}}
	defer func() {
		if c.pc != nil {
			_ = c.pc.Close()
		}
	}()
	raw := map[string]map[string]any{}
	feed := func(typ string) {
		t.Helper()
		b, err := os.ReadFile(filepath.Join("../wire/testdata/server-to-client", typ+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var v map[string]any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		raw[typ] = v
		if err := c.handle(&inbound{Type: typ, raw: b}); err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
	}
	files, _ := filepath.Glob("../wire/testdata/server-to-client/*.json")
	if len(files) < 20 {
		t.Fatalf("%d server fixtures", len(files))
	}
	feed("welcome") // first: the rest needs the PeerConnection it makes
	for _, f := range files {
		switch typ := strings.TrimSuffix(filepath.Base(f), ".json"); typ {
		case "welcome", "offer", "answer", "renegotiate", "ice_restart":
		default:
			feed(typ)
		}
	}

	w := raw["welcome"]
	if self := w["self"].(map[string]any); c.Self().ID != self["id"] || c.Self().Name != self["name"] || !c.Self().MutedByHost {
		t.Errorf("self %+v, welcome's %v", c.Self(), self)
	}
	if c.ResumeToken() != w["resume"] || c.Room() != 2 {
		t.Errorf("resume %q, room %d", c.ResumeToken(), c.Room())
	}
	if got, want := c.Settings(), raw["settings"]["settings"].(map[string]any); !equalJSON(t, got, want) {
		t.Errorf("settings %v, want %v", got, want)
	}
	if lobby := c.WaitingRoom(); len(lobby) != 2 || !lobby[1].BannedNetwork || lobby[0].Since == "" {
		t.Errorf("waiting room %+v", lobby)
	}
	if s, ok := c.Draining(); !ok || float64(s) != raw["draining"]["seconds"] {
		t.Errorf("draining %d %v", s, ok)
	}
	if m := c.Moves(); len(m) != 2 || m[0].Room != 2 || m[0].Token != raw["breakout"]["token"] || m[1].Room != 0 || m[1].Token != raw["breakout_return"]["token"] {
		t.Errorf("moves %+v", m)
	}
	if b := c.Breakouts(); !b.Open || len(b.Rooms) != 2 || len(b.Rooms[1].Participants) != 1 || len(b.Main) != 1 {
		t.Errorf("breakouts %+v", b)
	}
	if h := c.Broadcasts(); len(h) != 1 || h[0].From != raw["breakout_broadcast"]["from"] || len(h[0].Payload) == 0 {
		t.Errorf("broadcasts %+v", h)
	}
	if n := c.AdminNotices(); len(n) != 1 || n[0].Action != "locked" || n[0].Message != raw["admin_notice"]["message"] {
		t.Errorf("notices %+v", n)
	}
	if e := c.Errors(); len(e) != 1 || e[0].Code != raw["error"]["code"] {
		t.Errorf("errors %+v", e)
	}
	if c.ClosedReason() != raw["closed"]["reason"] || c.Waiting() != raw["waiting"]["reason"] {
		t.Errorf("closed %q, waiting %q", c.ClosedReason(), c.Waiting())
	}
	if r := c.Refusal(); r == nil || r.Code != raw["refused"]["code"] || r.Message != raw["refused"]["message"] || r.Redirect != raw["refused"]["redirect"] {
		t.Errorf("refusal %+v", r)
	}
	if r, want := c.Recording(), raw["recording"]; !r.On || r.By != want["by"] || r.Recording != want["recording"] || r.Since != want["since"] {
		t.Errorf("recording %+v, want %v", r, want)
	}
	if s := c.Stopped(); len(s) != 1 || s[0] != raw["media_stopped"]["source"] {
		t.Errorf("stopped %v", s)
	}
	// welcome's Ada and the WHIP source (not end-to-end encrypted), then
	// participant_joined (Ada again), participant_updated (Bob),
	// participant_left (Bob).
	if roster := c.Roster(); len(roster) != 3 || roster[0].ID != "3h7k9m2q4x" || roster[1].ID != "5w9r3t7y1u" || !roster[1].Ingest || roster[0].Ingest || roster[2].ID != "3h7k9m2q4x" {
		t.Errorf("roster %+v", roster)
	}
	if len(c.pending) != 1 {
		t.Errorf("pending candidates %d, want the fixture's 1", len(c.pending))
	}
}

func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	x, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(x) == string(y)
}
