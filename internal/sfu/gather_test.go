package sfu

import (
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/pion/ice/v4"
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
		for _, sock := range cs {
			opened++
			if ip := sock.c.LocalAddr().(*net.UDPAddr).IP; !usefulAddr(ip) {
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

// fixedMux is a UDP mux that lists fixed addresses.
type fixedMux struct {
	ice.UDPMux
	addrs []net.Addr
}

func (m fixedMux) GetListenAddresses() []net.Addr { return m.addrs }

// TestSinglePortOffersWhatIsAsked: the single port's addresses are
// narrowed as the sockets per candidate are: no link-local IPv6, loopback
// only when asked, no IPv6 at all when turned off, and only the listed
// interfaces' addresses (loopback aside).
func TestSinglePortOffersWhatIsAsked(t *testing.T) {
	var all []net.Addr
	for _, ip := range []string{"127.0.0.1", "198.51.100.1", "2001:db8::1", "fe80::1"} {
		all = append(all, &net.UDPAddr{IP: net.ParseIP(ip), Port: 3478})
	}
	offered := func(m filteredUDPMux) string {
		m.UDPMux = fixedMux{addrs: all}
		var ips []string
		for _, a := range m.GetListenAddresses() {
			ips = append(ips, a.(*net.UDPAddr).IP.String())
		}
		return strings.Join(ips, " ")
	}
	for _, tt := range []struct {
		m    filteredUDPMux
		want string
	}{
		{filteredUDPMux{loopback: true}, "127.0.0.1 198.51.100.1 2001:db8::1"},
		{filteredUDPMux{}, "198.51.100.1 2001:db8::1"},
		{filteredUDPMux{loopback: true, only: only{noIPv6: true}}, "127.0.0.1 198.51.100.1"},
		// No interface here has these addresses.
		{filteredUDPMux{loopback: true, only: only{interfaces: []string{"no-such-if"}}}, "127.0.0.1"},
	} {
		if got := offered(tt.m); got != tt.want {
			t.Errorf("%+v: offers %q, want %q", tt.m, got, tt.want)
		}
	}
}

// TestOnlyTheseInterfaces: with webrtc.interfaces the SFU gathers on the
// listed interfaces and loopback, and nowhere else.
func TestOnlyTheseInterfaces(t *testing.T) {
	ifaces, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	var name string
	var ours []string
	for _, i := range ifaces {
		if i.Flags&net.FlagUp == 0 || i.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, _ := i.Addrs()
		for _, a := range addrs {
			if ip, _, err := net.ParseCIDR(a.String()); err == nil && ip.To4() != nil {
				name = i.Name
				ours = append(ours, ip.String())
			}
		}
		if name != "" {
			break
		}
	}
	if name == "" {
		t.Skip("no interface with an IPv4 address besides loopback (run it in scripts/isolated.sh)")
	}
	addrs := func(cfg Config) map[string]bool {
		s, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		got := make(map[string]bool)
		for _, c := range gather(t, s) {
			got[strings.Fields(c.Candidate)[4]] = true
		}
		return got
	}
	got := addrs(Config{IncludeLoopback: true, Interfaces: []string{name}})
	for a := range got {
		if a != "127.0.0.1" && !slices.Contains(ours, a) {
			t.Errorf("interfaces [%s]: a candidate on %s", name, a)
		}
	}
	if !got["127.0.0.1"] || !got[ours[0]] {
		t.Errorf("interfaces [%s]: candidates on %v, want %s's and loopback", name, got, name)
	}
	got = addrs(Config{IncludeLoopback: true, Interfaces: []string{"no-such-if"}})
	if len(got) != 1 || !got["127.0.0.1"] {
		t.Errorf("interfaces [no-such-if]: candidates on %v, want loopback only", got)
	}
}
