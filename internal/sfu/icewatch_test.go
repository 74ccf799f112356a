package sfu

import (
	"errors"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// restartSignaller is a Signaller that can ask for ICE restarts; each ask
// arrives on asks.
type restartSignaller struct {
	nopSignaller
	asks chan struct{}
}

func (s restartSignaller) RestartICE() { s.asks <- struct{}{} }

func sdpWithUfrag(u string) string {
	return "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ice-ufrag:" + u + "\r\na=ice-pwd:x\r\n"
}

// TestICERestartBudget: a client's offers that change its ICE credentials
// are taken three in a row, then one per iceRestartInterval; the others
// are refused as bad_sdp at no cost; offers that keep the credentials are
// never counted.
func TestICERestartBudget(t *testing.T) {
	now := time.Unix(1000, 0)
	w := newICEWatch(nopSignaller{}, now)
	if err := w.takeRestart(nil, sdpWithUfrag("a"), now); err != nil {
		t.Fatalf("first offer: %v", err)
	}
	cur := &webrtc.SessionDescription{SDP: sdpWithUfrag("a")}
	for i := range 10 {
		if err := w.takeRestart(cur, sdpWithUfrag("a"), now); err != nil {
			t.Fatalf("offer %d without a restart: %v", i, err)
		}
	}
	for i := range iceRestartBurst {
		if err := w.takeRestart(cur, sdpWithUfrag(string(rune('b'+i))), now); err != nil {
			t.Fatalf("restart %d of the burst: %v", i, err)
		}
	}
	for range 5 {
		if err := w.takeRestart(cur, sdpWithUfrag("z"), now); !errors.Is(err, ErrBadSDP) {
			t.Fatalf("restart past the burst: %v, want ErrBadSDP", err)
		}
	}
	now = now.Add(iceRestartInterval - time.Millisecond)
	if err := w.takeRestart(cur, sdpWithUfrag("z"), now); err == nil {
		t.Fatal("a restart before the interval was taken")
	}
	now = now.Add(time.Millisecond)
	if err := w.takeRestart(cur, sdpWithUfrag("z"), now); err != nil {
		t.Fatalf("a restart after the interval: %v", err)
	}
	if err := w.takeRestart(cur, sdpWithUfrag("y"), now); err == nil {
		t.Fatal("a second restart in the interval was taken")
	}
}

// TestICEWatchAsks: failed asks at once, disconnected after
// iceRestartAfter; a connection coming back cancels the ask, and a
// Signaller that cannot ask is never asked.
func TestICEWatchAsks(t *testing.T) {
	sig := restartSignaller{asks: make(chan struct{}, 4)}
	w := newICEWatch(sig, time.Now())
	await := func(what string) {
		t.Helper()
		select {
		case <-sig.asks:
		case <-time.After(10 * time.Second):
			t.Fatalf("no ask after %s", what)
		}
	}
	w.changed(webrtc.ICEConnectionStateFailed)
	await("failed")
	w.mu.Lock()
	asked, again := w.last, w.timer != nil
	w.mu.Unlock()
	if asked.IsZero() || !again {
		t.Fatalf("after an ask: last %v, asking again armed %v", asked, again)
	}
	w.changed(webrtc.ICEConnectionStateConnected)
	w.mu.Lock()
	armed := w.timer != nil
	w.mu.Unlock()
	if armed {
		t.Fatal("still armed once connected")
	}

	// A second watch: disconnected asks too, after iceRestartAfter.
	w2 := newICEWatch(sig, time.Now())
	start := time.Now()
	w2.changed(webrtc.ICEConnectionStateDisconnected)
	await("disconnected")
	if took := time.Since(start); took < iceRestartAfter {
		t.Fatalf("asked after %v, before iceRestartAfter", took)
	}
	w2.close()
	w2.changed(webrtc.ICEConnectionStateFailed)
	w2.mu.Lock()
	armed = w2.timer != nil
	w2.mu.Unlock()
	if armed {
		t.Fatal("armed after close")
	}

	none := newICEWatch(nopSignaller{}, time.Now())
	none.changed(webrtc.ICEConnectionStateFailed)
	if none.ask != nil || none.timer != nil {
		t.Fatal("a Signaller without RestartICE got a watch")
	}

	// A Peer made without newPeer (a relay's owner) has none.
	var missing *iceWatch
	missing.changed(webrtc.ICEConnectionStateFailed)
	missing.close()
	if err := missing.takeRestart(&webrtc.SessionDescription{SDP: sdpWithUfrag("a")}, sdpWithUfrag("b"), time.Now()); err != nil {
		t.Fatal(err)
	}
}

func TestICEUfrag(t *testing.T) {
	for sdp, want := range map[string]string{
		sdpWithUfrag("abc"): "abc",
		"a=ice-ufrag:x y\n": "x y",
		"v=0\r\n":           "",
		"a=ice-ufrag:first\r\na=ice-ufrag:second\r\n": "first",
	} {
		if got := iceUfrag(sdp); got != want {
			t.Errorf("iceUfrag(%q) = %q, want %q", sdp, got, want)
		}
	}
}

// TestICEWatchAsksAgainWhileRestartChecks: a restart after a loss moves
// pion's ICE to "checking", which is not yet up: while it stays there the
// client is asked again (once per every), and connected ends the asks.
// The first connect's "checking" asks nothing.
func TestICEWatchAsksAgainWhileRestartChecks(t *testing.T) {
	sig := restartSignaller{asks: make(chan struct{}, 4)}
	w := newICEWatch(sig, time.Now())
	w.every = 200 * time.Millisecond
	armed := func() (bool, bool) {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.down, w.timer != nil
	}

	w.changed(webrtc.ICEConnectionStateChecking)
	if down, timer := armed(); down || timer {
		t.Fatalf("first connect's checking: down %v, armed %v", down, timer)
	}
	w.changed(webrtc.ICEConnectionStateConnected)

	w.changed(webrtc.ICEConnectionStateFailed)
	select {
	case <-sig.asks:
	case <-time.After(10 * time.Second):
		t.Fatal("no ask after failed")
	}
	w.changed(webrtc.ICEConnectionStateChecking) // the client restarted
	if down, timer := armed(); !down || !timer {
		t.Fatalf("a restart's checking after a loss: down %v, armed %v; want both", down, timer)
	}
	began := time.Now()
	for i := range 2 {
		select {
		case <-sig.asks:
		case <-time.After(10 * time.Second):
			t.Fatalf("ask %d while the restart checks: none", i+1)
		}
	}
	if took := time.Since(began); took < 2*w.every-50*time.Millisecond {
		t.Fatalf("two more asks within %v: more often than once per %v", took, w.every)
	}
	w.changed(webrtc.ICEConnectionStateConnected)
	if down, timer := armed(); down || timer {
		t.Fatalf("connected: down %v, armed %v", down, timer)
	}
	select {
	case <-sig.asks:
		t.Fatal("asked after connected")
	case <-time.After(3 * w.every):
	}

	// A restart the client made on its own, before any ask, is given
	// every before the first ask.
	w.changed(webrtc.ICEConnectionStateDisconnected)
	w.changed(webrtc.ICEConnectionStateChecking)
	began = time.Now()
	select {
	case <-sig.asks:
		if took := time.Since(began); took < w.every-50*time.Millisecond {
			t.Fatalf("asked %v into the client's own restart, before every (%v)", took, w.every)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no ask while the client's own restart checks")
	}
	w.close()
	w.changed(webrtc.ICEConnectionStateChecking)
	if _, timer := armed(); timer {
		t.Fatal("armed after close")
	}
}
