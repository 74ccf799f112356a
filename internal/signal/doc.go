// Package signal speaks Kaigi's signalling protocol (docs/protocol.md):
// versioned JSON messages over one WebSocket per participant.
//
// It admits a socket into a meeting through the meeting core, creates the
// participant's peer in the meeting's SFU router, carries SDP and ICE
// between the two, broadcasts roster changes, and keeps a lost
// participant's place for a grace period so that a reconnecting client can
// resume.
package signal
