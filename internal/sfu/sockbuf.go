package sfu

import (
	"log/slog"
	"net"
)

// singlePortBuffer is the send and receive buffer asked for the single
// UDP port's socket (webrtc.udp_port). That one socket takes every
// participant's packets (publishers' media, every subscriber's RTCP, ICE
// and DTLS), read by one goroutine of pion's UDP mux: with the kernel's
// default of about 208 KiB it filled whenever the server was kept off
// the CPU for a moment (a 1→200 load test on a busy machine dropped
// some 800 incoming packets a second there, joins' STUN and DTLS among
// them, batched or not), and it sends every subscriber's media.
const singlePortBuffer = 4 << 20

// growBuffers raises c's send and receive buffers to singlePortBuffer
// and logs what the kernel granted. Without the privilege to go past
// net.core.rmem_max and wmem_max (Linux) the kernel caps them there.
func growBuffers(c *net.UDPConn, log *slog.Logger) {
	rcv, snd, err := setBuffers(c, singlePortBuffer)
	if err != nil {
		log.Warn("sfu: the single UDP port's socket buffers could not be raised", "err", err)
		return
	}
	args := []any{"receive", rcv, "send", snd, "asked", singlePortBuffer}
	if rcv < singlePortBuffer {
		log.Warn("sfu: the single UDP port's receive buffer is smaller than asked; raise net.core.rmem_max (and wmem_max) or give kaigi CAP_NET_ADMIN, or a busy server drops packets there", args...)
		return
	}
	log.Info("sfu: the single UDP port's socket buffers", args...)
}
