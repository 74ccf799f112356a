package sfu

import (
	"log/slog"
	"net"
	"slices"

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
// Loopback is decided by Config.IncludeLoopback (or LoopbackAuto).
func usefulAddr(ip net.IP) bool {
	return ip.To4() != nil || !ip.IsLinkLocalUnicast()
}

// only is what the operator narrowed gathering to (Config.Interfaces and
// Config.NoIPv6); its zero value keeps everything.
type only struct {
	interfaces []string // names; empty: every interface
	noIPv6     bool
}

// hostIface is what loopbackNeeded needs to know of an interface.
type hostIface struct {
	name         string
	up, loopback bool
	addrs        []net.IP
}

// hostIfaces lists this host's interfaces and their addresses.
func hostIfaces() ([]hostIface, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	out := make([]hostIface, 0, len(ifs))
	for _, i := range ifs {
		h := hostIface{name: i.Name, up: i.Flags&net.FlagUp != 0, loopback: i.Flags&net.FlagLoopback != 0}
		as, _ := i.Addrs()
		for _, a := range as {
			if ip, _, err := net.ParseCIDR(a.String()); err == nil {
				h.addrs = append(h.addrs, ip)
			}
		}
		out = append(out, h)
	}
	return out, nil
}

// loopbackNeeded is Config.LoopbackAuto's rule: loopback candidates are
// offered only when no other address would be, that is when no interface
// that is up, is not loopback and is one gathering keeps (o.interfaces)
// has an address usefulAddr and o.noIPv6 let through. A browser on the
// same machine as a server with any such address reaches the server
// through it (the kernel delivers a packet to one of its own addresses
// over loopback whatever the interface), so loopback candidates would
// only cost every PeerConnection two more sockets, read loops and read
// buffers (about 0.04 MiB a subscriber, BENCHMARKS.md) that no remote
// client can use. Without any such address (an offline laptop) loopback
// is all there is, and a browser on the machine needs it.
func (o only) loopbackNeeded(ifs []hostIface) bool {
	for _, i := range ifs {
		if !i.up || i.loopback || (len(o.interfaces) > 0 && !slices.Contains(o.interfaces, i.name)) {
			continue
		}
		for _, ip := range i.addrs {
			if usefulAddr(ip) && !ip.IsLoopback() && !ip.IsUnspecified() && (ip.To4() != nil || !o.noIPv6) {
				return false
			}
		}
	}
	return true
}

// autoLoopback applies loopbackNeeded to this host's interfaces as they
// are at start, and says what it decided. It is decided once: a server
// that loses its network later keeps offering no loopback (set
// include_loopback: true for a laptop that goes offline), and one that
// gains one keeps offering loopback, which costs memory but works.
func (o only) autoLoopback(log *slog.Logger) bool {
	ifs, err := hostIfaces()
	if err != nil {
		log.Warn("sfu: cannot list network interfaces; loopback candidates offered", "err", err)
		return true
	}
	if o.loopbackNeeded(ifs) {
		log.Info("sfu: no network address to offer but loopback: loopback candidates offered (include_loopback: auto)")
		return true
	}
	log.Info("sfu: loopback candidates not offered: this host has other addresses, which a browser on it reaches too (include_loopback: auto; true offers them)")
	return false
}

// iface reports whether candidates are gathered on the named interface:
// one listed, or any when none is. Loopback is decided by
// Config.IncludeLoopback alone, so listing interfaces does not turn off
// the loopback candidates a browser on the same machine uses.
func (o only) iface(name string) bool {
	if len(o.interfaces) == 0 || slices.Contains(o.interfaces, name) {
		return true
	}
	i, err := net.InterfaceByName(name)
	return err == nil && i.Flags&net.FlagLoopback != 0
}

// addrs returns the addresses of the interfaces iface keeps, or nil
// when it keeps every interface.
func (o only) addrs() map[string]bool {
	if len(o.interfaces) == 0 {
		return nil
	}
	keep := make(map[string]bool)
	ifaces, _ := net.Interfaces()
	for _, i := range ifaces {
		if !o.iface(i.Name) {
			continue
		}
		as, _ := i.Addrs()
		for _, a := range as {
			if ip, _, err := net.ParseCIDR(a.String()); err == nil {
				keep[ip.String()] = true
			}
		}
	}
	return keep
}

// filteredUDPMux is the single-port UDP mux with usefulAddr and the
// operator's choices applied to the addresses it offers: pion applies
// its interface and IP filters to the sockets it opens per candidate,
// but not to a mux's listen addresses.
type filteredUDPMux struct {
	ice.UDPMux
	loopback bool // offer loopback addresses
	only     only
}

// GetListenAddresses returns the mux's addresses that are worth a
// candidate. pion skips loopback for its own mux type only, which this
// wrapper hides from it, so loopback is filtered here too.
func (m filteredUDPMux) GetListenAddresses() []net.Addr {
	all := m.UDPMux.GetListenAddresses()
	keep := m.only.addrs()
	out := make([]net.Addr, 0, len(all))
	for _, a := range all {
		if u, ok := a.(*net.UDPAddr); ok {
			switch {
			case !usefulAddr(u.IP), u.IP.IsLoopback() && !m.loopback,
				u.IP.To4() == nil && m.only.noIPv6,
				keep != nil && !u.IP.IsLoopback() && !keep[u.IP.String()]:
				continue
			}
		}
		out = append(out, a)
	}
	return out
}
