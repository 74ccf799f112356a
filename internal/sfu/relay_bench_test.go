package sfu

import (
	"encoding/binary"
	"testing"
	"time"
)

// BenchmarkRelayForward: what relaying a published track to another node
// costs the publishing node per packet, against what one more subscriber
// costs: each through pion's write chain (sender reports) and SRTP, as
// BenchmarkForward's srtp writer, frames of four packets. A relay does
// not renumber or rewrite VP8 descriptors, so it should cost no more.
func BenchmarkRelayForward(b *testing.B) {
	for _, target := range []string{"subscriber", "relay"} {
		b.Run("to="+target, func(b *testing.B) {
			up, l := benchUpTrack()
			w := newSRTPWriter(b, &discardConn{closed: make(chan struct{})}, 5000, false)
			var relay *relaySender
			if target == "relay" {
				relay = &relaySender{up: up, layer: 0}
				relay.binding.Store(&binding{ssrc: 5000, payloadType: 96, writer: w})
				rt := &relayTrack{up: up}
				rt.senders[0] = relay
				up.attachRelay(rt)
			} else {
				attachBench(b, up, 0, w)
			}
			raw := benchPacket(1100)
			now := time.Now().UnixNano()
			raw[1] |= 0x80
			binary.BigEndian.PutUint32(raw[4:], 1<<31)
			up.route(l, raw, now) // starts the subscriber, outside the measurement
			before := up.owner.router.sfu.forwardedPackets.Load()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				binary.BigEndian.PutUint16(raw[2:], uint16(i+1))
				binary.BigEndian.PutUint32(raw[4:], uint32(i/4)*3000)
				raw[1] &^= 0x80
				if i%4 == 3 {
					raw[1] |= 0x80
				}
				up.route(l, raw, now+int64(i)*1000)
			}
			b.StopTimer()
			up.fanout.Lock()
			up.flush(l)
			up.fanout.Unlock()
			if sent := up.owner.router.sfu.forwardedPackets.Load() - before; sent != uint64(b.N) {
				b.Fatalf("forwarded %d packets, want %d", sent, b.N)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/pkt")
		})
	}
}
