package e2ee

import (
	"errors"
	"slices"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func kp(p Participant) []byte { return []byte("kp-" + string(p)) }

func newTestGroup() (*Group, *clock) {
	c := &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	return NewGroup(c.now), c
}

func admit(t *testing.T, g *Group, ps ...Participant) {
	t.Helper()
	for _, p := range ps {
		if err := g.Admitted(p, kp(p), ""); err != nil {
			t.Fatal(err)
		}
	}
}

// commitJob has the job's committer commit it.
func commitJob(t *testing.T, g *Group, j *Job) Commit {
	t.Helper()
	var welcome []byte
	if len(j.Add) > 0 {
		welcome = []byte("welcome")
	}
	c, err := g.Commit(j.Committer, j.Epoch, []byte("commit"), welcome)
	if err != nil {
		t.Fatalf("commit of %+v: %v", j, err)
	}
	return c
}

func TestFirstCreatesThenOthersAreAddedByTheLongestPresent(t *testing.T) {
	g, _ := newTestGroup()
	admit(t, g, "ada")
	j := g.NextJob(nil)
	if j == nil || !j.Create || j.Committer != "ada" {
		t.Fatalf("first job = %+v, want ada to create", j)
	}
	if !g.IsMember("ada") || g.Epoch() != 0 {
		t.Fatal("the creator is not the group's member at epoch 0")
	}
	if g.NextJob(nil) != nil {
		t.Fatal("a job with nothing to do")
	}

	admit(t, g, "bob", "cy")
	j = g.NextJob(nil)
	if j == nil || j.Committer != "ada" || j.Epoch != 0 || len(j.Add) != 2 || string(j.Add[0].KeyPackage) != "kp-bob" {
		t.Fatalf("add job = %+v", j)
	}
	if g.NextJob(nil) != nil {
		t.Fatal("a second job while one is outstanding")
	}
	c := commitJob(t, g, j)
	if c.Epoch != 1 || !slices.Equal(c.Welcomed, []Participant{"bob", "cy"}) || len(c.To) != 0 {
		t.Fatalf("commit = %+v: the welcome goes to the added, the commit to nobody else", c)
	}
	if !slices.Equal(g.Members(), []Participant{"ada", "bob", "cy"}) {
		t.Fatalf("members = %v", g.Members())
	}

	// Ada leaves: Bob, now the longest present, removes her.
	g.Left("ada")
	j = g.NextJob(nil)
	if j == nil || j.Committer != "bob" || len(j.Remove) != 1 || j.Remove[0].ID != "ada" || string(j.Remove[0].KeyPackage) != "kp-ada" {
		t.Fatalf("remove job = %+v", j)
	}
	c = commitJob(t, g, j)
	if c.Epoch != 2 || !slices.Equal(c.To, []Participant{"cy"}) || len(c.Welcomed) != 0 {
		t.Fatalf("remove commit = %+v", c)
	}
}

func TestOneCommitPerEpoch(t *testing.T) {
	g, _ := newTestGroup()
	admit(t, g, "ada")
	g.NextJob(nil)
	admit(t, g, "bob")
	j := g.NextJob(nil)
	commitJob(t, g, j)
	admit(t, g, "cy")
	j = g.NextJob(nil)

	if _, err := g.Commit("bob", j.Epoch, []byte("c"), []byte("w")); !errors.Is(err, ErrNotCommitter) {
		t.Fatalf("commit by someone not asked = %v", err)
	}
	if _, err := g.Commit(j.Committer, j.Epoch-1, []byte("c"), []byte("w")); !errors.Is(err, ErrStaleEpoch) {
		t.Fatalf("commit on an old epoch = %v", err)
	}
	commitJob(t, g, j)
	// The same commit again (a retry, a replay) is stale.
	if _, err := g.Commit(j.Committer, j.Epoch, []byte("c"), []byte("w")); !errors.Is(err, ErrStaleEpoch) {
		t.Fatalf("second commit on one epoch = %v", err)
	}
	if _, err := g.Commit("mallory", g.Epoch(), []byte("c"), nil); !errors.Is(err, ErrNotMember) {
		t.Fatalf("commit by a non-member = %v", err)
	}
}

func TestBadCommitsRefused(t *testing.T) {
	g, _ := newTestGroup()
	admit(t, g, "ada")
	g.NextJob(nil)
	admit(t, g, "bob")
	j := g.NextJob(nil)
	for _, tt := range []struct {
		commit, welcome []byte
	}{
		{nil, []byte("w")},
		{make([]byte, MaxCommit+1), []byte("w")},
		{[]byte("c"), make([]byte, MaxWelcome+1)},
		{[]byte("c"), nil}, // adds need a welcome
	} {
		if _, err := g.Commit("ada", j.Epoch, tt.commit, tt.welcome); !errors.Is(err, ErrBadMessage) {
			t.Errorf("commit %d bytes, welcome %d bytes = %v", len(tt.commit), len(tt.welcome), err)
		}
	}
	if g.Epoch() != 0 || g.IsMember("bob") {
		t.Fatal("a refused commit changed the group")
	}
	if err := g.Admitted("eve", nil, ""); !errors.Is(err, ErrBadMessage) {
		t.Errorf("empty key package = %v", err)
	}
	if err := g.Admitted("eve", make([]byte, MaxKeyPackage+1), ""); !errors.Is(err, ErrBadMessage) {
		t.Errorf("huge key package = %v", err)
	}
}

// TestKeyPackageConsumption: a KeyPackage adds its participant once; being
// added again (after losing state) takes a fresh one, and removes the old
// leaf in the same commit.
func TestKeyPackageConsumption(t *testing.T) {
	g, _ := newTestGroup()
	admit(t, g, "ada")
	g.NextJob(nil)
	admit(t, g, "bob")
	commitJob(t, g, g.NextJob(nil))
	if _, ok := g.pending["bob"]; ok {
		t.Fatal("Bob's used KeyPackage is still available for another Add")
	}
	if err := g.Admitted("bob", []byte("kp-bob-2"), ""); err != nil {
		t.Fatal(err)
	}
	// One job removes the old leaf and adds the fresh KeyPackage: members
	// accept the removal of someone still in the meeting only with their
	// return.
	j := g.NextJob(nil)
	if j.Committer != "ada" || len(j.Remove) != 1 || j.Remove[0].ID != "bob" || string(j.Remove[0].KeyPackage) != "kp-bob" ||
		len(j.Add) != 1 || string(j.Add[0].KeyPackage) != "kp-bob-2" {
		t.Fatalf("rejoin job = %+v: remove the old leaf and add the fresh KeyPackage", j)
	}
	c := commitJob(t, g, j)
	if !slices.Equal(c.Welcomed, []Participant{"bob"}) || !slices.Equal(c.Removed, []Participant{"bob"}) || !slices.Equal(g.Members(), []Participant{"ada", "bob"}) {
		t.Fatalf("after rejoin: %+v, members %v", c, g.Members())
	}
	if g.NextJob(nil) != nil {
		t.Fatal("a job is still due after the rejoin")
	}
}

func TestJobReassignedWhenCommitterStallsOrLeaves(t *testing.T) {
	g, clk := newTestGroup()
	admit(t, g, "ada")
	g.NextJob(nil)
	admit(t, g, "bob")
	commitJob(t, g, g.NextJob(nil))
	admit(t, g, "cy")
	if j := g.NextJob(nil); j.Committer != "ada" {
		t.Fatalf("committer %s", j.Committer)
	}
	clk.t = clk.t.Add(CommitTimeout + time.Second)
	j := g.NextJob(nil)
	if j == nil || j.Committer != "bob" {
		t.Fatalf("after a timeout the job went to %+v, want bob", j)
	}
	g.Left("bob")
	j = g.NextJob(nil)
	if j == nil || j.Committer != "ada" || len(j.Remove) != 1 || len(j.Add) != 0 {
		t.Fatalf("after the committer left: %+v, want Ada to remove Bob first", j)
	}
	commitJob(t, g, j)
	if j = g.NextJob(nil); j == nil || j.Committer != "ada" || len(j.Add) != 1 || j.Add[0].ID != "cy" {
		t.Fatalf("then: %+v, want Ada to add Cy", j)
	}
}

func TestLastMemberLeavingResetsTheGroup(t *testing.T) {
	g, _ := newTestGroup()
	admit(t, g, "ada")
	g.NextJob(nil)
	admit(t, g, "bob") // waiting to be added when Ada leaves
	g.Left("ada")
	j := g.NextJob(nil)
	if j == nil || !j.Create || j.Committer != "bob" || g.Epoch() != 0 || !slices.Equal(g.Members(), []Participant{"bob"}) {
		t.Fatalf("after the last member left: job %+v, members %v", j, g.Members())
	}
	// The only member losing its state starts over too.
	if err := g.Admitted("bob", []byte("kp-bob-fresh"), ""); err != nil {
		t.Fatal(err)
	}
	j = g.NextJob(nil)
	if j == nil || !j.Create || j.Committer != "bob" {
		t.Fatalf("only member rejoining: %+v", j)
	}
}

func TestRecipients(t *testing.T) {
	g, _ := newTestGroup()
	admit(t, g, "ada")
	g.NextJob(nil)
	admit(t, g, "bob", "cy")
	commitJob(t, g, g.NextJob(nil))
	admit(t, g, "dee") // admitted, not yet in the group: receives nothing
	got, err := g.Recipients("ada", "", []byte("m"))
	if err != nil || !slices.Equal(got, []Participant{"bob", "cy"}) {
		t.Fatalf("to everyone = %v, %v", got, err)
	}
	got, err = g.Recipients("ada", "cy", []byte("m"))
	if err != nil || !slices.Equal(got, []Participant{"cy"}) {
		t.Fatalf("to Cy = %v, %v", got, err)
	}
	for _, tt := range []struct {
		from, to Participant
		data     []byte
		err      error
	}{
		{"dee", "", []byte("m"), ErrNotMember},
		{"ada", "dee", []byte("m"), ErrNotMember},
		{"ada", "ada", []byte("m"), ErrNotMember},
		{"ada", "", nil, ErrBadMessage},
		{"ada", "", make([]byte, MaxMessage+1), ErrBadMessage},
	} {
		if _, err := g.Recipients(tt.from, tt.to, tt.data); !errors.Is(err, tt.err) {
			t.Errorf("Recipients(%s, %s, %d bytes) = %v, want %v", tt.from, tt.to, len(tt.data), err, tt.err)
		}
	}
}

func TestCatchingUp(t *testing.T) {
	g, _ := newTestGroup()
	admit(t, g, "ada")
	g.NextJob(nil)
	for _, p := range []Participant{"bob", "cy", "dee"} {
		admit(t, g, p)
		commitJob(t, g, g.NextJob(nil))
	}
	cs, ok := g.Since(1)
	if !ok || len(cs) != 2 || cs[0].Epoch != 2 || cs[1].Epoch != 3 {
		t.Fatalf("Since(1) = %+v, %v", cs, ok)
	}
	if cs, ok := g.Since(3); !ok || len(cs) != 0 {
		t.Fatalf("Since(current) = %v, %v", cs, ok)
	}
	if _, ok := g.Since(17); ok {
		t.Fatal("caught up from an epoch that never was")
	}
}

func TestUnavailableCommitterIsSkipped(t *testing.T) {
	g, _ := newTestGroup()
	admit(t, g, "ada")
	g.NextJob(nil)
	admit(t, g, "bob")
	commitJob(t, g, g.NextJob(nil))
	admit(t, g, "cy")
	away := func(p Participant) bool { return p != "ada" } // Ada's connection is lost
	j := g.NextJob(away)
	if j == nil || j.Committer != "bob" {
		t.Fatalf("job = %+v, want Bob while Ada is away", j)
	}
	// Even an outstanding job moves when its committer goes away.
	if j := g.NextJob(func(p Participant) bool { return p != "bob" }); j == nil || j.Committer != "ada" {
		t.Fatalf("job after Bob went away = %+v", j)
	}
}

// TestTheAdmitterCommitsTheAdd: a host who admits someone from the waiting
// room is the one whose client adds them; others wait their turn.
func TestTheAdmitterCommitsTheAdd(t *testing.T) {
	g, _ := newTestGroup()
	admit(t, g, "ada")
	g.NextJob(nil)
	admit(t, g, "bob")
	commitJob(t, g, g.NextJob(nil))
	if err := g.Admitted("gus", kp("gus"), "bob"); err != nil {
		t.Fatal(err)
	}
	if err := g.Admitted("hal", kp("hal"), ""); err != nil {
		t.Fatal(err)
	}
	j := g.NextJob(nil)
	if j.Committer != "bob" || len(j.Add) != 1 || j.Add[0].ID != "gus" {
		t.Fatalf("job = %+v, want Bob to add Gus, whom he admitted", j)
	}
	commitJob(t, g, j)
	j = g.NextJob(nil)
	if j.Committer != "ada" || len(j.Add) != 1 || j.Add[0].ID != "hal" {
		t.Fatalf("then = %+v, want the longest present to add Hal", j)
	}
	commitJob(t, g, j)
	// An admitter who cannot commit (gone) leaves the add to the others.
	if err := g.Admitted("ivy", kp("ivy"), "zed"); err != nil {
		t.Fatal(err)
	}
	if j := g.NextJob(nil); j.Committer != "ada" || len(j.Add) != 1 {
		t.Fatalf("job for an admitter who is not a member = %+v", j)
	}
}

// fourMembers returns a group of Ada, Bob, Cy and Dee at epoch 1, with
// no job outstanding.
func fourMembers(t *testing.T) (*Group, *clock) {
	t.Helper()
	g, clk := newTestGroup()
	admit(t, g, "ada")
	g.NextJob(nil)
	admit(t, g, "bob", "cy", "dee")
	commitJob(t, g, g.NextJob(nil))
	return g, clk
}

// TestCommitInitiative: what a member may commit unasked (a key update, or
// the removal of members who left the meeting), and what it may not.
func TestCommitInitiative(t *testing.T) {
	update := Initiative{Reason: ReasonUpdate}
	remove := func(ps ...Participant) Initiative { return Initiative{Reason: ReasonRemove, Remove: ps} }
	for _, tt := range []struct {
		name string
		// gone have left the meeting (the server was told) before the
		// commit; before runs next.
		gone    []Participant
		before  func(t *testing.T, g *Group, clk *clock)
		from    Participant
		epoch   uint64
		in      Initiative
		welcome []byte
		// noCommit sends an empty commit.
		noCommit bool
		want     error
	}{
		{name: "update", from: "bob", epoch: 1, in: update},
		{name: "update by the newest member", from: "dee", epoch: 1, in: update},
		{name: "update while a job is outstanding", from: "cy", epoch: 1, in: update,
			before: func(t *testing.T, g *Group, _ *clock) { admit(t, g, "eve"); g.NextJob(nil) }},
		{name: "second update within the interval", from: "bob", epoch: 2, in: update, want: ErrTooSoon,
			before: func(t *testing.T, g *Group, clk *clock) {
				initiative(t, g, "bob", update)
				clk.t = clk.t.Add(UpdateInterval - time.Second)
			}},
		{name: "second update after the interval", from: "bob", epoch: 2, in: update,
			before: func(t *testing.T, g *Group, clk *clock) {
				initiative(t, g, "bob", update)
				clk.t = clk.t.Add(UpdateInterval)
			}},
		{name: "updates by two members", from: "cy", epoch: 2, in: update,
			before: func(t *testing.T, g *Group, _ *clock) { initiative(t, g, "bob", update) }},
		{name: "update with a welcome", from: "bob", epoch: 1, in: update, welcome: []byte("w"), want: ErrBadMessage},
		{name: "update with a remove list", gone: []Participant{"dee"}, from: "bob", epoch: 1,
			in: Initiative{Reason: ReasonUpdate, Remove: []Participant{"dee"}}, want: ErrBadMessage},
		{name: "update by a non-member", from: "eve", epoch: 1, in: update, want: ErrNotMember},
		{name: "update by a member who left", gone: []Participant{"dee"}, from: "dee", epoch: 1, in: update, want: ErrNotMember},
		{name: "update by a member whose leaf is being replaced", from: "bob", epoch: 1, in: update, want: ErrNotMember,
			before: func(t *testing.T, g *Group, _ *clock) {
				if err := g.Admitted("bob", []byte("kp-bob-2"), ""); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "update on a past epoch", from: "bob", epoch: 0, in: update, want: ErrStaleEpoch},
		{name: "update on a future epoch", from: "bob", epoch: 2, in: update, want: ErrStaleEpoch},
		{name: "update with no commit", from: "bob", epoch: 1, in: update, noCommit: true, want: ErrBadMessage},
		{name: "unknown reason", from: "bob", epoch: 1, in: Initiative{Reason: "rekey"}, want: ErrBadMessage},
		{name: "no reason", from: "bob", epoch: 1, in: Initiative{}, want: ErrBadMessage},

		{name: "remove a member who left", gone: []Participant{"dee"}, from: "bob", epoch: 1, in: remove("dee")},
		{name: "remove two who left", gone: []Participant{"cy", "dee"}, from: "ada", epoch: 1, in: remove("dee", "cy")},
		{name: "remove one of two who left", gone: []Participant{"cy", "dee"}, from: "ada", epoch: 1, in: remove("cy")},
		{name: "remove while the remove job is outstanding", gone: []Participant{"dee"}, from: "cy", epoch: 1, in: remove("dee"),
			before: func(_ *testing.T, g *Group, _ *clock) { g.NextJob(nil) }},
		{name: "remove right after an update", gone: []Participant{"dee"}, from: "bob", epoch: 2, in: remove("dee"),
			before: func(t *testing.T, g *Group, _ *clock) { initiative(t, g, "bob", update) }},
		{name: "remove someone still in the meeting", from: "bob", epoch: 1, in: remove("cy"), want: ErrStillPresent},
		{name: "remove one who left and one who did not", gone: []Participant{"dee"}, from: "bob", epoch: 1, in: remove("dee", "cy"), want: ErrStillPresent},
		{name: "remove oneself", from: "bob", epoch: 1, in: remove("bob"), want: ErrStillPresent},
		{name: "remove a rejoined member's old leaf", from: "bob", epoch: 1, in: remove("cy"), want: ErrStillPresent,
			before: func(t *testing.T, g *Group, _ *clock) {
				if err := g.Admitted("cy", []byte("kp-cy-2"), ""); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "remove a non-member", from: "bob", epoch: 1, in: remove("eve"), want: ErrNotMember},
		{name: "remove nobody", from: "bob", epoch: 1, in: remove(), want: ErrBadMessage},
		{name: "remove the same member twice", gone: []Participant{"dee"}, from: "bob", epoch: 1, in: remove("dee", "dee"), want: ErrBadMessage},
		{name: "remove more than the group", gone: []Participant{"dee"}, from: "bob", epoch: 1, in: remove("dee", "a", "b", "c", "d"), want: ErrBadMessage},
		{name: "remove with a welcome", gone: []Participant{"dee"}, from: "bob", epoch: 1, in: remove("dee"), welcome: []byte("w"), want: ErrBadMessage},
		{name: "remove on a past epoch", gone: []Participant{"dee"}, from: "bob", epoch: 0, in: remove("dee"), want: ErrStaleEpoch},
		{name: "remove by a non-member", gone: []Participant{"dee"}, from: "eve", epoch: 1, in: remove("dee"), want: ErrNotMember},
		{name: "remove by the member who left", gone: []Participant{"dee"}, from: "dee", epoch: 1, in: remove("dee"), want: ErrNotMember},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g, clk := fourMembers(t)
			present := map[Participant]bool{"ada": true, "bob": true, "cy": true, "dee": true}
			for _, p := range tt.gone {
				g.Left(p)
				delete(present, p)
			}
			if tt.before != nil {
				tt.before(t, g, clk)
			}
			commit := []byte("commit")
			if tt.noCommit {
				commit = nil
			}
			epoch, members := g.Epoch(), g.Members()
			c, err := g.CommitInitiative(tt.from, tt.epoch, tt.in, commit, tt.welcome, func(p Participant) bool { return present[p] })
			if !errors.Is(err, tt.want) {
				t.Fatalf("CommitInitiative = %v, want %v", err, tt.want)
			}
			if err != nil {
				if g.Epoch() != epoch || !slices.Equal(g.Members(), members) {
					t.Fatalf("a refused commit changed the group: epoch %d, members %v", g.Epoch(), g.Members())
				}
				return
			}
			want := slices.DeleteFunc(slices.Clone(members), func(p Participant) bool { return slices.Contains(tt.in.Remove, p) })
			to := slices.DeleteFunc(slices.Clone(want), func(p Participant) bool { return p == tt.from })
			switch {
			case g.Epoch() != epoch+1 || c.Epoch != epoch+1 || c.From != tt.from:
				t.Errorf("commit %+v: epoch %d, want %d", c, g.Epoch(), epoch+1)
			case !slices.Equal(g.Members(), want):
				t.Errorf("members %v, want %v", g.Members(), want)
			case !slices.Equal(c.To, to) || len(c.Welcomed) != 0 || !slices.Equal(c.Removed, tt.in.Remove):
				t.Errorf("commit to %v, welcomed %v, removed %v; want to %v, nobody welcomed", c.To, c.Welcomed, c.Removed, to)
			}
			if cs, ok := g.Since(epoch); !ok || len(cs) != 1 || cs[0].From != tt.from {
				t.Errorf("history for catching up = %+v, %v", cs, ok)
			}
			// Nobody removed is to be removed again.
			if j := g.NextJob(nil); j != nil && slices.ContainsFunc(j.Remove, func(m Member) bool { return slices.Contains(tt.in.Remove, m.ID) }) {
				t.Errorf("job after the removal = %+v", j)
			}
		})
	}
}

// initiative has from commit in unasked on the current epoch, with
// everyone still in the meeting.
func initiative(t *testing.T, g *Group, from Participant, in Initiative) Commit {
	t.Helper()
	c, err := g.CommitInitiative(from, g.Epoch(), in, []byte("commit-"+string(from)), nil, func(Participant) bool { return true })
	if err != nil {
		t.Fatalf("%s commits %+v: %v", from, in, err)
	}
	return c
}

// TestInitiativePreemptsTheJob: a member's own commit cancels the
// outstanding job; its committer's commit is then stale, and what is
// still due comes back on the new epoch, without what the commit did.
func TestInitiativePreemptsTheJob(t *testing.T) {
	t.Run("an update, and the adds come back", func(t *testing.T) {
		g, _ := fourMembers(t)
		admit(t, g, "eve", "fay")
		j := g.NextJob(nil)
		if j.Committer != "ada" || j.Epoch != 1 || len(j.Add) != 2 {
			t.Fatalf("job = %+v", j)
		}
		initiative(t, g, "cy", Initiative{Reason: ReasonUpdate})
		if _, err := g.Commit("ada", 1, []byte("c"), []byte("w")); !errors.Is(err, ErrStaleEpoch) {
			t.Fatalf("the pre-empted job's commit = %v, want stale", err)
		}
		again := g.NextJob(nil)
		if again == nil || again.Committer != "ada" || again.Epoch != 2 || !slices.Equal(ids(again.Add), ids(j.Add)) || len(again.Remove) != 0 {
			t.Fatalf("job on the new epoch = %+v, want %+v on epoch 2", again, j)
		}
		c := commitJob(t, g, again)
		if !slices.Equal(c.Welcomed, []Participant{"eve", "fay"}) {
			t.Fatalf("welcomed %v", c.Welcomed)
		}
	})
	t.Run("a removal, and the job forgets the removed", func(t *testing.T) {
		g, _ := fourMembers(t)
		g.Left("cy")
		g.Left("dee")
		admit(t, g, "eve")
		j := g.NextJob(nil)
		if j.Committer != "ada" || len(j.Remove) != 2 || len(j.Add) != 0 {
			t.Fatalf("job = %+v, want Ada to remove Cy and Dee", j)
		}
		present := func(p Participant) bool { return p == "ada" || p == "bob" || p == "eve" }
		if _, err := g.CommitInitiative("bob", 1, Initiative{Reason: ReasonRemove, Remove: []Participant{"dee"}}, []byte("c"), nil, present); err != nil {
			t.Fatal(err)
		}
		if _, err := g.Commit("ada", 1, []byte("c"), nil); !errors.Is(err, ErrStaleEpoch) {
			t.Fatalf("the pre-empted job's commit = %v, want stale", err)
		}
		j = g.NextJob(nil)
		if j == nil || j.Committer != "ada" || j.Epoch != 2 || len(j.Remove) != 1 || j.Remove[0].ID != "cy" || len(j.Add) != 0 {
			t.Fatalf("job on the new epoch = %+v, want Ada to remove only Cy", j)
		}
		if _, err := g.CommitInitiative("bob", 2, Initiative{Reason: ReasonRemove, Remove: []Participant{"cy"}}, []byte("c"), nil, present); err != nil {
			t.Fatal(err)
		}
		j = g.NextJob(nil)
		if j == nil || j.Committer != "ada" || j.Epoch != 3 || len(j.Remove) != 0 || len(j.Add) != 1 || j.Add[0].ID != "eve" {
			t.Fatalf("then = %+v, want Ada to add Eve (nobody left to remove)", j)
		}
		commitJob(t, g, j)
		if !slices.Equal(g.Members(), []Participant{"ada", "bob", "eve"}) || g.NextJob(nil) != nil {
			t.Fatalf("members %v", g.Members())
		}
	})
}

func ids(ms []Member) []Participant {
	out := make([]Participant, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

// A committer that cannot use a joiner's KeyPackage leaves that Add out and
// says so; the others get in, and the one left out is no longer waiting
// with a KeyPackage that will never work.
func TestCommitSkippingBadKeyPackages(t *testing.T) {
	g, _ := newTestGroup()
	admit(t, g, "ada")
	if j := g.NextJob(nil); j == nil || !j.Create {
		t.Fatalf("job %+v, want a create", j)
	}
	admit(t, g, "bob", "bad")
	j := g.NextJob(nil)
	if len(j.Add) != 2 {
		t.Fatalf("job adds %d, want 2", len(j.Add))
	}
	if _, err := g.CommitSkipping("ada", j.Epoch, []byte("c"), []byte("w"), []Participant{"carol"}); !errors.Is(err, ErrBadMessage) {
		t.Fatalf("skipping someone not in the job: %v", err)
	}
	if _, err := g.CommitSkipping("ada", j.Epoch, []byte("c"), nil, []Participant{"bad"}); !errors.Is(err, ErrBadMessage) {
		t.Fatalf("adding bob without a welcome: %v", err)
	}
	c, err := g.CommitSkipping("ada", j.Epoch, []byte("c"), []byte("w"), []Participant{"bad"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Welcomed, []Participant{"bob"}) || !slices.Equal(c.Skipped, []Participant{"bad"}) || c.Epoch != 1 {
		t.Fatalf("commit %+v", c)
	}
	if g.IsMember("bad") || g.NextJob(nil) != nil {
		t.Fatal("the participant with the bad KeyPackage is still due an Add")
	}
	// Every Add skipped: no commit, the epoch stays, the job is over.
	if err := g.Admitted("bad", []byte("kp-bad-again"), ""); err != nil {
		t.Fatal(err)
	}
	j = g.NextJob(nil)
	if _, err := g.CommitSkipping(j.Committer, j.Epoch, []byte("c"), nil, []Participant{"bad"}); !errors.Is(err, ErrBadMessage) {
		t.Fatalf("a non-empty commit that skips everything: %v", err)
	}
	c, err = g.CommitSkipping(j.Committer, j.Epoch, nil, nil, []Participant{"bad"})
	if err != nil || c.Commit != nil || c.Epoch != 1 || g.Epoch() != 1 {
		t.Fatalf("commit %+v, err %v, epoch %d", c, err, g.Epoch())
	}
	if g.NextJob(nil) != nil {
		t.Fatal("a job is still out")
	}
}

// A member back with a fresh KeyPackage that the committer cannot use keeps
// its old leaf (members would refuse its removal without its return) until
// it sends another; then one commit removes and adds it.
func TestRejoinWithBadKeyPackageWaitsForAGoodOne(t *testing.T) {
	g, _ := newTestGroup()
	admit(t, g, "ada")
	g.NextJob(nil)
	admit(t, g, "bob", "cy")
	commitJob(t, g, g.NextJob(nil))
	if err := g.Admitted("bob", []byte("kp-bob-bad"), ""); err != nil {
		t.Fatal(err)
	}
	j := g.NextJob(nil)
	if len(j.Remove) != 1 || len(j.Add) != 1 || j.Add[0].ID != "bob" {
		t.Fatalf("job %+v, want Bob removed and added", j)
	}
	if _, err := g.CommitSkipping(j.Committer, j.Epoch, nil, nil, []Participant{"bob"}); err != nil {
		t.Fatal(err)
	}
	if j := g.NextJob(nil); j != nil {
		t.Fatalf("job %+v: Bob's old leaf must stay until he sends a usable KeyPackage", j)
	}
	// Cy leaves meanwhile: her removal goes ahead, Bob's still waits.
	g.Left("cy")
	j = g.NextJob(nil)
	if len(j.Remove) != 1 || j.Remove[0].ID != "cy" || len(j.Add) != 0 {
		t.Fatalf("job %+v, want only Cy's removal", j)
	}
	commitJob(t, g, j)
	if err := g.Admitted("bob", []byte("kp-bob-good"), ""); err != nil {
		t.Fatal(err)
	}
	j = g.NextJob(nil)
	if len(j.Remove) != 1 || j.Remove[0].ID != "bob" || len(j.Add) != 1 || string(j.Add[0].KeyPackage) != "kp-bob-good" {
		t.Fatalf("job %+v, want Bob removed and added with his good KeyPackage", j)
	}
	c := commitJob(t, g, j)
	if !slices.Equal(g.Members(), []Participant{"ada", "bob"}) || !slices.Equal(c.Welcomed, []Participant{"bob"}) {
		t.Fatalf("members %v, commit %+v", g.Members(), c)
	}
}
