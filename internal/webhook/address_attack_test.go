package webhook

import (
	"errors"
	"net/netip"
	"testing"
)

// TestDialledAddressesThatHideAPrivateOne: the dialler's check on the
// address it is about to connect to refuses every spelling of a private,
// loopback or unspecified address in IPv6 (IPv4-mapped, IPv4-compatible,
// SIIT's IPv4-translated, NAT64 of a private address, 6to4, Teredo, and
// IPv6 outside the global unicast block 2000::/3), and lets public
// addresses through, including NAT64 of a public IPv4 address.
func TestDialledAddressesThatHideAPrivateOne(t *testing.T) {
	control := dialControl(false)
	for _, a := range []string{
		"0.0.0.0", "[::]", "127.0.0.1", "10.1.2.3", "169.254.169.254", "100.64.0.1", "255.255.255.255",
		"[::1]", "[::ffff:127.0.0.1]", "[::ffff:169.254.169.254]", "[::ffff:0.0.0.0]",
		"[::127.0.0.1]", "[::169.254.169.254]", "[::10.0.0.1]", "[::8.8.8.8]", // IPv4-compatible (deprecated, ::/96)
		"[::ffff:0:127.0.0.1]", "[::ffff:0:169.254.169.254]", // SIIT IPv4-translated (::ffff:0:0/96)
		"[64:ff9b::127.0.0.1]", "[64:ff9b::a9fe:a9fe]", "[64:ff9b::10.0.0.1]", "[64:ff9b:1::1]",
		"[2002:7f00:1::1]", "[2001:0:4136:e378:8000:63bf:3fff:fdd2]",
		"[fe80::1]", "[fc00::1]", "[fd00:ec2::254]", "[ff02::1]",
		"[100::1]", "[4000::1]", "[::2]", "[1::1]", "[fec0::1]",
	} {
		if err := control("tcp", a+":443", nil); !errors.Is(err, ErrRefusedAddress) {
			t.Errorf("dialling %s: %v, want refused", a, err)
		}
	}
	for _, a := range []string{"8.8.8.8", "[2606:4700:4700::1111]", "[64:ff9b::8.8.8.8]", "[::ffff:8.8.8.8]"} {
		if err := control("tcp", a+":443", nil); err != nil {
			t.Errorf("dialling public %s: %v", a, err)
		}
	}
	// Registration refuses the same literal addresses.
	for _, a := range []string{"[::127.0.0.1]", "[::ffff:0:127.0.0.1]", "[64:ff9b::7f00:1]", "0.0.0.0", "[::]"} {
		if _, err := CheckURL("https://"+a+"/hook", false); !errors.Is(err, ErrRefusedAddress) {
			t.Errorf("registering https://%s/hook: %v, want refused", a, err)
		}
	}
	if !allowedAddr(netip.MustParseAddr("127.0.0.1"), true) || allowedAddr(netip.MustParseAddr("::127.0.0.1"), true) {
		t.Error("with loopback allowed: 127.0.0.1 must pass, ::127.0.0.1 (IPv4-compatible, not loopback) must not")
	}
}
