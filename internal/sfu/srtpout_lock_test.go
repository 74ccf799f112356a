package sfu

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/pion/rtcp"
)

// TestOwnSRTPWriteDoesNotWaitForPionsLock: srtpOut.write must not
// wait for pion's DTLSTransport.lock while the UpTrack's fan-out lock is
// held. pion holds that lock (write) in DTLSTransport.Stop (pc.Close, also
// started by pion itself on a DTLS close_notify) while it closes the SRTCP
// session and waits for its read loop to end; that loop hands the
// subscriber's NACKs to DownTrack.retransmit (rtcpsink.go), which takes
// the fan-out lock. A forward that is in srtpOut.write when Stop takes the
// lock (its binding loaded before pion unbound the track) then closes the
// cycle: forward waits for Stop, Stop for the read loop, the read loop for
// forward — the publisher's track is stuck for every subscriber.
//
// Here the test holds the lock as Stop would, forwards one packet, and
// checks that the subscriber's NACK is still handled.
func TestOwnSRTPWriteDoesNotWaitForPionsLock(t *testing.T) {
	up, l := benchUpTrack()
	d := attachOwn(t, up, 0, &discardConn{closed: make(chan struct{})})
	o := d.binding.Load().out
	raw := benchPacket(200)
	for i := 0; i < 10; i++ {
		binary.BigEndian.PutUint16(raw[2:], uint16(i))
		binary.BigEndian.PutUint32(raw[4:], uint32(i)*3000)
		raw[1] |= 0x80
		up.route(l, raw, int64(i)*1000)
	}

	o.dtLock.Lock() // pion's DTLSTransport.Stop
	released := false
	release := func() {
		if !released {
			released = true
			o.dtLock.Unlock()
		}
	}
	defer release()

	routed := make(chan struct{})
	go func() {
		defer close(routed)
		binary.BigEndian.PutUint16(raw[2:], 10)
		binary.BigEndian.PutUint32(raw[4:], 10*3000)
		up.route(l, raw, 10*1000)
	}()

	// Wait until the forward holds the fan-out lock (or is done).
	deadline := time.Now().Add(3 * time.Second)
	for {
		select {
		case <-routed:
		default:
			if !up.fanout.TryLock() {
				break
			}
			up.fanout.Unlock()
			if time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
				continue
			}
		}
		break
	}

	handled := make(chan struct{})
	go func() { // the SRTCP read loop: a NACK for a packet sent
		defer close(handled)
		d.retransmit(&rtcp.TransportLayerNack{Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{5})})
	}()

	select {
	case <-handled:
	case <-time.After(3 * time.Second):
		release() // let both goroutines finish
		<-routed
		<-handled
		t.Fatal("the subscriber's NACK waited for pion's DTLSTransport lock (held by forward under the fan-out lock): " +
			"with DTLSTransport.Stop waiting for the SRTCP read loop, a deadlock")
	}
	release()
	<-routed
}
