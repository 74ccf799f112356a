// Package loadtest drives a Kaigi server with synthetic participants and
// measures how well it forwards media: packets forwarded per second and per
// server CPU-second, loss per subscriber, one-way latency, join time and
// server memory per participant.
//
// Participants are internal/client clients: they speak Kaigi's own
// signalling protocol and WebRTC (pion), publish generated VP8-like video
// and Opus-like audio whose first packet of each frame carries its send
// time, and count what they receive by RTP sequence number without
// decoding anything. Subscribers that do not publish receive either as a
// browser does (pion's full receive chain, with NACKs and receiver
// reports: the default) or, with the light receiver, on shared sockets
// drained in batches by one reader that sleeps between them, decrypting
// and counting media without pion's chain and without NACKs
// (lightrecv.go), which costs the generator about half the CPU of the
// server it measures at 1→200 (BENCHMARKS.md). The server is either a
// child `kaigi serve` process the load test starts (optionally pinned to
// one CPU, with the generator on another) or an existing server given by
// URL. Server figures come from its /metrics endpoint (process CPU and
// RSS, forwarded packets and bytes).
//
// Memory per participant is the server's growth after a collection
// (/metrics?gc=1) from a fresh server's, divided by the participants: of
// the total RSS, and of the anonymous RSS alone
// (kaigi_resident_anonymous_memory_bytes, Linux), which leaves out the
// executable's file-backed pages that the first participants' media path
// makes resident once for all. Participants allocate no TURN relay, as the web client
// does unless a direct path fails; Config.Relays (--relays) has each
// allocate its relays at join, as browsers did before, to measure them.
//
// The soak scenario holds a meeting for a long time while people come and
// go, then everyone leaves and it checks that the server's goroutines,
// open files and sockets, and live heap (after a garbage collection,
// /metrics?gc=1) return to what they were before anyone joined.
//
// `kaigi loadtest` is the command line; BENCHMARKS.md holds the results.
package loadtest
