// Package sfu forwards media between the participants of a meeting.
//
// Each meeting has a Router; each participant has one Peer, a single
// WebRTC PeerConnection that carries everything the participant sends and
// receives. A track a participant publishes (an UpTrack) is forwarded to
// every other participant through a DownTrack per subscriber. A meeting
// with participants on several nodes of a cluster has a Router on each,
// and each relays the tracks its own participants publish to the others,
// once per node pair and track (relay.go).
//
// The package is payload-agnostic: it reads RTP headers, never media
// payloads, which in Kaigi are end-to-end encrypted. It knows nothing of
// accounts, meetings' rules or HTTP; the signalling layer tells it who is in
// which meeting and carries its SDP and ICE messages through the Signaller
// interface.
package sfu
