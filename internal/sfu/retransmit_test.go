package sfu

import (
	"testing"

	"github.com/pion/rtcp"
)

// TestResendsAreBounded: however often a subscriber asks for a packet, it
// is sent again at most maxResends times; other packets are still
// repaired, and the packet that takes the same number 65536 packets later
// counts afresh.
func TestResendsAreBounded(t *testing.T) {
	up, layers, d, rec := simulcastTrack(t)
	d.target.Store(0)
	now, ts := int64(0), uint32(0)
	seq := uint16(200)
	route := func(n int) {
		for i := 0; i < n; i++ {
			now, ts = now+33e6, ts+3000
			up.route(layers[0], vp8Packet(0, seq, ts, len(rec.pkts) == 0), now)
			seq++
		}
	}
	route(4)
	if len(rec.pkts) != 4 {
		t.Fatalf("forwarded %d packets, want 4", len(rec.pkts))
	}
	lost := rec.pkts[1].SequenceNumber
	nack := func(s uint16) int {
		before := len(rec.pkts)
		d.retransmit(&rtcp.TransportLayerNack{Nacks: []rtcp.NackPair{{PacketID: s}}})
		return len(rec.pkts) - before
	}
	resent := 0
	for i := 0; i < 100; i++ {
		resent += nack(lost)
	}
	if resent != maxResends {
		t.Errorf("100 NACKs for one packet sent it again %d times, want %d", resent, maxResends)
	}
	if n := nack(lost + 1); n != 1 {
		t.Errorf("a NACK for another packet sent %d packets, want 1", n)
	}

	// Once the numbers come round, the same number is a new packet.
	route(1 << 16)
	if got := rec.pkts[len(rec.pkts)-3].SequenceNumber; got != lost {
		t.Fatalf("the packet 65536 later is numbered %d, want %d", got, lost)
	}
	if n := nack(lost); n != 1 {
		t.Errorf("a NACK for the new packet numbered %d sent %d packets, want 1", lost, n)
	}
}
