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
// themselves with their batching wrappers (see batcher), which pion is
// handed, or the sockets unwrapped on the plain path; the direct path
// (direct.go) finds a selected pair's wrapper here.
type ownedNet struct {
	transport.Net
	public []netip.Addr // advertised instead of the sockets' own addresses
	batch  *batcher     // nil: the plain path

	mu    sync.Mutex
	conns map[uint16][]ownedSocket // by local port
}

// ownedSocket is one of the SFU's UDP sockets and its batching wrapper
// (nil on the plain path, or when batching was refused for it).
type ownedSocket struct {
	c     *net.UDPConn
	batch *batchConn
}

func newOwnedNet(std transport.Net, public []netip.Addr, batch *batcher) *ownedNet {
	return &ownedNet{Net: std, public: public, batch: batch, conns: make(map[uint16][]ownedSocket)}
}

// ListenUDP opens a socket, remembers it and returns its batching
// wrapper.
func (n *ownedNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	if uc, ok := c.(*net.UDPConn); ok {
		return n.add(uc), nil
	}
	return c, nil
}

// add remembers a socket with its batching wrapper, which it returns
// for pion, and forgets the sockets closed since the last one.
func (n *ownedNet) add(c *net.UDPConn) transport.UDPConn {
	w := n.batch.wrap(c)
	local, ok := c.LocalAddr().(*net.UDPAddr)
	if !ok {
		return w
	}
	bc, _ := w.(*batchConn)
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
	n.conns[port] = append(n.conns[port], ownedSocket{c: c, batch: bc})
	return w
}

// owns reports whether addr reaches one of the SFU's open UDP sockets: its
// port is one of theirs, and its address is theirs, or the public address
// advertised for them, or any address when the socket listens on all.
func (n *ownedNet) owns(addr netip.AddrPort) bool {
	_, matches := n.reaching(addr)
	return matches > 0
}

// reaching is the first of the SFU's open UDP sockets that addr reaches
// (as owns says), and how many do.
func (n *ownedNet) reaching(addr netip.AddrPort) (ownedSocket, int) {
	ip := addr.Addr().Unmap()
	public := false
	for _, p := range n.public {
		if p == ip {
			public = true
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	var first ownedSocket
	matches := 0
	for _, s := range n.conns[addr.Port()] {
		if !isOpen(s.c) {
			continue
		}
		la, ok := s.c.LocalAddr().(*net.UDPAddr)
		if !ok {
			continue
		}
		local, _ := netip.AddrFromSlice(la.IP)
		local = local.Unmap()
		if public || local == ip || local.IsUnspecified() {
			if matches == 0 {
				first = s
			}
			matches++
		}
	}
	return first, matches
}

func liveConns(cs []ownedSocket) []ownedSocket {
	live := cs[:0]
	for _, s := range cs {
		if isOpen(s.c) {
			live = append(live, s)
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
		for _, s := range cs {
			if !isOpen(s.c) {
				continue
			}
			local, _ := netip.AddrFromSlice(s.c.LocalAddr().(*net.UDPAddr).IP)
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
