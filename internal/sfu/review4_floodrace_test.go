package sfu

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestReview4FloodCloseRacesReconnectAndClose: a flood close runs on a
// goroutine of its own (rtcpRoutes.closePeer), so it can meet, at any
// point, the participant's reconnect (RemovePeer then AddPeer under the
// same ID, as a room's resume does; rounds run them at once, the close
// late, or the close first) and then the router's Close (the
// meeting ends). Whatever the order: nothing deadlocks (-race clean),
// the flooding peer ends closed, the reconnect's peer stays the
// participant's and open, the owner is told at most once and never of
// the reconnect's peer, and a close racing Router.Close leaves the
// router empty.
func TestReview4FloodCloseRacesReconnectAndClose(t *testing.T) {
	s, err := New(Config{IncludeLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	await := func(i int, what string, fs ...func()) {
		t.Helper()
		var wg sync.WaitGroup
		for _, f := range fs {
			wg.Add(1)
			go func() { defer wg.Done(); f() }()
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: %s never finished (deadlock)", i, what)
		}
	}
	for i := range 30 {
		r := s.NewRouter(fmt.Sprint("m", i))
		flooded := watchFloods(r)
		old, err := r.AddPeer("eve", nopSignaller{})
		if err != nil {
			t.Fatal(err)
		}
		var now *Peer
		var addErr error
		closeOld := func() { r.closeFlooded(old) }
		reconnect := func() {
			r.RemovePeer("eve")
			now, addErr = r.AddPeer("eve", nopSignaller{})
		}
		switch i % 3 {
		case 0: // at once
			await(i, "a flood close racing a reconnect", closeOld, reconnect)
		case 1: // the close late, after the reconnect
			await(i, "a reconnect, then a flood close", func() { reconnect(); closeOld() })
		case 2: // the close first
			await(i, "a flood close, then a reconnect", func() { closeOld(); reconnect() })
		}
		if addErr != nil {
			t.Fatalf("round %d: the reconnect: %v", i, addErr)
		}
		if !peerClosed(old) {
			t.Fatalf("round %d: the flooding peer is open", i)
		}
		if p := routerPeer(r, "eve"); p != now || peerClosed(now) {
			t.Fatalf("round %d: eve's peer in the router is %p (closed %v), want the reconnect's %p, open", i, p, p != nil && peerClosed(p), now)
		}
		told := 0
	drain:
		for {
			select {
			case p := <-flooded:
				if p != old {
					t.Fatalf("round %d: told of %p, not the flooding peer", i, p)
				}
				told++
			default:
				break drain
			}
		}
		if told > 1 {
			t.Fatalf("round %d: told %d times", i, told)
		}

		await(i, "a flood close racing the router's Close",
			func() { r.closeFlooded(now) },
			r.Close)
		if !peerClosed(now) || routerPeer(r, "eve") != nil {
			t.Fatalf("round %d: after Close, eve's peer closed %v, in the router %v", i, peerClosed(now), routerPeer(r, "eve") != nil)
		}
		if _, err := r.AddPeer("eve", nopSignaller{}); err == nil {
			t.Fatalf("round %d: a closed router took a peer", i)
		}
	}
}
