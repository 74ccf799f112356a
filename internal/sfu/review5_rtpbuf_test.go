package sfu

import (
	"errors"
	"io"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/pion/transport/v5/packetio"
)

// review5Size is the length of packet seq in the integrity test: every
// slot class and its edges (the small slot, the large one, a packet of
// its own past it), and an empty packet.
func review5Size(seq int) int {
	sizes := [...]int{12, 100, 511, 512, 513, 1200, 1535, 1536, 1537, 3000, 0, 1}
	return sizes[seq%len(sizes)]
}

func review5Byte(seq, k int) byte { return byte(seq*31 + k) }

// Two rtpBuffers share the slot pools, each with a writer, a reader and
// a goroutine that keeps moving the read deadline (past, cleared, a
// little ahead) while reads wait. The limit is small, so writes meet
// ErrFull, the ring wraps, grows and is dropped as it drains. Every
// packet must come out whole, in order, exactly once (a slot given back
// twice to the pool, or used after it was given back, would show as
// another packet's bytes, and -race sees the rest); a short read
// consumes its packet with io.ErrShortBuffer and the packet's first
// bytes; after the close the reader drains and gets io.EOF, and the
// buffer holds nothing.
func TestReview5RTPBufferConcurrentIntegrity(t *testing.T) {
	const packets = 8000
	var wg sync.WaitGroup
	for pair := range 2 {
		q := newRTPBuffer()
		q.SetLimitSize(24 << 10)
		stop := make(chan struct{}) // the writer is done
		quit := make(chan struct{}) // the reader is done (or failed)
		wg.Add(3)
		go func() { // writer
			defer wg.Done()
			defer func() { close(stop); _ = q.Close() }()
			p := make([]byte, 4000)
			for seq := range packets {
				n := review5Size(seq)
				for k := range n {
					p[k] = review5Byte(seq, k)
				}
				for {
					_, err := q.Write(p[:n], nil)
					if err == nil {
						break
					}
					if !errors.Is(err, packetio.ErrFull) {
						t.Errorf("pair %d: write %d: %v", pair, seq, err)
						return
					}
					select {
					case <-quit: // the reader failed: nothing will drain
						return
					default:
					}
					runtime.Gosched()
				}
			}
		}()
		go func() { // deadline mover
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					_ = q.SetReadDeadline(time.Time{})
					return
				case <-quit:
					return
				default:
				}
				switch i % 3 {
				case 0:
					_ = q.SetReadDeadline(time.Now().Add(-time.Second))
				case 1:
					_ = q.SetReadDeadline(time.Time{})
				case 2:
					_ = q.SetReadDeadline(time.Now().Add(50 * time.Microsecond))
				}
				runtime.Gosched()
			}
		}()
		go func() { // reader
			defer wg.Done()
			defer close(quit)
			big, short := make([]byte, 4000), make([]byte, 600)
			var attrs packetio.Attributes
			seq := 0
			for {
				buf := big
				if seq%7 == 3 {
					buf = short
				}
				n, a, err := q.Read(buf, attrs)
				switch {
				case errors.Is(err, packetio.ErrTimeout):
					continue
				case errors.Is(err, io.EOF):
					if seq != packets {
						t.Errorf("pair %d: io.EOF after %d packets of %d", pair, seq, packets)
					}
					if q.Size() != 0 {
						t.Errorf("pair %d: Size %d once drained", pair, q.Size())
					}
					return
				case errors.Is(err, io.ErrShortBuffer):
					if review5Size(seq) <= len(buf) || n != len(buf) {
						t.Errorf("pair %d: packet %d of %d bytes: short read of %d into %d", pair, seq, review5Size(seq), n, len(buf))
						return
					}
				case err != nil:
					t.Errorf("pair %d: read %d: %v", pair, seq, err)
					return
				case n != review5Size(seq):
					t.Errorf("pair %d: packet %d: %d bytes, want %d", pair, seq, n, review5Size(seq))
					return
				}
				attrs = a
				for k := range n {
					if buf[k] != review5Byte(seq, k) {
						t.Errorf("pair %d: packet %d byte %d is %d, want %d (another packet's slot?)", pair, seq, k, buf[k], review5Byte(seq, k))
						return
					}
				}
				seq++
			}
		}()
	}
	wg.Wait()
}

// The layer's goroutine reads what pion's SRTP read loop writes, on
// another goroutine (another P): the slots go back to the pool on the
// reader's P and are taken on the writer's. With a reader that keeps up
// (bursts of 1 to 12 packets, each read before the next: ordinary
// jitter, within rtpRingKeep) a packet must still cost (nearly) no
// allocation across them: under one per thousand packets.
func TestReview5RTPBufferAcrossGoroutinesAllocatesLittle(t *testing.T) {
	if review5RaceEnabled {
		t.Skip("the race detector makes sync.Pool drop items at random")
	}
	const bursts = 20000
	q := newRTPBuffer()
	q.SetLimitSize(1000 * 1000)
	pkt, small := make([]byte, 1200), make([]byte, 160)
	burst := func(i int) int { return 1 + i%12 }
	drained := make(chan struct{})
	go func() {
		buf := make([]byte, 1500)
		for i := 0; ; i++ {
			for range burst(i) {
				if _, _, err := q.Read(buf, nil); err != nil {
					close(drained)
					return
				}
			}
			drained <- struct{}{}
		}
	}()
	run := func(from, to int) (packets int) {
		for i := from; i < to; i++ {
			for k := range burst(i) {
				p := pkt
				if k%3 == 0 {
					p = small
				}
				if _, err := q.Write(p, nil); err != nil {
					t.Fatal(err)
				}
				packets++
			}
			<-drained
		}
		return packets
	}
	run(0, 1000) // warm the pools and the ring
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	packets := run(1000, 1000+bursts)
	runtime.ReadMemStats(&after)
	_ = q.Close()
	<-drained
	allocs := after.Mallocs - before.Mallocs
	per := float64(allocs) / float64(packets)
	t.Logf("%d packets in %d bursts across goroutines: %d allocations (%.5f a packet), %d GCs", packets, bursts, allocs, per, after.NumGC-before.NumGC)
	if per > 0.001 {
		t.Fatalf("%.5f allocations a packet across goroutines; want under 0.001", per)
	}
}
