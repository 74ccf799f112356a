// Package signal speaks Kaigi's signalling protocol (docs/protocol.md):
// versioned JSON messages over one WebSocket per participant.
//
// It accepts the sockets, runs hello (rate limits, checks, refusals),
// decodes and bounds what clients send, and hands each socket to the
// meeting it joins as a live.Conn: the live meeting itself (internal/live)
// admits it, creates its peer in the meeting's SFU router, broadcasts
// roster changes and keeps a lost participant's place for resume. The
// socket carries SDP and ICE between the client and its peer, and turns
// the reason a room ends it for into a WebSocket close code.
//
// A socket costs the server, for the whole call, one goroutine (its
// reader, which owns the join state), the WebSocket's 1 KiB read and
// write buffers (upgrade.go) and its session. Its writer is a goroutine
// started when a message is queued with none running, which returns
// once the outbox is empty (outbox.go), and its keepalive a timer whose
// goroutine lives only while a ping is out: after joining, a participant
// receives a message now and then, and a server holds thousands of them.
package signal
