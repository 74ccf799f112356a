package server_test

import (
	"context"
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/kaigi-meet/kaigi/internal/client"
)

// levelAPI is a client that negotiates the audio level header extension,
// as browsers do, after extra audio extensions that push its ID above the
// server's own choice.
func levelAPI(t *testing.T, extra ...string) *webrtc.API {
	t.Helper()
	api, err := client.NewAPI(func(m *webrtc.MediaEngine, r *interceptor.Registry) error {
		if err := webrtc.RegisterDefaultInterceptors(m, r); err != nil {
			return err
		}
		for _, uri := range append(extra, sdp.AudioLevelURI) {
			if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: uri}, webrtc.RTPCodecTypeAudio); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return api
}

// levelOf is the audio level (RFC 6464 byte: voice flag and -dBov) the
// publisher sets on its n-th packet.
func levelOf(n uint32) byte {
	b := byte(n*7) & 0x7f
	if n%3 == 0 {
		b |= 0x80
	}
	return b
}

// levelLog keeps what a subscriber reads from the audio it receives.
type levelLog struct {
	mu      sync.Mutex
	id      uint8 // the extension's ID on the subscriber's connection
	packets int
	right   int    // packets whose level is the one the publisher set
	wrong   []byte // levels that were not
	none    int    // packets without the extension
}

func (l *levelLog) observe(rt *client.RemoteTrack) func([]byte) {
	if rt.Kind != "audio" {
		return nil
	}
	id := rt.HeaderExtensionID(sdp.AudioLevelURI)
	l.mu.Lock()
	l.id = id
	l.mu.Unlock()
	var pkt rtp.Packet
	return func(b []byte) {
		if pkt.Unmarshal(b) != nil || len(pkt.Payload) < 6 || pkt.Payload[1] != 'L' {
			return
		}
		n := binary.BigEndian.Uint32(pkt.Payload[2:])
		l.mu.Lock()
		defer l.mu.Unlock()
		l.packets++
		if id == 0 {
			if pkt.Extension {
				l.wrong = append(l.wrong, pkt.GetExtension(pkt.GetExtensionIDs()[0])...)
			} else {
				l.none++
			}
			return
		}
		ext := pkt.GetExtension(id)
		switch {
		case ext == nil:
			l.none++
		case len(ext) == 1 && ext[0] == levelOf(n):
			l.right++
		default:
			l.wrong = append(l.wrong, ext...)
		}
	}
}

func (l *levelLog) counts() (packets, right, none int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.packets, l.right, l.none
}

// TestAudioLevelForwarded: the audio level header extension (RFC 6464),
// which end-to-end encryption leaves in clear, is negotiated with
// publishers and subscribers and forwarded under each subscriber's own ID,
// so that a client can tell who speaks without decrypting anything. A
// subscriber that did not negotiate it gets the audio without it.
func TestAudioLevelForwarded(t *testing.T) {
	srv := startServer(t, nil)
	id := srv.newMeeting(t)
	pub := srv.mustJoinAs(t, client.Options{Meeting: id, Name: "Pub", Publish: []string{"microphone"},
		API: levelAPI(t, "urn:ietf:params:rtp-hdrext:toffset", "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
			"urn:ietf:params:rtp-hdrext:csrc-audio-level")})
	mic := pub.Local("microphone")

	reader, plain := &levelLog{}, &levelLog{}
	sub := srv.mustJoinAs(t, client.Options{Meeting: id, Name: "Reader", API: levelAPI(t), Observe: reader.observe})
	old := srv.mustJoinAs(t, client.Options{Meeting: id, Name: "Plain", Observe: plain.observe})

	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		frame := make([]byte, 80)
		frame[0], frame[1] = 0x78, 'L' // Opus TOC, then our mark
		for n := uint32(0); ; n++ {
			binary.BigEndian.PutUint32(frame[2:], n)
			b := levelOf(n)
			mic.SetAudioLevel(b&0x7f, b&0x80 != 0)
			if mic.WriteFrame(frame, 1200, 960) != nil {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(func() { stop(); <-done })

	const want = 100 // 2 s of audio
	for _, c := range []struct {
		who *client.Client
		log *levelLog
	}{{sub, reader}, {old, plain}} {
		err := c.who.WaitFor(waitCtx(t), c.who.Self().Name+" to receive audio", func() bool {
			n, _, _ := c.log.counts()
			return n >= want
		})
		if err != nil {
			t.Fatal(err)
		}
	}

	pubID := mic.HeaderExtensionID(sdp.AudioLevelURI)
	reader.mu.Lock()
	defer reader.mu.Unlock()
	if pubID == 0 || reader.id == 0 {
		t.Fatalf("audio level extension IDs: publisher %d, subscriber %d; want both negotiated", pubID, reader.id)
	}
	if pubID == reader.id {
		t.Errorf("the publisher and the subscriber negotiated the same ID (%d): the test cannot tell that it is rewritten", pubID)
	}
	// The first packets may come before the publisher's sender knows the
	// negotiated ID; after that every packet carries the level it was sent
	// with.
	if reader.right < reader.packets-10 || len(reader.wrong) > 0 {
		t.Errorf("of %d packets, %d had the publisher's level, %d none, wrong levels %v", reader.packets, reader.right, reader.none, reader.wrong)
	}
	plain.mu.Lock()
	defer plain.mu.Unlock()
	if plain.id != 0 || plain.none != plain.packets {
		t.Errorf("a subscriber without the extension: ID %d, %d of %d packets without extensions (others: %v)", plain.id, plain.none, plain.packets, plain.wrong)
	}
	t.Logf("audio level: publisher's ID %d, subscriber's %d; %d of %d packets with the right level", pubID, reader.id, reader.right, reader.packets)
}
