package sfu

import (
	"net"
	"testing"

	"github.com/pion/webrtc/v4"
)

// linkLocalHere reports whether this host has an IPv6 link-local address
// on an interface that is up (a veth or Ethernet interface with IPv6 has
// one).
func linkLocalHere(t *testing.T) bool {
	t.Helper()
	ifaces, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range ifaces {
		addrs, _ := i.Addrs()
		for _, a := range addrs {
			if ip, _, err := net.ParseCIDR(a.String()); err == nil && i.Flags&net.FlagUp != 0 && !usefulAddr(ip) {
				return true
			}
		}
	}
	return false
}

// gather has a PeerConnection of s gather its candidates, and returns
// them once it is done.
func gather(t *testing.T, s *SFU) []webrtc.ICECandidateInit {
	t.Helper()
	pc, err := s.newPeerConnection()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio); err != nil {
		t.Fatal(err)
	}
	var cands []webrtc.ICECandidateInit
	done := make(chan struct{})
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			close(done)
			return
		}
		cands = append(cands, c.ToJSON())
	})
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-done
	return cands
}

// TestNoLinkLocalCandidates: no socket is opened, and no candidate
// offered, on an IPv6 link-local address, whether the SFU opens a socket
// per candidate or carries everything on one UDP port; the other
// addresses are still offered.
func TestNoLinkLocalCandidates(t *testing.T) {
	if !linkLocalHere(t) {
		t.Skip("this host has no IPv6 link-local address (run it in scripts/isolated.sh, whose veth has one)")
	}
	s, err := New(Config{IncludeLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if cands := gather(t, s); len(cands) == 0 {
		t.Fatal("no candidates")
	}
	s.owned.mu.Lock()
	var opened int
	for _, cs := range s.owned.conns {
		for _, c := range cs {
			opened++
			if ip := c.LocalAddr().(*net.UDPAddr).IP; !usefulAddr(ip) {
				t.Errorf("a socket on %s", ip)
			}
		}
	}
	s.owned.mu.Unlock()
	if opened == 0 {
		t.Error("no socket opened")
	}

	// The single port: the mux lists the host's link-local addresses,
	// the SFU offers none of them.
	l, err := net.ListenUDP("udp", &net.UDPAddr{})
	if err != nil {
		t.Fatal(err)
	}
	port := l.LocalAddr().(*net.UDPAddr).Port
	l.Close()
	s, err = New(Config{UDPPort: port, IncludeLoopback: false})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	var listed bool
	for _, a := range s.udpMux.(filteredUDPMux).UDPMux.GetListenAddresses() {
		listed = listed || !usefulAddr(a.(*net.UDPAddr).IP)
	}
	if !listed {
		t.Fatal("pion's mux lists no link-local address here: the test does not test")
	}
	cands := gather(t, s)
	if len(cands) == 0 {
		t.Fatal("no candidates on the single port")
	}
	for _, a := range s.udpMux.GetListenAddresses() {
		if ip := a.(*net.UDPAddr).IP; !usefulAddr(ip) || ip.IsLoopback() {
			t.Errorf("the single port offers %s (loopback off)", ip)
		}
	}
}
