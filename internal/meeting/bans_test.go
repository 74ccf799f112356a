package meeting

import (
	"errors"
	"net/netip"
	"testing"
)

func TestBanned(t *testing.T) {
	office := netip.MustParseAddr("198.51.100.7")
	v6 := netip.MustParseAddr("2001:db8:1:2::99")
	bans := []Ban{
		{Kind: BanUser, Value: "u-banned"},
		{Kind: BanDevice, Value: "d-banned"},
		{Kind: BanAddress, Value: office.String()},
		{Kind: BanAddress, Value: "2001:db8:1:2::/64"},
	}
	elsewhere := netip.MustParseAddr("203.0.113.9")
	tests := []struct {
		name string
		id   Identity
		want bool
	}{
		{"a banned account", Identity{UserID: "u-banned", Addr: elsewhere}, true},
		{"a banned browser, signed in as someone else", Identity{UserID: "u-other", Device: "d-banned", Addr: elsewhere}, true},
		{"a banned browser as a guest", Identity{Device: "d-banned", Addr: elsewhere}, true},
		{"a guest from a banned network", Identity{Device: "d-new", Addr: office}, true},
		{"a guest from a banned IPv6 /64", Identity{Addr: v6}, true},
		{"an account from a banned network waits for a host instead", Identity{UserID: "u-other", Addr: office}, false},
		{"someone else", Identity{UserID: "u-other", Device: "d-new", Addr: elsewhere}, false},
		{"a guest with nothing banned", Identity{Addr: elsewhere}, false},
		{"the owner, even on a banned browser and network", Identity{UserID: "owner", Device: "d-banned", Addr: office}, false},
	}
	m := New(Record{ID: "abcd-efgh-jkmn-pqrs", OwnerID: "owner"}, Options{Bans: bans})
	for _, tt := range tests {
		if got := m.Banned(tt.id); got != tt.want {
			t.Errorf("%s: Banned = %v, want %v", tt.name, got, tt.want)
		}
		// The same answer Join gives, as far as bans go.
		_, err := m.Join(JoinRequest{Name: "Someone", Identity: tt.id})
		if joinBanned := errors.Is(err, ErrBanned); joinBanned != tt.want {
			t.Errorf("%s: Join refused as banned %v, Banned says %v (err %v)", tt.name, joinBanned, tt.want, err)
		}
	}
}
