package sfu

import "testing"

// TestReview2ResendTableTellsTheNumbersNextUse: review (Rev2) of b8c8ee5.
// A packet whose sequence number was used 65536 packets earlier by a
// packet that was sent again maxResends times is another packet: it gets
// its own maxResends. TestResendTableCounts asks this only after one
// resend of the earlier packet, so it passes with the timestamp's bits
// left out of the entry; this one exhausts the earlier packet first.
func TestReview2ResendTableTellsTheNumbersNextUse(t *testing.T) {
	var tab resendTable
	const ts = 0x12345678
	for range 2 * maxResends {
		tab.allow(1000, ts)
	}
	if tab.allow(1000, ts) {
		t.Fatal("a packet was let through more than maxResends times")
	}
	// 65536 packets later at 50 packets a second: 22 minutes of 90 kHz
	// clock, bits 16–21 of the timestamp differ.
	later := uint32(ts + 65536*1800)
	n := 0
	for range 2 * maxResends {
		if tab.allow(1000, later) {
			n++
		}
	}
	if n != maxResends {
		t.Fatalf("the number's next use was let through %d times, want %d (counted as the earlier packet)", n, maxResends)
	}
}
