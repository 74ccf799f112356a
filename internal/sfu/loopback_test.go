package sfu

import (
	"net"
	"strings"
	"testing"
)

// TestLoopbackNeeded: include_loopback: auto's rule, on lists of
// interfaces. Loopback is needed only when no interface that is up, is
// not loopback and is kept by webrtc.interfaces has an address worth a
// candidate (not IPv6 link-local, not IPv6 when IPv6 is off).
func TestLoopbackNeeded(t *testing.T) {
	ips := func(s ...string) []net.IP {
		var out []net.IP
		for _, a := range s {
			out = append(out, net.ParseIP(a))
		}
		return out
	}
	lo := hostIface{name: "lo", up: true, loopback: true, addrs: ips("127.0.0.1", "::1")}
	eth := hostIface{name: "eth0", up: true, addrs: ips("192.0.2.2", "fe80::1")}
	ethDown := hostIface{name: "eth0", addrs: ips("192.0.2.2")}
	linkLocalOnly := hostIface{name: "wlan0", up: true, addrs: ips("fe80::2")}
	v6 := hostIface{name: "wg0", up: true, addrs: ips("2001:db8::1", "fe80::3")}
	noAddr := hostIface{name: "docker0", up: true}
	for _, tt := range []struct {
		name string
		o    only
		ifs  []hostIface
		want bool
	}{
		{"loopback only (the offline laptop)", only{}, []hostIface{lo}, true},
		{"no interface at all", only{}, nil, true},
		{"an Ethernet address", only{}, []hostIface{lo, eth}, false},
		{"the interface is down", only{}, []hostIface{lo, ethDown}, true},
		{"IPv6 link-local only (offered nowhere)", only{}, []hostIface{lo, linkLocalOnly}, true},
		{"an interface with no address", only{}, []hostIface{lo, noAddr}, true},
		{"a global IPv6 address", only{}, []hostIface{lo, v6}, false},
		{"a global IPv6 address, IPv6 off", only{noIPv6: true}, []hostIface{lo, v6}, true},
		{"IPv6 off, an IPv4 address", only{noIPv6: true}, []hostIface{lo, v6, eth}, false},
		{"interfaces lists one that is there", only{interfaces: []string{"eth0"}}, []hostIface{lo, eth, v6}, false},
		{"interfaces lists one that is not", only{interfaces: []string{"eth1"}}, []hostIface{lo, eth, v6}, true},
		{"interfaces lists lo", only{interfaces: []string{"lo"}}, []hostIface{lo, eth}, true},
		{"a loopback address on another interface", only{}, []hostIface{lo, {name: "dummy0", up: true, addrs: ips("127.0.0.2")}}, true},
	} {
		if got := tt.o.loopbackNeeded(tt.ifs); got != tt.want {
			t.Errorf("%s: loopbackNeeded %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestLoopbackAutoGathers: with LoopbackAuto the SFU's PeerConnections
// offer loopback candidates only when nothing else would be offered:
// here (scripts/isolated.sh: lo and a veth) none on every interface, and
// loopback alone when webrtc.interfaces keeps no interface the host has
// (as on a host with no network); the same through the single UDP port.
func TestLoopbackAutoGathers(t *testing.T) {
	ifs, err := hostIfaces()
	if err != nil {
		t.Fatal(err)
	}
	if (only{}).loopbackNeeded(ifs) {
		t.Skip("this host has no address but loopback (run it in scripts/isolated.sh, whose veth has one)")
	}
	freePort := func() int {
		l, err := net.ListenUDP("udp", &net.UDPAddr{})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return l.LocalAddr().(*net.UDPAddr).Port
	}
	for _, single := range []bool{false, true} {
		for _, tt := range []struct {
			interfaces []string
			loopback   bool
		}{{nil, false}, {[]string{"no-such-if"}, true}} {
			cfg := Config{LoopbackAuto: true, ICETCP: true, Interfaces: tt.interfaces}
			if single {
				cfg.UDPPort = freePort()
			}
			s, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			var loopback, other int
			for _, c := range gather(t, s) {
				if ip := net.ParseIP(strings.Fields(c.Candidate)[4]); ip != nil && ip.IsLoopback() {
					loopback++
				} else {
					other++
				}
			}
			s.Close()
			if (loopback > 0) != tt.loopback || (other > 0) == tt.loopback || s.loopback != tt.loopback {
				t.Errorf("single port %v, interfaces %v: %d loopback and %d other candidates (SFU's loopback %v); want loopback %v and nothing else, or the other way round",
					single, tt.interfaces, loopback, other, s.loopback, tt.loopback)
			}
		}
	}
}
