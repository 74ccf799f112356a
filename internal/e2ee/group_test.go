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
	j := g.NextJob(nil)
	if j.Committer != "ada" || len(j.Remove) != 1 || j.Remove[0].ID != "bob" || string(j.Remove[0].KeyPackage) != "kp-bob" || len(j.Add) != 0 {
		t.Fatalf("rejoin, first job = %+v: remove the old leaf", j)
	}
	commitJob(t, g, j)
	j = g.NextJob(nil)
	if j.Committer != "ada" || len(j.Remove) != 0 || len(j.Add) != 1 || string(j.Add[0].KeyPackage) != "kp-bob-2" {
		t.Fatalf("rejoin, second job = %+v: add the fresh KeyPackage", j)
	}
	c := commitJob(t, g, j)
	if !slices.Equal(c.Welcomed, []Participant{"bob"}) || !slices.Equal(g.Members(), []Participant{"ada", "bob"}) {
		t.Fatalf("after rejoin: %+v, members %v", c, g.Members())
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
