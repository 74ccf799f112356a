// Package e2ee is the server side of Kaigi's end-to-end encryption: the MLS
// delivery service of one meeting. It keeps each participant's KeyPackage,
// decides which member's client commits the next change (adding admitted
// people, removing departed ones), accepts the commits members make
// unasked (key updates, and removals of departed members that the server
// might otherwise never ask for), enforces one accepted Commit per epoch,
// and says who must receive each Commit, Welcome and application message.
//
// Commits, Welcomes and application messages are opaque bytes with an
// envelope (epoch, sender, kind) that is all the server needs, and all it
// can learn. The one MLS structure it reads is a joiner's KeyPackage, which
// it checks at the boundary (CheckKeyPackage: size, version, cipher suite,
// a full parse, signatures) so that a bad one is refused at once. It
// cannot add anyone to a group: only a member's client can commit an Add,
// and every client shows the group's members.
//
// A Group is not safe for concurrent use; the signalling room serialises
// calls, as it does for the meeting core.
package e2ee
