package sfu

import (
	"context"
	"encoding/binary"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
	"github.com/pion/webrtc/v4"
)

// Attacks on the direct path (direct.go) by a reviewer: what a closed
// peer still receives on a socket that outlives it, and whether the
// path's fall back to pion's and back keeps one SRTP index space.

// freeUDPPort is a UDP port nothing listens on now.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	l, err := net.ListenUDP("udp", &net.UDPAddr{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.LocalAddr().(*net.UDPAddr).Port
}

// TestReviewDirectPathNothingAfterRemove: a participant removed from the
// meeting (RemovePeer: kicked, or left) gets no more forwarded media,
// though its direct target is still set and, with the single UDP port,
// the SFU's socket it was sent from stays open for everyone else: no
// packet is written for it, on either path, once RemovePeer returns
// (the counter is checked to count while it is there).
func TestReviewDirectPathNothingAfterRemove(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  func(t *testing.T) Config
	}{
		{"per-candidate-sockets", func(*testing.T) Config { return Config{} }},
		{"single-udp-port", func(t *testing.T) Config { return Config{UDPPort: freeUDPPort(t)} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			rig := newDirectRig(t, ctx, tc.cfg(t), nil, nil)
			rig.onDirectPath(t, ctx)
			// The client closes its end when the SFU's DTLS says
			// goodbye, so what leaves the SFU is counted there: the
			// subscription's packets written, either path.
			rig.sub.mu.Lock()
			var bs []*binding
			for _, d := range rig.sub.downs {
				if b := d.binding.Load(); b != nil {
					bs = append(bs, b)
				}
			}
			rig.sub.mu.Unlock()
			if len(bs) == 0 {
				t.Fatal("no bound subscription")
			}
			written := func() (n uint32) {
				for _, b := range bs {
					n += b.sent.packets.Load()
				}
				return n
			}
			before := written()
			await(t, ctx, "50 packets counted", func() bool { return written() >= before+50 })
			direct := rig.sub.out.directSent.Load()
			rig.sub.router.RemovePeer("sub")
			at := written()
			sent := rig.sent.Load()
			// 250 packets (half a second) forwarded to no one.
			await(t, ctx, "250 more packets from the publisher", func() bool { return rig.sent.Load() >= sent+250 })
			if n := written() - at; n != 0 {
				t.Fatalf("%d packets written for the removed subscriber after RemovePeer returned", n)
			}
			if rig.sub.out.directSent.Load() > direct+2 {
				t.Fatalf("%d packets on the direct path after the removal", rig.sub.out.directSent.Load()-direct)
			}
		})
	}
}

// TestReviewDirectPathFlapsKeepEveryPacket: the direct target is dropped
// and restored (followICE) every few milliseconds, as an ICE flap or a
// hostile client's restarts would have it, while pion's state and pair
// are read all the while: the subscriber's packets switch between the
// direct path and pion's path hundreds of times, and every one of them
// arrives intact at a client with SRTP replay protection on. Run with
// -race: the refreshes, the writes and the flips race with each other.
// (That the two paths share one rollover counter across a wrap is
// TestReviewFallBackAcrossTheWrapKeepsOneRolloverCounter's.)
func TestReviewDirectPathFlapsKeepEveryPacket(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rig := newDirectRig(t, ctx, Config{}, func(se *webrtc.SettingEngine) {
		se.DisableSRTPReplayProtection(false)
	}, nil)
	rig.onDirectPath(t, ctx)
	o := rig.sub.out

	got0, sent0, direct0 := rig.got.Load(), rig.sent.Load(), o.directSent.Load()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // pion's callbacks' reads, as often as they could come
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			_ = rig.s.directTarget(rig.sub.pc)
			time.Sleep(100 * time.Microsecond)
		}
	}()
	flips := 0
	go func() { // the fall back and the return, as ICE's callbacks make them
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(7 * time.Millisecond):
			}
			if flips%2 == 0 {
				o.direct.Store(nil)
			} else {
				rig.sub.followICE()
			}
			flips++
		}
	}()
	await(t, ctx, "1000 packets through the flips", func() bool { return rig.sent.Load() >= sent0+1000 })
	close(stop)
	wg.Wait()
	rig.sub.followICE()
	if o.direct.Load() == nil {
		t.Fatal("followICE did not restore the direct path")
	}
	sent := rig.sent.Load() - sent0
	// Everything sent by then arrives: wait for the stragglers.
	await(t, ctx, "every packet at the subscriber", func() bool { return rig.got.Load()-got0 >= sent-5 })
	if bad := rig.bad.Load(); bad > 0 {
		t.Fatalf("%d packets carried another's payload", bad)
	}
	direct := o.directSent.Load() - direct0
	if flips < 20 || direct == 0 || direct >= uint64(sent) {
		t.Fatalf("%d flips, %d of %d packets direct: the paths did not alternate", flips, direct, sent)
	}
	t.Logf("%d flips; %d packets, %d of them direct, the rest pion's path", flips, sent, direct)
	rig.more(t, ctx, 100)
}

// replayDecrypter decrypts as a subscriber does, replay protection on,
// and checks each packet carries its own sequence number at its end.
type replayDecrypter struct {
	ctx          *srtp.Context
	hdr          rtp.Header
	plain        []byte
	got, failed  int
	wrong        int
	lastSeq      uint16
	lastSeqValid bool
}

func (d *replayDecrypter) Write(b []byte) (int, error) {
	plain, err := d.ctx.DecryptRTP(d.plain[:0], b, &d.hdr)
	if err != nil {
		d.failed++
		return len(b), nil
	}
	d.plain = plain
	if len(plain) < 2 || binary.BigEndian.Uint16(plain[len(plain)-2:]) != d.hdr.SequenceNumber-d.seqDelta() {
		d.wrong++
	}
	d.got++
	return len(b), nil
}

// seqDelta: the payload carries the publisher's number; the subscriber's
// is shifted by the DownTrack's constant offset, learnt from the first.
func (d *replayDecrypter) seqDelta() uint16 {
	if !d.lastSeqValid {
		d.lastSeq, d.lastSeqValid = d.hdr.SequenceNumber-binary.BigEndian.Uint16(d.plain[len(d.plain)-2:]), true
	}
	return d.lastSeq
}

// TestReviewFallBackAcrossTheWrapKeepsOneRolloverCounter: a subscriber's
// packets take the direct path, then fall back to pion's path (ICE down,
// or a TCP pair) for long enough that the sequence number wraps while
// the direct path sees none, then return to the direct path. Every
// packet decrypts at a receiver with replay protection, under the
// rollover counter that the receiver's own tracking gives it. With a
// context per path, the direct path's, last used about 35,000 packets
// before the wrap, would take the packets after it for the old rollover
// counter (a gap under 2^15 backwards): their indices reused, under the
// same key, with other payloads (a GCM nonce reused), and the receiver
// refuses them; the control subtest makes exactly that (a context per
// path, swapped in as the path changes) and checks the receiver does. One
// context (srtpOut.ctx, under srtpOut.mu, for both) keeps one index
// space.
func TestReviewFallBackAcrossTheWrapKeepsOneRolloverCounter(t *testing.T) {
	t.Run("one-context", func(t *testing.T) {
		total, got, failed, wrong := fallBackAcrossTheWrap(t, false)
		if failed > 0 || wrong > 0 || got != total {
			t.Fatalf("%d packets decrypted of %d (%d failed, %d with another's payload)", got, total, failed, wrong)
		}
	})
	t.Run("control-a-context-per-path", func(t *testing.T) {
		total, got, failed, _ := fallBackAcrossTheWrap(t, true)
		if failed == 0 {
			t.Fatalf("a context per path: all %d of %d packets decrypted; the test cannot tell", got, total)
		}
		t.Logf("a context per path: %d of %d packets refused by the receiver", failed, total)
	})
}

// fallBackAcrossTheWrap runs the test above; perPath gives each path a
// context of its own (the same keys), as a broken design would.
func fallBackAcrossTheWrap(t *testing.T, perPath bool) (total, got, failed, wrong int) {
	t.Helper()
	up, l := benchUpTrack()
	b := newBatcher(SendAuto, quietLog())
	up.owner.router.sfu.batch = b
	recv := listen(t, "udp4")
	c, ok := b.wrap(listen(t, "udp4")).(*batchConn)
	if !ok {
		t.Fatal("socket not wrapped")
	}
	rctx, err := srtp.CreateContext(make([]byte, 16), make([]byte, 12), srtp.ProtectionProfileAeadAes128Gcm)
	if err != nil {
		t.Fatal(err)
	}
	dec := &replayDecrypter{ctx: rctx, plain: make([]byte, 0, 2048)}
	d := attachOwn(t, up, 0, dec) // pion's path writes here
	o := d.binding.Load().out
	tg := &directTarget{c: c, dst: addrOf(recv)}
	pionCtx := o.ctx
	directCtx := o.ctx
	if perPath {
		directCtx = newTestOut(t, nil).ctx
	}

	raw := benchPacket(100)
	buf := make([]byte, 2048)
	send := func(i int, direct bool) {
		o.mu.Lock()
		if direct {
			o.direct.Store(tg)
			o.ctx = directCtx
		} else {
			o.direct.Store(nil)
			o.ctx = pionCtx
		}
		o.mu.Unlock()
		seq := uint16(i)
		binary.BigEndian.PutUint16(raw[2:], seq)
		binary.BigEndian.PutUint32(raw[4:], uint32(i)*3000)
		binary.BigEndian.PutUint16(raw[len(raw)-2:], seq)
		raw[1] |= 0x80
		before := o.directSent.Load()
		up.route(l, raw, int64(i)*1000)
		if o.directSent.Load() == before {
			return
		}
		_ = recv.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := recv.Read(buf)
		if err != nil {
			t.Fatalf("packet %d sent on the direct path did not arrive: %v", i, err)
		}
		_, _ = dec.Write(buf[:n])
	}
	send(0, true)
	if dec.got != 1 {
		t.Fatalf("the first packet did not arrive and decrypt (%d failed)", dec.failed)
	}
	// The subscriber's numbers wrap after this many more packets.
	wrap := 65536 - int(d.lastSeq)
	back := wrap - 35000
	if back < 1 {
		back += 65536
		wrap += 65536
	}
	const after = 5000
	total = wrap + 2*after
	for i := 1; i < total; i++ {
		send(i, i < back || i >= wrap+after)
	}
	if want := uint64(back + after); o.directSent.Load() != want {
		t.Fatalf("%d packets on the direct path, want %d", o.directSent.Load(), want)
	}
	return total, dec.got, dec.failed, dec.wrong
}
