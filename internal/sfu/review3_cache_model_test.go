package sfu

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestReview3CacheMatchesAModel (review of 9705edd, whose ring lengths
// are not powers of two): a publisher's stream with everything a hostile
// or unlucky one can do to the NACK cache's timing and content: bursts
// that grow the ring in one lap, pauses of up to 10 s that shrink it,
// rates that swing, packets of every size (and some too large to keep),
// old sequence numbers stored again with other bytes, numbers that alias
// in the slot table, and forgotten packets. After every store, a read of
// any number gives exactly the bytes last stored for it, or nil, never
// another packet's bytes nor a slice out of range; the packet just stored
// reads back; and packets a frame batch holds (store's slices) stay
// exactly what was stored for as long as keeps says so, across resizes.
func TestReview3CacheMatchesAModel(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 4} {
		rnd := rand.New(rand.NewPCG(seed, 99))
		c := newPacketCache(videoCachePackets)
		model := map[uint16][]byte{}
		type held struct {
			pos  uint64
			buf  []byte
			want []byte
		}
		var batch []held
		now, seq := int64(1), uint16(rnd.Uint32())
		rate := 1_000_000
		grows, shrinks, last := 0, 0, len(c.buf)
		for i := 0; i < 150_000; i++ {
			switch r := rnd.IntN(1000); {
			case r < 3:
				now += rnd.Int64N(10 * cacheKeep) // a pause
			case r < 8:
				rate = 50_000 + rnd.IntN(8_000_000)
			}
			size := 12 + rnd.IntN(cacheSlotSize-11)
			if rnd.IntN(100) == 0 {
				size = cacheSlotSize + 1 + rnd.IntN(100)
			}
			if rnd.IntN(20) != 0 { // else a burst: no time passes
				now += int64(size) * 8 * 1e9 / int64(rate)
			}
			s := seq
			switch r := rnd.IntN(100); {
			case r < 5:
				s = seq - uint16(1+rnd.IntN(600)) // stored again (other bytes: a hostile publisher)
			case r < 7:
				s = seq + uint16(videoCachePackets*(1+rnd.IntN(3))) // aliases a slot
			default:
				seq++
			}
			pkt := make([]byte, size)
			for k := range pkt {
				pkt[k] = byte(rnd.Uint32())
			}
			if len(batch) > 0 && !c.keeps(batch[0].pos) {
				batch = batch[:0] // the batch is flushed (route)
			}
			got := c.store(s, pkt, now)
			if size > cacheSlotSize {
				if got != nil {
					t.Fatal("a packet larger than a slot was kept")
				}
				delete(model, s)
			} else {
				if !bytes.Equal(got, pkt) {
					t.Fatalf("seed %d store %d: store returned other bytes", seed, i)
				}
				model[s] = pkt
				if p := c.get(s); !bytes.Equal(p, pkt) {
					t.Fatalf("seed %d store %d: the packet just stored does not read back", seed, i)
				}
				if len(batch) < batchPackets {
					batch = append(batch, held{pos: c.head - uint64(len(got)), buf: got, want: pkt})
				}
			}
			if rnd.IntN(200) == 0 {
				f := seq - uint16(rnd.IntN(300))
				c.forget(f)
				delete(model, f)
			}
			for _, h := range batch {
				if !bytes.Equal(h.buf, h.want) {
					t.Fatalf("seed %d store %d: a packet the batch holds changed while keeps said it was intact", seed, i)
				}
			}
			if n := len(c.buf); n > last {
				grows++
			} else if n < last {
				shrinks++
			}
			last = len(c.buf)
			if len(c.buf) > cacheMaxBytes {
				t.Fatalf("ring of %d bytes", len(c.buf))
			}
			// Every number that may still be in the slot table.
			for k := 0; k < 64; k++ {
				q := seq - uint16(rnd.IntN(2*videoCachePackets))
				if k == 0 {
					q = s
				}
				p := c.get(q)
				if p != nil && !bytes.Equal(p, model[q]) {
					t.Fatalf("seed %d store %d: get(%d) returned bytes that were not the last stored for it (ring %d, head %d, floor %d, base %d)",
						seed, i, q, len(c.buf), c.head, c.floor, c.base)
				}
			}
		}
		t.Logf("seed %d: %d grows, %d shrinks, ring ends at %d bytes", seed, grows, shrinks, len(c.buf))
		if grows == 0 || shrinks == 0 {
			t.Errorf("seed %d: the stream never resized the ring both ways (%d grows, %d shrinks): the test checks too little", seed, grows, shrinks)
		}
	}
}
