package e2ee

import (
	"bytes"
	"fmt"
	"slices"
	"time"
)

// A group that outlives its delivery service. When the node that relayed
// for a meeting dies (or a single server restarts) while the members'
// pages stay open, the members still hold the group: the same secrets, the
// same epoch. The delivery service that takes the meeting over has none of
// it, and needs none: it learns the group's epoch and who continues it
// from the members who come back (Resume), and the group goes on. What it
// learns is the members' word, checked as far as a server can: each
// member proves its epoch with an exporter value of that epoch (the resume
// proof, MLS-Exporter("kaigi resume proof", "", 32)) that every member of
// the epoch shares and nobody outside it can make. The server cannot
// check a proof, but a member whose proof differs from the others' at the
// same epoch is not in their group, so it is added anew. Whatever the
// server does with this, each member's client still accepts only commits
// that verify in its own group, and a Welcome only from a device of that
// group.

// Resume proofs are this long; MaxResumeRemove bounds a removal made unasked
// in a resumed group, whose leaves the server does not all know.
const (
	ResumeProofSize = 32
	MaxResumeRemove = 1000
	// ClaimWait is how long a group that was lost waits, from Expect, for
	// its members' claims before anyone creates a fresh one: a joiner, or
	// a member whose page reloaded, who comes back first must not start
	// the group over while those who hold it are still reconnecting.
	ClaimWait = 10 * time.Second
)

// Expect says that ps were in the meeting when its group was lost (the
// room was restored with them): until each has come back (Resume) or
// left, for at most ClaimWait, nobody creates a fresh group, and those of
// them who come back without a claim are added anew, replacing any leaf
// they hold, once someone continues the group.
func (g *Group) Expect(ps []Participant) {
	if g.created || len(ps) == 0 {
		return
	}
	for _, p := range ps {
		g.expect[p] = true
		g.lost[p] = true
	}
	g.expectUntil = g.now().Add(ClaimWait)
}

// awaitingClaims reports whether a lost group's members may still claim it.
func (g *Group) awaitingClaims() bool {
	return !g.created && len(g.expect) > 0 && g.now().Before(g.expectUntil)
}

// Claim is what a returning member's client says of the group it holds:
// its epoch and the resume proof of that epoch.
type Claim struct {
	Epoch uint64
	Proof []byte
}

// Resume is a participant who was in the meeting before this server took
// it over (the meeting was placed here after its node died, or the server
// restarted) coming back, with the KeyPackage of its hello. With a claim
// it says it holds the group; without one (its page reloaded) it holds
// nothing, and any leaf it had stays to be replaced.
//
// The first claim starts the group here at the claimed epoch, with the
// claimant as its only known member. A later claim of the same epoch and
// proof adds its claimant as a member (if the group moved on here since,
// the claimant catches up with Since). Before any commit here, a claim of
// a higher epoch replaces the group: those who claimed a lower one missed
// a commit and cannot catch up, so they are added anew. Anyone else (a
// lower epoch, another proof, a group that moved on, no claim) is added
// anew by a member: removed (by the participant its leaf claims, as the
// server does not know its leaf) and added again with kp in one commit.
// continued reports whether p goes on as a member.
func (g *Group) Resume(p Participant, c *Claim, kp []byte) (continued bool, err error) {
	if len(kp) == 0 || len(kp) > MaxKeyPackage {
		return false, fmt.Errorf("%w: key package of %d bytes", ErrBadMessage, len(kp))
	}
	if c != nil && len(c.Proof) != ResumeProofSize {
		return false, fmt.Errorf("%w: resume proof of %d bytes", ErrBadMessage, len(c.Proof))
	}
	delete(g.expect, p)
	if g.IsMember(p) {
		return !g.leaving(p), nil // already back
	}
	switch {
	case c == nil && !g.resumed:
		// Nothing to continue, and no leaf of p's that the group here
		// holds: a joiner (added anew if someone continues the group).
		return false, g.Admitted(p, kp, "")
	case c == nil:
		g.rejoin(p, kp)
		return false, nil
	case !g.created || (g.resumed && g.epoch == g.resumeEpoch && c.Epoch > g.epoch):
		g.start(p, c, kp)
		return true, nil
	case g.resumed && c.Epoch == g.resumeEpoch && bytes.Equal(c.Proof, g.proof):
		g.unwait(p)
		g.members = append(g.members, p)
		g.claimed[p] = slices.Clone(kp)
		return true, nil
	default:
		g.rejoin(p, kp)
		return false, nil
	}
}

// start continues the group at c's epoch with p as its one known member;
// those who continued a lower epoch are to be added anew.
func (g *Group) start(p Participant, c *Claim, kp []byte) {
	behind := slices.Clone(g.members)
	g.created, g.resumed = true, true
	g.epoch, g.resumeEpoch, g.proof = c.Epoch, c.Epoch, slices.Clone(c.Proof)
	g.members = []Participant{p}
	g.unwait(p)
	g.job = nil
	g.history = nil
	g.leaf = map[Participant][]byte{}
	claimed := g.claimed
	g.claimed = map[Participant][]byte{p: slices.Clone(kp)}
	for _, q := range behind {
		if claimed[q] != nil { // else it left: members remove its leaf on their own
			g.rejoin(q, claimed[q])
		}
	}
	for _, q := range slices.Clone(g.wantIn) {
		if g.lost[q] && g.pending[q] != nil {
			g.rejoin(q, g.pending[q]) // back before us without a claim: any leaf it holds goes
		}
	}
	g.expect, g.lost = map[Participant]bool{}, map[Participant]bool{}
}

// unwait forgets that p was to be added (it continues the group instead);
// an outstanding job that adds p is over (its commit would list p twice),
// and NextJob hands out what is still due.
func (g *Group) unwait(p Participant) {
	if g.job != nil && slices.ContainsFunc(g.job.Add, func(m Member) bool { return m.ID == p }) {
		g.job = nil
	}
	g.wantIn = slices.DeleteFunc(g.wantIn, func(x Participant) bool { return x == p })
	g.wantOut = slices.DeleteFunc(g.wantOut, func(m Member) bool { return m.ID == p })
	delete(g.pending, p)
	delete(g.rejoining, p)
	delete(g.admittedBy, p)
}

// rejoin has p's leaf, if the group holds one, replaced by a fresh one
// from kp: one commit removes the leaf that claims p and adds p again.
func (g *Group) rejoin(p Participant, kp []byte) {
	g.members = slices.DeleteFunc(g.members, func(x Participant) bool { return x == p })
	delete(g.claimed, p)
	g.pending[p] = slices.Clone(kp)
	g.rejoining[p] = true
	if !g.leaving(p) {
		g.wantOut = append(g.wantOut, Member{ID: p, KeyPackage: g.leaf[p]})
	}
	delete(g.leaf, p)
	if !slices.Contains(g.wantIn, p) {
		g.wantIn = append(g.wantIn, p)
	}
	delete(g.admittedBy, p)
	if g.job != nil && g.job.Committer == p {
		g.job = nil
	}
}

// Continues reports whether p is a member whose leaf is not to be replaced.
func (g *Group) Continues(p Participant) bool { return g.IsMember(p) && !g.leaving(p) }

// Rejoining reports whether p is to be added anew, replacing any leaf it holds.
func (g *Group) Rejoining(p Participant) bool { return g.rejoining[p] }

// ResumedAt is the epoch the group was resumed at here (0 if it was not).
func (g *Group) ResumedAt() uint64 { return g.resumeEpoch }

// Resumed reports whether the group here continues one formed elsewhere.
func (g *Group) Resumed() bool { return g.resumed }
