// Package client is a Go participant in a Kaigi meeting: it speaks the
// signalling protocol of docs/protocol.md over a WebSocket and sends and
// receives media with pion/webrtc.
//
// The integration tests use it to join meetings as real clients would, and
// the load generator uses it to measure the SFU. It publishes whatever RTP
// the caller writes (see Pump for synthetic media) and counts what it
// receives without decoding it.
package client
