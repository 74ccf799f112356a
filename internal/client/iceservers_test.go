package client

import (
	"reflect"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/wire"
	"github.com/pion/webrtc/v4"
)

// TestICEServersWithoutRelays: NoRelays drops the turn: and turns: URLs
// (and an entry left without any) and keeps STUN; without it every entry
// goes to pion as the server sent it.
func TestICEServersWithoutRelays(t *testing.T) {
	in := []wire.ICEServer{
		{URLs: []string{"turn:192.0.2.1:3478?transport=udp", "turn:192.0.2.1:3478?transport=tcp"}, Username: "u", Credential: "c"},
		{URLs: []string{"stun:stun.example.org:3478", "turns:turn.example.org:5349"}, Username: "v", Credential: "d"},
		{URLs: []string{"stun:192.0.2.2:3478"}},
	}
	all := []webrtc.ICEServer{
		{URLs: in[0].URLs, Username: "u", Credential: "c"},
		{URLs: in[1].URLs, Username: "v", Credential: "d"},
		{URLs: in[2].URLs, Credential: ""},
	}
	if got := iceServers(in, false); !reflect.DeepEqual(got, all) {
		t.Errorf("with relays: %+v, want %+v", got, all)
	}
	direct := []webrtc.ICEServer{
		{URLs: []string{"stun:stun.example.org:3478"}, Username: "v", Credential: "d"},
		{URLs: []string{"stun:192.0.2.2:3478"}, Credential: ""},
	}
	if got := iceServers(in, true); !reflect.DeepEqual(got, direct) {
		t.Errorf("without relays: %+v, want %+v", got, direct)
	}
	if got := iceServers(in[:1], true); len(got) != 0 {
		t.Errorf("only TURN, without relays: %+v, want none", got)
	}
}
