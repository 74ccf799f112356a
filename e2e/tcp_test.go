package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/kaigi-meet/kaigi/internal/config"
	"github.com/kaigi-meet/kaigi/internal/servertest"
)

// recordPeerConnections keeps every RTCPeerConnection the page makes in
// window.__pcs, so the test can read their statistics (the client does not
// expose its connection), and in window.__pcEvents when each was created,
// given a new configuration (setConfiguration) and changed its ICE state,
// with whether the configuration named a TURN relay and the page's clock
// (ms). It runs before the page's own scripts.
const recordPeerConnections = `(() => {
  const Native = window.RTCPeerConnection;
  window.__pcs = [];
  window.__pcEvents = [];
  const turn = (config) => ((config && config.iceServers) || []).some(s => [].concat(s.urls).some(u => /^turns?:/i.test(u)));
  const note = (pc, event, config) => window.__pcEvents.push({pc, event, turn: config === undefined ? false : turn(config), t: performance.now()});
  window.RTCPeerConnection = class extends Native {
    constructor(config, ...rest) {
      super(config, ...rest);
      const i = window.__pcs.push(this) - 1;
      note(i, "created", config);
      this.addEventListener("iceconnectionstatechange", () => note(i, "ice-" + this.iceConnectionState));
    }
    setConfiguration(config) {
      note(window.__pcs.indexOf(this), "setConfiguration", config);
      return super.setConfiguration(config);
    }
  };
})()`

// pcEvent is an entry of window.__pcEvents.
type pcEvent struct {
	PC    int     `json:"pc"`
	Event string  `json:"event"`
	Turn  bool    `json:"turn"`
	T     float64 `json:"t"`
}

// pcEvents reads what recordPeerConnections noted so far.
func (tb *tab) pcEvents() []pcEvent {
	tb.t.Helper()
	var raw string
	if err := tb.eval(`JSON.stringify(window.__pcEvents || [])`, &raw); err != nil {
		tb.t.Fatal(err)
	}
	var ev []pcEvent
	if err := json.Unmarshal([]byte(raw), &ev); err != nil {
		tb.t.Fatalf("%s: peer connection events %q: %v", tb.name, raw, err)
	}
	return ev
}

// recordingPeerConnections makes tb record its peer connections
// (recordPeerConnections) from its next page on.
func (tb *tab) recordingPeerConnections() *tab {
	tb.run("record peer connections", chromedp.ActionFunc(func(ctx context.Context) error {
		_, err := page.AddScriptToEvaluateOnNewDocument(recordPeerConnections).Do(ctx)
		return err
	}))
	return tb
}

// selectedPair is what getStats says of the candidate pair in use: its
// local candidate's protocol and type (for a relay candidate, also the
// protocol the browser speaks to the TURN server), and the SFU's candidate
// at the other end.
type selectedPair struct {
	Protocol       string `json:"protocol"`
	CandidateType  string `json:"candidateType"`
	RelayProtocol  string `json:"relayProtocol"`
	RemoteProtocol string `json:"remoteProtocol"`
	RemotePort     int    `json:"remotePort"`
	BytesReceived  int    `json:"bytesReceived"`
	// TransportBytesReceived is what the whole transport received.
	TransportBytesReceived int `json:"transportBytesReceived"`
	// UDP counts the local candidates the browser gathered that send UDP
	// (UDP host candidates, TURN over UDP).
	UDP int `json:"udp"`
}

// readSelectedPair returns (as JSON) the selected pair of the page's
// connection that has received the most, or "" if none has a selected
// pair yet.
const readSelectedPair = `(async () => {
  let best = null;
  for (const pc of window.__pcs) {
    const stats = await pc.getStats();
    let pair = null, udp = 0;
    stats.forEach(s => {
      if (s.type === "transport" && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId);
      if (s.type === "local-candidate" && (s.candidateType === "relay" ? s.relayProtocol === "udp" : s.protocol === "udp")) udp++;
    });
    if (!pair || (best && best.bytesReceived >= pair.bytesReceived)) continue;
    const local = stats.get(pair.localCandidateId), remote = stats.get(pair.remoteCandidateId);
    best = {protocol: local.protocol, candidateType: local.candidateType, relayProtocol: local.relayProtocol || "",
      remoteProtocol: remote.protocol, remotePort: remote.port, bytesReceived: pair.bytesReceived, udp,
      transportBytesReceived: stats.get(pair.transportId).bytesReceived};
  }
  return best ? JSON.stringify(best) : "";
})()`

// tcpOnly opens a tab in a Chromium that may not send UDP for WebRTC at all
// (no UDP host candidates, no STUN, no TURN over UDP: only TCP, to the
// SFU's ICE-TCP port or to a TURN server over TCP), as on a network that
// drops UDP.
//
// That is Chromium's WebRTC IP handling policy "disable_non_proxied_udp"
// (what the WebRtcIPHandling enterprise policy sets); this Chromium has no
// command-line switch for it, so it goes in the profile's preferences.
func tcpOnly(t *testing.T, name string) *tab {
	profile := t.TempDir()
	prefs := `{"webrtc": {"ip_handling_policy": "disable_non_proxied_udp"}}`
	if err := os.MkdirAll(filepath.Join(profile, "Default"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(profile, "Default", "Preferences"), []byte(prefs), 0o600); err != nil {
		t.Fatal(err)
	}
	b := startBrowser(t, map[string]any{"user-data-dir": profile})
	return newTabIn(t, b, name).recordingPeerConnections()
}

// pair waits until the tab's connection has a selected candidate pair that
// has received media, and returns it.
func (tb *tab) pair() selectedPair {
	tb.t.Helper()
	tb.waitJS("a selected candidate pair that received media",
		`(async () => { const s = await `+readSelectedPair+`; if (s === "") return false; const p = JSON.parse(s); return p.bytesReceived > 0 || p.transportBytesReceived > 0; })()`)
	var raw string
	if err := tb.eval(readSelectedPair, &raw); err != nil {
		tb.t.Fatal(err)
	}
	var p selectedPair
	if err := json.Unmarshal([]byte(raw), &p); err != nil {
		tb.t.Fatalf("%s: selected pair %q: %v", tb.name, raw, err)
	}
	return p
}

// meetOverTCP starts a server adjusted by cfg; Ada joins from an ordinary
// browser, Bob from one that cannot use UDP. Each decodes the other's
// camera and microphone, and Bob's selected candidate pair is returned
// with the server and Bob's tab. How long Bob took from being in the
// meeting to decoding Ada's video is logged.
func meetOverTCP(t *testing.T, cfg func(*config.Config)) (selectedPair, *servertest.Server, *tab) {
	srv := startServer(t, servertest.Options{Config: cfg})
	link := srv.URL + "/m/" + srv.NewMeeting(t)
	ada, bob := newTab(t, "Ada"), tcpOnly(t, "Bob")
	ada.joinMeeting(link)
	bob.joinMeeting(link)
	joined := time.Now()
	adaID, bobID := ada.selfID(), bob.selfID()
	bob.decodes(adaID, "camera")
	t.Logf("Bob decoded Ada's video %.1f s after he was in the meeting (polled every 0.25 s)", time.Since(joined).Seconds())
	bob.decodes(adaID, "microphone")
	ada.decodes(bobID, "camera")
	ada.decodes(bobID, "microphone")
	p := bob.pair()
	// Media goes on arriving over that pair: more frames decoded, more
	// bytes on its transport (the pair's own counter lags behind in
	// Chromium's stats on a busy machine; the transport's does not).
	bob.decodesMore(adaID, "camera", bob.framesDecoded(adaID, "camera"))
	if q := bob.pair(); q.TransportBytesReceived <= p.TransportBytesReceived || q.Protocol != p.Protocol || q.RemotePort != p.RemotePort {
		t.Errorf("Bob's selected pair went from %+v to %+v while he decoded more video", p, q)
	} else {
		p = q
	}
	t.Logf("Bob's selected pair: local %s candidate over %s (relay protocol %q), remote %s port %d, %d bytes received (transport %d); %d local UDP candidates",
		p.CandidateType, p.Protocol, p.RelayProtocol, p.RemoteProtocol, p.RemotePort, p.BytesReceived, p.TransportBytesReceived, p.UDP)
	if p.UDP != 0 {
		t.Errorf("Bob gathered %d UDP candidates: the browser is not restricted to TCP", p.UDP)
	}
	return p, srv, bob
}

// overICETCP: the browser's end is TCP (Chromium's active TCP candidate,
// reported as host or peer-reflexive) and the SFU's is its ICE-TCP port.
func overICETCP(p selectedPair, srv *servertest.Server) bool {
	return p.Protocol == "tcp" && p.CandidateType != "relay" && p.RemoteProtocol == "tcp" && p.RemotePort == srv.SFU().TCPPort()
}

// overTURNTCP: the browser's end is a relay it reaches over TCP.
func overTURNTCP(p selectedPair) bool { return p.CandidateType == "relay" && p.RelayProtocol == "tcp" }

// TestMeetingOverICETCP: with the TURN server off, a browser that cannot
// use UDP reaches the SFU's ICE-TCP port directly, and media flows both
// ways over it.
func TestMeetingOverICETCP(t *testing.T) {
	off := false
	p, srv, _ := meetOverTCP(t, func(c *config.Config) { c.TURN.Enabled = &off })
	if !overICETCP(p, srv) {
		t.Errorf("Bob's media goes over %+v, want TCP to the SFU's ICE-TCP port %d", p, srv.SFU().TCPPort())
	}
}

// TestMeetingOverTURNTCP: with the SFU's ICE-TCP off, the same browser
// gets through the embedded TURN server over TCP, relayed to the SFU —
// through the client's fallback (web/src/meeting/relays.ts): its peer
// connection starts without the TURN relay, which it adds (setConfiguration)
// and restarts ICE with only once the direct attempt did not connect.
func TestMeetingOverTURNTCP(t *testing.T) {
	off := false
	p, srv, bob := meetOverTCP(t, func(c *config.Config) { c.WebRTC.ICETCP = &off })
	if !overTURNTCP(p) {
		t.Errorf("Bob's media goes over %+v, want a relay reached over TCP", p)
	}
	ev := bob.pcEvents()
	t.Logf("Bob's peer connections: %+v", ev)
	if len(ev) == 0 || ev[0].Event != "created" {
		t.Fatalf("Bob's page made no peer connection that was recorded: %+v", ev)
	}
	if ev[0].Turn {
		t.Errorf("Bob's first peer connection started with a TURN relay: the direct attempt comes first")
	}
	var added, connected float64 = -1, -1
	for _, e := range ev {
		switch {
		case e.PC == 0 && e.Event == "setConfiguration" && e.Turn && added < 0:
			added = e.T
		case e.PC == 0 && (e.Event == "ice-connected" || e.Event == "ice-completed") && connected < 0:
			connected = e.T
		case e.PC > 0:
			t.Errorf("Bob's page made another peer connection (%+v): the relay should have been added to the first", e)
		}
	}
	if added < 0 {
		t.Fatalf("Bob's peer connection never had the TURN relay added")
	}
	if connected < added {
		t.Errorf("Bob's peer connection connected at %.0f ms, before the relay was added at %.0f ms", connected, added)
	}
	t.Logf("Bob's peer connection: relay added %.2f s after it was created, ICE connected %.2f s after (%.2f s after the relay)",
		(added-ev[0].T)/1000, (connected-ev[0].T)/1000, (connected-added)/1000)
	if n := srv.TURN().Allocations(); n == 0 {
		t.Errorf("the TURN server holds no allocation while Bob's media goes through it")
	}
}

// TestMeetingOverTCPDefaults: with the defaults (ICE-TCP and TURN both on)
// the browser that cannot use UDP gets in, over one or the other.
func TestMeetingOverTCPDefaults(t *testing.T) {
	p, srv, _ := meetOverTCP(t, nil)
	if !overICETCP(p, srv) && !overTURNTCP(p) {
		t.Errorf("Bob's media goes over %+v, want TCP", p)
	}
}
