// Package meeting is the core of Kaigi: meetings, their participants, roles
// and the rules that decide who may join and what they may do.
//
// It is pure Go on purpose: no network, database or WebRTC code lives here,
// so every rule is a plain function or method that a table-driven test can
// exercise. Adapters (signalling, the SFU, storage) call into this package;
// it never calls out.
//
// A Meeting is not safe for concurrent use: its owner (the signalling room)
// serialises calls, which also keeps the order of state changes and the
// order of the events it broadcasts the same.
package meeting
