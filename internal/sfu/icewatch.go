package sfu

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
)

// ICERestarter is a Signaller that can ask its client to restart ICE
// (docs/protocol.md, ice_restart). A peer whose Signaller is one asks when
// its transport stops carrying media.
//
// Why the server asks: pion is the controlled ICE agent, and once a pair
// is selected it ignores the browser's nomination of any other pair. When
// the selected pair's address goes away (a Wi-Fi interface drops while
// another network stays up) the browser moves to a working pair and stays
// "connected", while the server keeps sending into the dead one until its
// PeerConnection fails: the call froze, for good if the browser never saw
// a failure. An ICE restart (a client offer with new credentials) makes
// pion check and select afresh.
type ICERestarter interface {
	RestartICE()
}

const (
	// iceRestartAfter is how long the transport stays disconnected (pion
	// says so after SetICETimeouts' 5 s without anything received) before
	// the client is asked to restart ICE; failed asks at once.
	iceRestartAfter = time.Second
	// iceRestartEvery bounds the asks: at most one in this time, repeated
	// while the transport stays down, a restart's "checking" included (a
	// client that never answers is asked once in this time for as long
	// as its transport is down).
	iceRestartEvery = 10 * time.Second

	// A client's own ICE restarts (offers with new credentials) cost the
	// server a new gathering and a new round of checks each: a burst of
	// iceRestartBurst, then one per iceRestartInterval. The web client
	// restarts at most once in 5 s, whoever asked.
	iceRestartBurst    = 3
	iceRestartInterval = 5 * time.Second
)

// iceWatch asks a peer's client to restart ICE while the transport is down,
// and keeps the client's restart budget.
type iceWatch struct {
	ask   func()        // nil: the Signaller cannot ask
	every time.Duration // iceRestartEvery; shorter in tests

	mu     sync.Mutex
	down   bool // disconnected or failed, or checking since
	closed bool
	timer  *time.Timer
	last   time.Time // the last ask

	// The client's restart budget, as a generic cell rate algorithm: a
	// restart is taken when now is no earlier than due less
	// iceRestartBurst-1 intervals, and moves due one interval on.
	due time.Time
}

func newICEWatch(sig Signaller, now time.Time) *iceWatch {
	w := &iceWatch{due: now, every: iceRestartEvery}
	if r, ok := sig.(ICERestarter); ok {
		w.ask = r.RestartICE
	}
	return w
}

// changed follows the ICE connection state.
func (w *iceWatch) changed(s webrtc.ICEConnectionState) {
	if w == nil || w.ask == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	switch s {
	case webrtc.ICEConnectionStateDisconnected:
		w.down = true
		w.arm(iceRestartAfter)
	case webrtc.ICEConnectionStateFailed:
		w.down = true
		w.arm(0)
	case webrtc.ICEConnectionStateChecking:
		if !w.down {
			// The first connect: nothing was lost, nothing to ask.
			w.stop()
			return
		}
		// A restart under way after a loss (the client's answer to an
		// ask, or its own) is not yet up: its checks may run while the
		// path is still cut, and pion stays "checking" until its own
		// timeouts say failed (SetICETimeouts' disconnected plus failed
		// timeouts, 20 s), while a browser that keeps receiving never
		// sees a loss and never restarts on its own. So the transport
		// stays down, and the client is asked again iceRestartEvery
		// after this restart began unless connected comes first.
		w.arm(w.every)
	case webrtc.ICEConnectionStateClosed:
		w.closed = true
		w.stop()
	default: // new, connected, completed
		w.down = false
		w.stop()
	}
}

// arm sets the timer to ask after d, or later if the last ask was too
// recent. w.mu is held.
func (w *iceWatch) arm(d time.Duration) {
	w.stop()
	if !w.last.IsZero() {
		d = max(d, w.every-time.Since(w.last))
	}
	w.timer = time.AfterFunc(d, w.fire)
}

func (w *iceWatch) stop() {
	if w.timer != nil {
		w.timer.Stop()
		w.timer = nil
	}
}

// fire asks the client to restart ICE if the transport is still down, and
// asks again later while it stays down.
func (w *iceWatch) fire() {
	w.mu.Lock()
	if !w.down || w.closed {
		w.mu.Unlock()
		return
	}
	w.last = time.Now()
	w.timer = time.AfterFunc(w.every, w.fire)
	w.mu.Unlock()
	w.ask()
}

func (w *iceWatch) close() {
	if w == nil { // a Peer made without newPeer (a relay's owner)
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	w.stop()
}

// takeRestart checks a client offer against the restart budget: an offer
// whose ICE credentials differ from the current remote description's is a
// restart. Called with the peer's lock held.
func (w *iceWatch) takeRestart(current *webrtc.SessionDescription, offer string, now time.Time) error {
	if w == nil || current == nil {
		return nil
	}
	was, is := iceUfrag(current.SDP), iceUfrag(offer)
	if was == "" || is == "" || was == is {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if now.Before(w.due.Add(-(iceRestartBurst - 1) * iceRestartInterval)) {
		return fmt.Errorf("%w: ICE restarted more than %d times in a row, or more often than once in %v", ErrBadSDP, iceRestartBurst, iceRestartInterval)
	}
	if w.due.Before(now) {
		w.due = now
	}
	w.due = w.due.Add(iceRestartInterval)
	return nil
}

// iceUfrag is the first ice-ufrag attribute of an SDP (session or first
// media section: with BUNDLE every section carries the same).
func iceUfrag(sdp string) string {
	const attr = "a=ice-ufrag:"
	i := strings.Index(sdp, attr)
	if i < 0 {
		return ""
	}
	rest := sdp[i+len(attr):]
	if j := strings.IndexAny(rest, "\r\n"); j >= 0 {
		rest = rest[:j]
	}
	return strings.TrimSpace(rest)
}
