package sfu

import (
	"net"
	"net/netip"
	"sync"

	"github.com/pion/transport/v5"
)

// ownedNet is the network the SFU's ICE agents use: the standard one, but
// it remembers every UDP socket they open, so that the embedded TURN server
// can tell the SFU's own media addresses from anything else on the host
// (it relays to them and nowhere else). It remembers the sockets
// themselves and hands pion their batching wrappers (see batcher), or the
// sockets unwrapped on the plain path.
type ownedNet struct {
	transport.Net
	public []netip.Addr // advertised instead of the sockets' own addresses
	batch  *batcher     // nil: the plain path

	mu    sync.Mutex
	conns map[uint16][]*net.UDPConn // by local port
}

func newOwnedNet(std transport.Net, public []netip.Addr, batch *batcher) *ownedNet {
	return &ownedNet{Net: std, public: public, batch: batch, conns: make(map[uint16][]*net.UDPConn)}
}

// ListenUDP opens a socket, remembers it and returns its batching
// wrapper.
func (n *ownedNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	if uc, ok := c.(*net.UDPConn); ok {
		n.add(uc)
		return n.batch.wrap(uc), nil
	}
	return c, nil
}

// add remembers a socket, and forgets those closed since the last one.
func (n *ownedNet) add(c *net.UDPConn) {
	local, ok := c.LocalAddr().(*net.UDPAddr)
	if !ok {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for port, cs := range n.conns {
		if live := liveConns(cs); len(live) == 0 {
			delete(n.conns, port)
		} else {
			n.conns[port] = live
		}
	}
	port := uint16(local.Port)
	n.conns[port] = append(n.conns[port], c)
}

// owns reports whether addr reaches one of the SFU's open UDP sockets: its
// port is one of theirs, and its address is theirs, or the public address
// advertised for them, or any address when the socket listens on all.
func (n *ownedNet) owns(addr netip.AddrPort) bool {
	ip := addr.Addr().Unmap()
	public := false
	for _, p := range n.public {
		if p == ip {
			public = true
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, c := range n.conns[addr.Port()] {
		if !isOpen(c) {
			continue
		}
		local, _ := netip.AddrFromSlice(c.LocalAddr().(*net.UDPAddr).IP)
		local = local.Unmap()
		if public || local == ip || local.IsUnspecified() {
			return true
		}
	}
	return false
}

func liveConns(cs []*net.UDPConn) []*net.UDPConn {
	live := cs[:0]
	for _, c := range cs {
		if isOpen(c) {
			live = append(live, c)
		}
	}
	return live
}

// isOpen reports whether a socket is still open, without touching it.
func isOpen(c *net.UDPConn) bool {
	rc, err := c.SyscallConn()
	if err != nil {
		return false
	}
	return rc.Control(func(uintptr) {}) == nil
}

// ownsIP reports whether ip is an address of one of the SFU's open UDP
// sockets, as clients see it (loopback only when loopback is offered).
func (n *ownedNet) ownsIP(ip netip.Addr, loopback bool) bool {
	ip = ip.Unmap()
	for _, p := range n.public {
		if p == ip {
			return true
		}
	}
	if ip.IsLoopback() && !loopback {
		return false
	}
	anyAddr := false
	n.mu.Lock()
	for _, cs := range n.conns {
		for _, c := range cs {
			if !isOpen(c) {
				continue
			}
			local, _ := netip.AddrFromSlice(c.LocalAddr().(*net.UDPAddr).IP)
			local = local.Unmap()
			if local == ip {
				n.mu.Unlock()
				return true
			}
			anyAddr = anyAddr || local.IsUnspecified()
		}
	}
	n.mu.Unlock()
	if !anyAddr || len(n.public) > 0 {
		return false
	}
	// A socket on every address (the single UDP port): ip must be one of
	// this host's.
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if pfx, err := netip.ParsePrefix(a.String()); err == nil && pfx.Addr().Unmap() == ip {
			return true
		}
	}
	return false
}
