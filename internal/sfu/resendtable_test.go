package sfu

import (
	"testing"
	"unsafe"
)

// TestResendTableCounts checks the packed resend counts: a packet is let
// through maxResends times; the entry is its own for another sequence
// number of the same index, and for the same number with a timestamp
// from another step (the number's next use, 65536 packets later).
func TestResendTableCounts(t *testing.T) {
	var tab resendTable
	allowed := func(seq uint16, ts uint32, times int) int {
		n := 0
		for range times {
			if tab.allow(seq, ts) {
				n++
			}
		}
		return n
	}
	const ts = 0x12345678
	if n := allowed(1000, ts, 20); n != maxResends {
		t.Fatalf("20 asks for one packet let %d through, want %d", n, maxResends)
	}
	// 1000+512 has the same index: a packet of its own, counted afresh.
	if n := allowed(1000+512, ts+3000, 20); n != maxResends {
		t.Fatalf("the next packet of the same index: %d let through, want %d", n, maxResends)
	}
	// Its count replaced 1000's: 1000 asked for again counts afresh too
	// (it is no longer in a cache that holds 512 packets).
	if n := allowed(1000, ts, 1); n != 1 {
		t.Fatalf("packet 1000 after its entry was taken: %d let through, want 1", n)
	}
	// The same number 65536 packets later (at 50 packets a second, 22
	// minutes of 90 kHz clock later) is another packet.
	later := uint32(ts + 65536*1800)
	if tab.allow(1000, later) != true {
		t.Fatal("the same number with a later timestamp was refused")
	}
	// Neighbours are untouched by all of it.
	if n := allowed(1001, ts, 20); n != maxResends {
		t.Fatalf("a neighbour: %d let through, want %d", n, maxResends)
	}
	if got := unsafe.Sizeof(tab); got != 1024 {
		t.Fatalf("resendTable is %d bytes, want 1024", got)
	}
}

// TestResendTableOnlyFewer checks that a packet mistaken for an older one
// of the same entry (same sequence number and timestamp step) is sent
// again fewer times, never more: the count goes on from the older one's.
func TestResendTableOnlyFewer(t *testing.T) {
	var tab resendTable
	for range 3 {
		tab.allow(7, 0x00010000)
	}
	n := 0
	for range 20 {
		if tab.allow(7, 0x00010000+1<<22) { // same bits 16–21
			n++
		}
	}
	if n != maxResends-3 {
		t.Fatalf("a packet taken for an older one was let through %d times, want %d", n, maxResends-3)
	}
}
