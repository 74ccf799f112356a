package sfu

import (
	"net"

	"github.com/pion/ice/v4"
)

// Which local addresses the SFU gathers ICE candidates on.
//
// Every host candidate costs each PeerConnection, for as long as it
// lasts, a socket (or a TCP mux entry), a read loop goroutine and an
// 8 KiB read buffer held by that loop, whether or not the browser ever
// uses it. So addresses no browser can use are not gathered at all.

// usefulAddr reports whether a host candidate on ip can be of use to a
// browser. IPv6 link-local addresses (fe80::/10) are not: pion gathers
// them, opens their sockets and starts their read loops, but never
// signals them (RFC 8445 5.1.1.1, location tracking), so they only cost
// memory: two candidates (UDP and TCP) per PeerConnection for every
// interface with IPv6, which on a container host is every veth.
// Loopback is decided by Config.IncludeLoopback, as before.
func usefulAddr(ip net.IP) bool {
	return ip.To4() != nil || !ip.IsLinkLocalUnicast()
}

// filteredUDPMux is the single-port UDP mux with usefulAddr applied to
// the addresses it offers: pion applies its IP filter to the sockets it
// opens per candidate, but not to a mux's listen addresses.
type filteredUDPMux struct {
	ice.UDPMux
	loopback bool // offer loopback addresses
}

// GetListenAddresses returns the mux's addresses that are worth a
// candidate. pion skips loopback for its own mux type only, which this
// wrapper hides from it, so loopback is filtered here too.
func (m filteredUDPMux) GetListenAddresses() []net.Addr {
	all := m.UDPMux.GetListenAddresses()
	out := make([]net.Addr, 0, len(all))
	for _, a := range all {
		if u, ok := a.(*net.UDPAddr); ok && (!usefulAddr(u.IP) || (u.IP.IsLoopback() && !m.loopback)) {
			continue
		}
		out = append(out, a)
	}
	return out
}
