package policy

import "net/netip"

// AddressKey names the network an address stands for when counting what
// it does: the address itself for IPv4, its /64 for IPv6 (one machine is
// usually given a whole /64, so counting single IPv6 addresses would give
// it billions of fresh keys). An invalid address is "".
func AddressKey(a netip.Addr) string {
	a = a.Unmap()
	switch {
	case !a.IsValid():
		return ""
	case a.Is4():
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}
