package e2ee

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"
)

func proof(s string) []byte { return bytes.Repeat([]byte(s[:1]), ResumeProofSize) }

func claim(epoch uint64, p string) *Claim { return &Claim{Epoch: epoch, Proof: proof(p)} }

func resume(t *testing.T, g *Group, p Participant, c *Claim) bool {
	t.Helper()
	ok, err := g.Resume(p, c, kp(p))
	if err != nil {
		t.Fatalf("resume %s: %v", p, err)
	}
	return ok
}

// Members come back to a delivery service that never saw their group: it
// continues at the epoch they prove, with nothing to do until something
// changes, and the next commit is on that epoch.
func TestResumeContinuesTheGroup(t *testing.T) {
	g, _ := newTestGroup()
	if !resume(t, g, "ada", claim(5, "p")) || !resume(t, g, "bob", claim(5, "p")) {
		t.Fatal("members at the same epoch with the same proof do not continue")
	}
	if g.Epoch() != 5 || !slices.Equal(g.Members(), []Participant{"ada", "bob"}) || !g.Continues("bob") {
		t.Fatalf("epoch %d members %v, want 5 [ada bob]", g.Epoch(), g.Members())
	}
	if j := g.NextJob(nil); j != nil {
		t.Fatalf("job %+v after a resume that changed nothing (a create would start the group over)", j)
	}
	c, err := g.CommitInitiative("bob", 5, Initiative{Reason: ReasonUpdate}, []byte("update"), nil, nil)
	if err != nil || c.Epoch != 6 || !slices.Equal(c.To, []Participant{"ada"}) {
		t.Fatalf("update after the resume: %+v, %v", c, err)
	}
	// A new joiner is added by a member's commit, as ever.
	admit(t, g, "cy")
	j := g.NextJob(nil)
	if j == nil || j.Create || j.Committer != "ada" || j.Epoch != 6 || len(j.Add) != 1 || j.Add[0].ID != "cy" {
		t.Fatalf("job for a joiner = %+v, want ada to add cy on epoch 6", j)
	}
	if c := commitJob(t, g, j); !slices.Equal(c.Welcomed, []Participant{"cy"}) {
		t.Fatalf("welcomed %v", c.Welcomed)
	}
}

// Members who never come back hold leaves the server never saw: a member
// removes them unasked once they are out of the meeting, and only then.
func TestResumeMembersWhoDidNotComeBackAreRemoved(t *testing.T) {
	g, _ := newTestGroup()
	resume(t, g, "ada", claim(5, "p"))
	resume(t, g, "bob", claim(5, "p"))
	present := map[Participant]bool{"ada": true, "bob": true, "cy": true}
	in := func(p Participant) bool { return present[p] }
	if _, err := g.CommitInitiative("ada", 5, Initiative{Reason: ReasonRemove, Remove: []Participant{"cy"}}, []byte("rm"), nil, in); !errors.Is(err, ErrStillPresent) {
		t.Fatalf("removing cy while in the meeting (reconnecting): %v, want ErrStillPresent", err)
	}
	if _, err := g.CommitInitiative("ada", 5, Initiative{Reason: ReasonRemove, Remove: []Participant{"bob"}}, []byte("rm"), nil, in); !errors.Is(err, ErrStillPresent) {
		t.Fatalf("removing bob: %v, want ErrStillPresent", err)
	}
	delete(present, "cy") // cy's resume grace ran out
	c, err := g.CommitInitiative("ada", 5, Initiative{Reason: ReasonRemove, Remove: []Participant{"cy"}}, []byte("rm"), nil, in)
	if err != nil || c.Epoch != 6 || !slices.Equal(c.Removed, []Participant{"cy"}) || !slices.Equal(c.To, []Participant{"bob"}) {
		t.Fatalf("removal of cy: %+v, %v", c, err)
	}
	// A group formed here knows every leaf: no such removal.
	h, _ := newTestGroup()
	admit(t, h, "ada", "bob")
	h.NextJob(nil) // ada creates
	commitJob(t, h, h.NextJob(nil))
	if _, err := h.CommitInitiative("ada", h.Epoch(), Initiative{Reason: ReasonRemove, Remove: []Participant{"cy"}}, []byte("rm"), nil, in); !errors.Is(err, ErrNotMember) {
		t.Fatalf("removing a non-member from a group formed here: %v, want ErrNotMember", err)
	}
}

// A member that missed the last commit (the node died while relaying it)
// cannot catch up here, nor can one whose proof differs (another group):
// they are added anew, their old leaf removed in the same commit.
func TestResumeBehindOrOtherGroupIsAddedAnew(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    *Claim
	}{
		{"behind", claim(5, "o")},
		{"ahead of a group that moved on", claim(9, "x")},
		{"another proof", claim(6, "q")},
		{"no state", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, _ := newTestGroup()
			resume(t, g, "ada", claim(6, "p"))
			if tc.name == "ahead of a group that moved on" {
				if _, err := g.CommitInitiative("ada", 6, Initiative{Reason: ReasonUpdate}, []byte("u"), nil, nil); err != nil {
					t.Fatal(err)
				}
			}
			if resume(t, g, "bob", tc.c) || g.IsMember("bob") || !g.Rejoining("bob") {
				t.Fatal("bob continues")
			}
			if _, err := g.CommitInitiative("bob", g.Epoch(), Initiative{Reason: ReasonUpdate}, []byte("u"), nil, nil); !errors.Is(err, ErrNotMember) {
				t.Fatalf("bob commits: %v, want ErrNotMember", err)
			}
			if to, _ := g.Recipients("ada", "", []byte("m")); len(to) != 0 {
				t.Fatalf("application messages go to %v", to)
			}
			j := g.NextJob(nil)
			if j == nil || j.Committer != "ada" || j.Epoch != g.Epoch() || len(j.Remove) != 1 || j.Remove[0].ID != "bob" || len(j.Add) != 1 || string(j.Add[0].KeyPackage) != "kp-bob" {
				t.Fatalf("job = %+v, want ada to remove and add bob again", j)
			}
			c := commitJob(t, g, j)
			if !slices.Equal(c.Welcomed, []Participant{"bob"}) || !slices.Equal(c.Removed, []Participant{"bob"}) || !g.Continues("bob") || g.Rejoining("bob") {
				t.Fatalf("commit %+v; bob continues %v", c, g.Continues("bob"))
			}
		})
	}
}

// A member who got the last commit proves a higher epoch than the first
// back: until anything is committed here, the higher epoch wins and those
// at the lower one are added anew; after, the group here stands.
func TestResumeHighestEpochWinsUntilACommit(t *testing.T) {
	g, _ := newTestGroup()
	resume(t, g, "ada", claim(5, "o"))
	if j := g.NextJob(nil); j != nil {
		t.Fatalf("job %+v", j)
	}
	if !resume(t, g, "bob", claim(6, "p")) || g.Epoch() != 6 || !g.Continues("bob") || g.Continues("ada") || !g.Rejoining("ada") {
		t.Fatalf("after a higher claim: epoch %d, members %v", g.Epoch(), g.Members())
	}
	if _, err := g.CommitInitiative("ada", 5, Initiative{Reason: ReasonUpdate}, []byte("u"), nil, nil); !errors.Is(err, ErrNotMember) {
		t.Fatalf("ada commits on the lower epoch: %v", err)
	}
	j := g.NextJob(nil)
	if j == nil || j.Committer != "bob" || j.Epoch != 6 || len(j.Remove) != 1 || len(j.Add) != 1 || string(j.Add[0].KeyPackage) != "kp-ada" {
		t.Fatalf("job = %+v, want bob to add ada anew with the KeyPackage of her hello", j)
	}
	commitJob(t, g, j)
	if resume(t, g, "cy", claim(9, "z")) || g.Epoch() != 7 {
		t.Fatalf("a higher claim after a commit here replaced the group (epoch %d)", g.Epoch())
	}
}

// A member back late, at the epoch the group was resumed at, catches up
// with the commits made here since.
func TestResumeLateMemberCatchesUp(t *testing.T) {
	g, _ := newTestGroup()
	resume(t, g, "ada", claim(5, "p"))
	if _, err := g.CommitInitiative("ada", 5, Initiative{Reason: ReasonUpdate}, []byte("u"), nil, nil); err != nil {
		t.Fatal(err)
	}
	if !resume(t, g, "bob", claim(5, "p")) {
		t.Fatal("bob does not continue")
	}
	commits, ok := g.Since(5)
	if !ok || len(commits) != 1 || commits[0].Epoch != 6 || commits[0].From != "ada" {
		t.Fatalf("since 5: %+v %v", commits, ok)
	}
}

// A participant without state, back to a group formed here (not resumed),
// is an ordinary joiner: the group here has no leaf of theirs to replace.
func TestResumeWithoutStateIntoAFreshGroup(t *testing.T) {
	g, _ := newTestGroup()
	if resume(t, g, "ada", nil) {
		t.Fatal("continued without a claim")
	}
	if j := g.NextJob(nil); j == nil || !j.Create || j.Committer != "ada" {
		t.Fatalf("job %+v, want ada to create", j)
	}
	resume(t, g, "bob", nil)
	j := g.NextJob(nil)
	if j == nil || len(j.Remove) != 0 || len(j.Add) != 1 || j.Add[0].ID != "bob" {
		t.Fatalf("job %+v, want a plain add of bob", j)
	}
	// A claim to a group formed here: the claimant's group is another.
	if resume(t, g, "cy", claim(0, "p")) || !g.Rejoining("cy") {
		t.Fatal("a claim continued a group formed here")
	}
}

func TestResumeRefusesBadInput(t *testing.T) {
	g, _ := newTestGroup()
	for _, tc := range []struct {
		c  *Claim
		kp []byte
	}{
		{&Claim{Epoch: 1, Proof: make([]byte, ResumeProofSize-1)}, kp("a")},
		{&Claim{Epoch: 1, Proof: make([]byte, ResumeProofSize+1)}, kp("a")},
		{claim(1, "p"), nil},
		{claim(1, "p"), make([]byte, MaxKeyPackage+1)},
	} {
		if _, err := g.Resume("ada", tc.c, tc.kp); !errors.Is(err, ErrBadMessage) {
			t.Fatalf("resume %+v with %d bytes of key package: %v", tc.c, len(tc.kp), err)
		}
	}
	if g.IsMember("ada") || g.Epoch() != 0 {
		t.Fatal("a refused claim changed the group")
	}
}

// When everyone of a resumed group is gone, the group here is forgotten,
// resume and all: the next one starts afresh.
func TestResumedGroupForgottenWhenEveryoneLeft(t *testing.T) {
	g, _ := newTestGroup()
	resume(t, g, "ada", claim(5, "p"))
	g.Left("ada")
	admit(t, g, "bob")
	if j := g.NextJob(nil); j == nil || !j.Create || g.Epoch() != 0 {
		t.Fatalf("job %+v at epoch %d, want bob to create a fresh group", j, g.Epoch())
	}
	if _, err := g.CommitInitiative("bob", 0, Initiative{Reason: ReasonRemove, Remove: []Participant{"zed"}}, []byte("rm"), nil, func(Participant) bool { return false }); !errors.Is(err, ErrNotMember) {
		t.Fatalf("the fresh group still takes removals of unknown leaves: %v", err)
	}
}

// A member who continued and then left is not added anew when a higher
// claim replaces the group (it has no KeyPackage here, nor a place in the
// meeting); one who comes back with a matching claim after being marked
// to be added anew simply continues.
func TestResumeLeftOrBackAgain(t *testing.T) {
	g, _ := newTestGroup()
	resume(t, g, "dan", claim(0, "p"))
	g.Left("dan")
	resume(t, g, "ada", claim(1, "q"))
	if g.Rejoining("dan") || slices.Contains(g.wantIn, "dan") {
		t.Fatal("dan, who left, is to be added anew")
	}
	resume(t, g, "bob", nil)
	if !resume(t, g, "bob", claim(1, "q")) || !g.Continues("bob") || g.Rejoining("bob") {
		t.Fatal("bob, back with a matching claim, does not simply continue")
	}
	for j := g.NextJob(nil); j != nil; j = g.NextJob(nil) {
		if slices.ContainsFunc(j.Add, func(m Member) bool { return m.ID == "bob" || m.ID == "dan" }) {
			t.Fatalf("job %+v adds bob or dan", j)
		}
		commitJob(t, g, j)
	}
}

// A group that was lost waits for those who hold it: a joiner, or a member
// whose page reloaded, who comes back first does not start it over; once
// someone continues it, the reloaded member's leaf is replaced and the
// joiner added.
func TestResumeWaitsForClaims(t *testing.T) {
	g, _ := newTestGroup()
	g.Expect([]Participant{"ada", "bob", "cy"})
	admit(t, g, "dan")
	if _, err := g.Resume("cy", nil, kp("cy")); err != nil {
		t.Fatal(err)
	}
	if j := g.NextJob(nil); j != nil {
		t.Fatalf("job %+v while ada and bob, who hold the group, may still come back", j)
	}
	if until, ok := g.Deadline(); !ok || !until.Equal(g.now().Add(ClaimWait)) {
		t.Fatalf("deadline %v %v, want the end of the wait for claims", until, ok)
	}
	if !resume(t, g, "ada", claim(5, "p")) || g.Epoch() != 5 || !g.Rejoining("cy") {
		t.Fatalf("ada's claim: epoch %d, cy rejoining %v", g.Epoch(), g.Rejoining("cy"))
	}
	j := g.NextJob(nil)
	if j == nil || j.Create || j.Committer != "ada" || len(j.Remove) != 1 || j.Remove[0].ID != "cy" || len(j.Add) != 1 || j.Add[0].ID != "cy" {
		t.Fatalf("job %+v, want ada to replace cy's leaf", j)
	}
	commitJob(t, g, j)
	j = g.NextJob(nil)
	if j == nil || j.Epoch != 6 || len(j.Add) != 1 || j.Add[0].ID != "dan" || len(j.Remove) != 0 {
		t.Fatalf("job %+v, want ada to add dan on epoch 6", j)
	}
}

// The wait ends when everyone expected is back or gone, or after ClaimWait.
func TestResumeWaitEnds(t *testing.T) {
	t.Run("everyone back without state", func(t *testing.T) {
		g, _ := newTestGroup()
		g.Expect([]Participant{"ada", "bob"})
		admit(t, g, "ada")
		if j := g.NextJob(nil); j != nil {
			t.Fatalf("job %+v while bob may come back", j)
		}
		g.Left("bob")
		if j := g.NextJob(nil); j == nil || !j.Create || j.Committer != "ada" {
			t.Fatalf("job %+v, want ada to create once nobody else may claim", j)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		g, c := newTestGroup()
		g.Expect([]Participant{"ada"})
		admit(t, g, "dan")
		c.t = c.t.Add(ClaimWait - time.Millisecond)
		if j := g.NextJob(nil); j != nil {
			t.Fatalf("job %+v before the wait ended", j)
		}
		c.t = c.t.Add(time.Millisecond)
		if j := g.NextJob(nil); j == nil || !j.Create || j.Committer != "dan" {
			t.Fatalf("job %+v, want dan to create after the wait", j)
		}
		if _, ok := g.Deadline(); ok {
			t.Fatal("still a deadline with nothing outstanding")
		}
		if resume(t, g, "ada", claim(5, "p")) || !g.Rejoining("ada") {
			t.Fatal("a claim continued a group formed here after the wait")
		}
	})
}
