package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// ErrRefusedAddress is a webhook address Kaigi will not send to.
var ErrRefusedAddress = errors.New("webhook: refused address")

// notPublic are the ranges besides those netip classifies (loopback,
// private, link-local, multicast, unspecified) that a webhook may never
// reach.
var notPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // shared address space (CGNAT)
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and broadcast
	netip.MustParsePrefix("64:ff9b::/96"),    // NAT64: checked by its IPv4 below
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local NAT64
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("100::/64"),        // discard
	netip.MustParsePrefix("2001::/23"),       // IETF protocol assignments (Teredo, ORCHID, ...)
	netip.MustParsePrefix("2002::/16"),       // 6to4: may embed a private IPv4
}

// globalUnicast6 is IPv6's global unicast block (RFC 4291, IANA).
var globalUnicast6 = netip.MustParsePrefix("2000::/3")

// allowedAddr reports whether a webhook may connect to a: a public
// unicast address, or loopback when loopback is allowed.
func allowedAddr(a netip.Addr, loopback bool) bool {
	a = a.Unmap()
	if !a.IsValid() || a.Zone() != "" {
		return false
	}
	if a.IsLoopback() {
		return loopback
	}
	// IPv6 only from the global unicast block: outside it are spellings
	// of IPv4 addresses (IPv4-compatible ::/96, SIIT's ::ffff:0:0/96),
	// site-local and the unassigned rest, none a webhook receiver's.
	if a.Is6() && !globalUnicast6.Contains(a) {
		return false
	}
	if a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast() ||
		a.IsMulticast() || a.IsUnspecified() || !a.IsGlobalUnicast() {
		return false
	}
	for _, p := range notPublic {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// CheckURL checks a webhook's URL when it is registered: https to a host
// name or a public address; http, and loopback addresses, only when
// loopback is allowed (a server run for development or tests), and then
// only to loopback. Where the name resolves is checked when each
// delivery is dialled (dialControl).
func CheckURL(raw string, loopback bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return nil, fmt.Errorf("%w: not an absolute URL", ErrRefusedAddress)
	}
	if len(raw) > 2000 {
		return nil, fmt.Errorf("%w: longer than 2000 characters", ErrRefusedAddress)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%w: a URL with a user name or password", ErrRefusedAddress)
	}
	if u.Fragment != "" {
		return nil, fmt.Errorf("%w: a URL with a fragment", ErrRefusedAddress)
	}
	host := strings.ToLower(u.Hostname())
	ip, ipErr := netip.ParseAddr(host)
	isLoopback := host == "localhost" || strings.HasSuffix(host, ".localhost") || (ipErr == nil && ip.Unmap().IsLoopback())
	switch u.Scheme {
	case "https":
	case "http":
		if !loopback || !isLoopback {
			return nil, fmt.Errorf("%w: use https (plain http only to this machine, on a development server)", ErrRefusedAddress)
		}
	default:
		return nil, fmt.Errorf("%w: use https", ErrRefusedAddress)
	}
	if isLoopback && !loopback {
		return nil, fmt.Errorf("%w: %s is this machine", ErrRefusedAddress, host)
	}
	if ipErr == nil && !allowedAddr(ip, loopback) {
		return nil, fmt.Errorf("%w: %s is not a public address", ErrRefusedAddress, host)
	}
	if ipErr != nil && !strings.Contains(host, ".") && !isLoopback {
		return nil, fmt.Errorf("%w: %s is not a public host name", ErrRefusedAddress, host)
	}
	return u, nil
}

// dialControl refuses a connection to an address a webhook may not reach.
// It runs after the name is resolved, on the address about to be
// connected to: what was checked is what is dialled.
func dialControl(loopback bool) func(network, address string, _ syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: %s", ErrRefusedAddress, address)
		}
		a := ap.Addr().Unmap()
		if a.Is6() && netip.MustParsePrefix("64:ff9b::/96").Contains(a) {
			b := a.As16()
			a = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
		}
		if !allowedAddr(a, loopback) {
			return fmt.Errorf("%w: %s is not a public address", ErrRefusedAddress, a)
		}
		return nil
	}
}

// newClient is the HTTP client deliveries are sent with: every
// connection checked by dialControl, no proxy, no redirects followed, a
// bounded wait, a bounded answer.
func newClient(loopback bool, timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: timeout, Control: dialControl(loopback)}
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		// A receiver's answer matters only by its status: its headers
		// are read to 64 KiB (not the default 10 MiB), its body to 1 KiB.
		MaxResponseHeaderBytes: 64 << 10,
		MaxIdleConns:           16,
		IdleConnTimeout:        30 * time.Second,
		ForceAttemptHTTP2:      true,
	}
	return &http.Client{Transport: tr, Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}
