package sfu

import (
	"testing"
	"time"

	"github.com/pion/rtp"
)

// TestUnclaimedRTPStreamsHoldLittle: maxRTPStreams bounds how many SRTP
// read streams a client makes pion open, and a stream for an SSRC no
// track claims is never read once pion's RID probe gave up, so what the
// client sends on it afterwards stays queued for the PeerConnection's
// life. Such a stream queues at most maxUnclaimedRTPBytes: 32 SSRCs sent
// 600 KB each hold about 4 MB, where pion's own bound (1 MB a stream)
// let them hold about 20 MB, and 255 of them 255 MB (found in review).
func TestUnclaimedRTPStreamsHoldLittle(t *testing.T) {
	eve, track := connectUndeclaredRTPClient(t)

	const ssrcs, perSSRC, size = 32, 600 << 10, 1100
	payload := make([]byte, size)
	before := heapInUse()
	sent := 0
	for round := 0; round < perSSRC/size; round++ {
		for i := 0; i < ssrcs; i++ {
			track.mu.Lock()
			ws, pt := track.ws, track.pt
			track.mu.Unlock()
			seq := uint16(round)
			if _, err := ws.WriteRTP(&rtp.Header{Version: 2, PayloadType: uint8(pt), SSRC: 0x60000000 + uint32(i), SequenceNumber: seq, Timestamp: uint32(seq) * 960}, payload); err != nil {
				t.Fatal(err)
			}
			sent += size
		}
		time.Sleep(4 * time.Millisecond) // loopback keeps them
	}
	time.Sleep(time.Second)
	after := heapInUse()
	rtpStreams, unknown, _, over := streamCounts(eve.peer)
	grown := int64(after) - int64(before)
	t.Logf("%d undeclared SSRCs, %d bytes sent: %d SRTP streams, %d unknown SRTCP, over %v, closed %v; heap in use %+d bytes",
		ssrcs, sent, rtpStreams, unknown, over, peerClosed(eve.peer), grown)
	if peerClosed(eve.peer) {
		t.Fatalf("the peer was closed at %d SRTP streams, under maxRTPStreams", rtpStreams)
	}
	if limit := int64(ssrcs)*maxUnclaimedRTPBytes*5/4 + 1<<20; grown > limit {
		t.Errorf("the peer holds %d KB for %d streams its client made pion open and nobody reads, want at most %d KB", grown>>10, rtpStreams, limit>>10)
	}
}
