// Package sfu forwards media between the participants of a meeting.
//
// Each meeting has a Router; each participant has one Peer, a single
// WebRTC PeerConnection that carries everything the participant sends and
// receives. A track a participant publishes (an UpTrack) is forwarded to
// every other participant through a DownTrack per subscriber.
//
// The package is payload-agnostic: it reads RTP headers, never media
// payloads, which in Kaigi are end-to-end encrypted. It knows nothing of
// accounts, meetings' rules or HTTP; the signalling layer tells it who is in
// which meeting and carries its SDP and ICE messages through the Signaller
// interface.
package sfu
