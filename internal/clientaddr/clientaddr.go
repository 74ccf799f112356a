// Package clientaddr finds the address a request really comes from when
// Kaigi runs behind reverse proxies the operator trusts. Every limit per
// address (sign-in and join guessing, waiting-room places, bans of a
// network), the country rules and the logs use that address, so behind a
// proxy that Kaigi does not trust they would all see the proxy.
//
// A request whose peer is one of the trusted proxies has its client taken
// from X-Forwarded-For, read from the right: each proxy appends the
// address it received the request from, so the rightmost address that is
// not itself a trusted proxy is the client. Whatever is left of it was
// written by the client (or by proxies nobody vouches for) and is never
// believed. A request from anyone else keeps its peer address whatever
// headers it carries.
package clientaddr

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// maxHops is how many X-Forwarded-For entries are read, from the right:
// more than any real chain of proxies, and a bound on the work a long
// header costs.
const maxHops = 16

// Trusted is the set of proxies whose X-Forwarded-For is believed.
type Trusted []netip.Prefix

// Parse reads the configured proxies: addresses or CIDR prefixes.
func Parse(list []string) (Trusted, error) {
	var t Trusted
	for _, s := range list {
		s = strings.TrimSpace(s)
		if p, err := netip.ParsePrefix(s); err == nil {
			if p.Addr().Zone() != "" {
				return nil, fmt.Errorf("trusted proxy %q: no zones", s)
			}
			t = append(t, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return nil, fmt.Errorf("trusted proxy %q: want an IP address or a CIDR prefix such as 10.0.0.0/8", s)
		}
		a = a.Unmap()
		t = append(t, netip.PrefixFrom(a, a.BitLen()))
	}
	return t, nil
}

// trusts says whether a is one of the proxies.
func (t Trusted) trusts(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range t {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Client is the address a request from peer with these X-Forwarded-For
// header values comes from: peer itself unless peer is trusted; else the
// rightmost forwarded address that is not a trusted proxy. An entry that
// is not an address stops the walk at the trusted proxy that passed it on.
func (t Trusted) Client(peer netip.Addr, forwarded []string) netip.Addr {
	client := peer.Unmap()
	hops := 0
	for i := len(forwarded) - 1; i >= 0; i-- {
		rest := forwarded[i]
		for rest != "" {
			if !t.trusts(client) || hops == maxHops {
				return client
			}
			var entry string
			if j := strings.LastIndexByte(rest, ','); j >= 0 {
				rest, entry = rest[:j], rest[j+1:]
			} else {
				rest, entry = "", rest
			}
			hops++
			a, ok := parseEntry(entry)
			if !ok {
				return client
			}
			client = a
		}
	}
	return client
}

// parseEntry reads one X-Forwarded-For entry: an address, with a port
// ("192.0.2.1:4711", "[2001:db8::1]:4711") or without.
func parseEntry(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil && ap.Addr().Zone() == "" {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}

// Handler puts the client's address in r.RemoteAddr (with the peer's
// port) for next, so everything that reads it sees the client. With no
// trusted proxies it is next itself.
func (t Trusted) Handler(next http.Handler) http.Handler {
	if len(t) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peer, err := netip.ParseAddrPort(r.RemoteAddr)
		if err != nil || !t.trusts(peer.Addr()) {
			next.ServeHTTP(w, r)
			return
		}
		client := t.Client(peer.Addr(), r.Header.Values("X-Forwarded-For"))
		if client == peer.Addr().Unmap() {
			next.ServeHTTP(w, r)
			return
		}
		r2 := *r
		r2.RemoteAddr = netip.AddrPortFrom(client, peer.Port()).String()
		next.ServeHTTP(w, &r2)
	})
}
