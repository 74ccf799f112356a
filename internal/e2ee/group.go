package e2ee

import (
	"fmt"
	"slices"
	"time"
)

// Size limits on opaque messages: generous for MLS over a few hundred
// members, small enough that nobody fills the server's memory.
const (
	MaxKeyPackage = 16 << 10
	MaxCommit     = 512 << 10
	MaxWelcome    = 512 << 10
	MaxMessage    = 64 << 10
	// keptCommits is how many recent commits are kept for members who
	// reconnect and need to catch up.
	keptCommits = 256
	// CommitTimeout is how long a committer has before the job goes to
	// another member.
	CommitTimeout = 10 * time.Second
	// UpdateInterval is the least time between two key updates a member
	// commits on its own, so that no member can churn the group's epochs.
	UpdateInterval = 30 * time.Second
	// MaxRecordingCommits is how many recording commits (ReasonRecording)
	// one recording lets its recorder make: setting the state, clearing
	// it, and setting it twice more after the group was made anew. It is
	// also the most a member may make in any UpdateInterval, however many
	// recordings it is given.
	MaxRecordingCommits = 4
)

// Participant identifies a member (the meeting's participant ID).
type Participant string

// Member is a participant with the KeyPackage that identifies its leaf:
// the committer adds it with this KeyPackage, or finds the leaf to remove
// by the credential in it.
type Member struct {
	ID         Participant
	KeyPackage []byte
}

// Job asks one participant's client to change the group. With Create it
// creates a new group (epoch 0) from its own KeyPackage; otherwise it
// commits, on Epoch, a Remove of each of Remove, or else an Add of each of
// Add. Removals go first, in a commit of their own, except that a member
// back with a fresh KeyPackage is removed and added again in one commit.
type Job struct {
	Committer Participant
	Create    bool
	Epoch     uint64
	Add       []Member
	Remove    []Member
}

// Reason says why a member commits on its own initiative, without a job.
type Reason string

// The reasons a member may commit unasked. The first two need no help of
// the server's, which is the point: a hostile server could otherwise
// withhold the job and keep old keys, or a departed participant's leaf,
// in the group. The third goes beyond the bound on key updates only with
// the room's word (AllowRecording).
const (
	// ReasonUpdate is an empty commit with an update path: fresh keys for
	// post-compromise security.
	ReasonUpdate Reason = "update"
	// ReasonRemove removes the leaves of participants who left the meeting.
	ReasonRemove Reason = "remove"
	// ReasonRecording commits the meeting's recording state (a group
	// context extension, web/src/e2ee/recording-state.ts): that the
	// committer records, or that nobody does. The server cannot read the
	// commit. From a member the room let record (AllowRecording) it takes
	// MaxRecordingCommits per recording and per UpdateInterval, apart
	// from the member's key updates; from anyone else, only as its key
	// update (once per UpdateInterval, and it counts as one), which is
	// how a state nobody may clear any more (its recorder left, or the
	// room that let it record was lost) is cleared. Members refuse a
	// commit relayed with this reason that does anything but change the
	// recording state (web/src/e2ee/commit-rules.ts).
	ReasonRecording Reason = "recording"
)

// Initiative is a commit a member makes unasked: why, and for
// ReasonRemove whom it removes (the committer's word: the server cannot
// read the commit, and every other member checks it).
type Initiative struct {
	Reason Reason
	Remove []Participant
}

// Commit is an accepted commit and who must receive what.
type Commit struct {
	From  Participant
	Epoch uint64 // the epoch the commit produced
	// Reason is the commit's Initiative reason ("" for a job's), relayed
	// to the members, who check that the commit is what it claims.
	Reason Reason
	// Commit goes to To: every member but the committer (who is told it
	// was accepted) and those added, who get the Welcome instead.
	Commit, Welcome []byte
	To, Welcomed    []Participant
	// Removed are the members the commit took out of the group.
	Removed []Participant
	// Skipped are participants of the job's Adds whose KeyPackage the
	// committer could not use: they are not in the group, and must send a
	// fresh KeyPackage. A commit that skipped every Add changed nothing:
	// its Commit is nil and Epoch is the current one.
	Skipped []Participant
}

// Group is the delivery service's view of one meeting's MLS group.
type Group struct {
	epoch   uint64
	created bool
	// members are in the group, in the order they joined it: the longest
	// present commits. leaf holds the KeyPackage each was added with.
	members []Participant
	leaf    map[Participant][]byte
	// pending are KeyPackages of admitted participants not (or no longer)
	// in the group. A KeyPackage is used by one Add only.
	pending map[Participant][]byte
	wantIn  []Participant
	wantOut []Member
	// admittedBy is who let a participant in (a host clicking admit): that
	// member's client should commit the Add, as the admission itself.
	admittedBy map[Participant]Participant
	job        *Job
	// deadline is when the outstanding job goes to someone else.
	deadline time.Time
	history  []Commit
	// lastUpdate is when each member's last own key update was accepted.
	lastUpdate map[Participant]time.Time
	// recordingLeft is how many recording commits each member the room
	// let record may still make apart from its key updates
	// (AllowRecording); recordingAt are the times of each member's recent
	// ones (at most MaxRecordingCommits per UpdateInterval).
	recordingLeft map[Participant]int
	recordingAt   map[Participant][]time.Time
	// rejoining are members back in the meeting with a fresh KeyPackage
	// (their browser lost its state): their old leaf goes and their new
	// one comes in one commit, as members accept the removal of someone
	// still in the meeting only together with their return.
	rejoining map[Participant]bool
	// resumed: the group was formed elsewhere (on a node that died, or
	// before a restart) and continues here from its members' word
	// (resume.go); resumeEpoch and proof are what the first of them
	// claimed, claimed the KeyPackages the continuing members sent.
	resumed     bool
	resumeEpoch uint64
	proof       []byte
	claimed     map[Participant][]byte
	// expect are members of a lost group who may still claim it, until
	// expectUntil; lost are all who were in the meeting then (Expect).
	expect      map[Participant]bool
	lost        map[Participant]bool
	expectUntil time.Time
	now         func() time.Time
}

// NewGroup returns an empty group. now is the clock; nil means time.Now.
func NewGroup(now func() time.Time) *Group {
	if now == nil {
		now = time.Now
	}
	return &Group{leaf: map[Participant][]byte{}, pending: map[Participant][]byte{}, admittedBy: map[Participant]Participant{},
		lastUpdate: map[Participant]time.Time{}, rejoining: map[Participant]bool{}, claimed: map[Participant][]byte{},
		expect: map[Participant]bool{}, lost: map[Participant]bool{}, now: now,
		recordingLeft: map[Participant]int{}, recordingAt: map[Participant][]time.Time{}}
}

// Epoch returns the current epoch.
func (g *Group) Epoch() uint64 { return g.epoch }

// Members returns the members in the order they joined the group.
func (g *Group) Members() []Participant { return slices.Clone(g.members) }

// IsMember reports whether p is in the group.
func (g *Group) IsMember(p Participant) bool { return slices.Contains(g.members, p) }

// Admitted is a participant entering the meeting with a KeyPackage. They
// will create the group if there is none, or be added to it: by the member
// who admitted them (by, if not ""), when that member can. A member who
// comes back with a fresh KeyPackage (their browser lost its state) is
// removed and added again.
func (g *Group) Admitted(p Participant, kp []byte, by Participant) error {
	if len(kp) == 0 || len(kp) > MaxKeyPackage {
		return fmt.Errorf("%w: key package of %d bytes", ErrBadMessage, len(kp))
	}
	g.pending[p] = slices.Clone(kp)
	delete(g.expect, p) // back, if the lost group expected them (resume.go)
	if g.IsMember(p) {
		g.markOut(p)
		g.rejoining[p] = true
		if g.job != nil && g.job.Committer == p {
			g.job = nil // their old leaf cannot commit any more
		}
	}
	if !slices.Contains(g.wantIn, p) {
		g.wantIn = append(g.wantIn, p)
	}
	if by != "" {
		g.admittedBy[p] = by
	} else {
		delete(g.admittedBy, p)
	}
	return nil
}

// Left is a participant leaving the meeting: a member must be removed;
// someone not yet added is simply dropped.
func (g *Group) Left(p Participant) {
	g.wantIn = slices.DeleteFunc(g.wantIn, func(x Participant) bool { return x == p })
	delete(g.pending, p)
	delete(g.admittedBy, p)
	delete(g.lastUpdate, p)
	delete(g.recordingLeft, p)
	delete(g.recordingAt, p)
	delete(g.rejoining, p)
	delete(g.claimed, p)
	delete(g.expect, p)
	if g.IsMember(p) {
		g.markOut(p)
	} else {
		// Back without its leaf known here (resume.go), now gone: members
		// remove that leaf on their own, as anyone's who left.
		g.wantOut = slices.DeleteFunc(g.wantOut, func(m Member) bool { return m.ID == p })
	}
	if g.job != nil && g.job.Committer == p {
		g.job = nil // someone else will take it over
	}
}

// leaving reports whether p's leaf is to be removed.
func (g *Group) leaving(p Participant) bool {
	return slices.ContainsFunc(g.wantOut, func(m Member) bool { return m.ID == p })
}

func (g *Group) markOut(p Participant) {
	if !slices.ContainsFunc(g.wantOut, func(m Member) bool { return m.ID == p }) {
		g.wantOut = append(g.wantOut, Member{ID: p, KeyPackage: g.leaf[p]})
	}
}

// NextJob returns a request to send, or nil: when changes are due, no job
// is outstanding (or the outstanding one timed out, or its committer is
// not available), and someone available can do it. The committer is the
// longest-present available member not being removed; with no group, the
// first participant waiting creates it. available(p) says whether p's
// client can be reached now (nil means everyone).
func (g *Group) NextJob(available func(Participant) bool) *Job {
	if available == nil {
		available = func(Participant) bool { return true }
	}
	if g.job != nil && g.now().Before(g.deadline) && available(g.job.Committer) {
		return nil
	}
	timedOut := g.job
	g.job = nil
	if g.created && !slices.ContainsFunc(g.members, func(m Participant) bool { return !g.leaving(m) }) {
		// Nobody is left to commit (everyone left, or the only member
		// lost its state): the group is gone, and the first participant
		// waiting creates a fresh one.
		g.epoch, g.created, g.members, g.wantOut, g.history = 0, false, nil, nil, nil
		g.leaf, g.lastUpdate, g.rejoining = map[Participant][]byte{}, map[Participant]time.Time{}, map[Participant]bool{}
		g.resumed, g.resumeEpoch, g.proof, g.claimed = false, 0, nil, map[Participant][]byte{}
	}
	if !g.created {
		if g.awaitingClaims() {
			return nil // Expect: those who hold the lost group may still continue it
		}
		i := slices.IndexFunc(g.wantIn, available)
		if i < 0 {
			return nil
		}
		p := g.wantIn[i]
		g.wantIn = slices.Delete(g.wantIn, i, i+1)
		g.created, g.epoch = true, 0
		g.expect, g.lost = map[Participant]bool{}, map[Participant]bool{} // nobody continued the lost group
		g.members = []Participant{p}
		g.leaf[p] = g.pending[p]
		delete(g.pending, p)
		return &Job{Committer: p, Create: true}
	}
	if len(g.wantIn) == 0 && len(g.wantOut) == 0 {
		return nil
	}
	can := func(m Participant) bool {
		return g.IsMember(m) && !g.leaving(m) && available(m) && (timedOut == nil || timedOut.Committer != m)
	}
	var committer Participant
	for _, m := range g.members {
		if can(m) {
			committer = m
			break
		}
	}
	if committer == "" {
		return nil
	}
	j := &Job{Committer: committer, Epoch: g.epoch}
	for _, m := range g.wantOut {
		switch {
		case !g.rejoining[m.ID]:
			j.Remove = append(j.Remove, m)
		case g.pending[m.ID] != nil:
			// Removed and added again in one commit.
			j.Remove = append(j.Remove, m)
			j.Add = append(j.Add, Member{ID: m.ID, KeyPackage: g.pending[m.ID]})
		}
		// A member back without a usable KeyPackage yet keeps its old leaf
		// until it sends one.
	}
	if len(j.Remove) == 0 && len(g.wantIn) == 0 {
		return nil
	}
	if len(j.Remove) == 0 {
		// Adds go to whoever admitted the first one waiting, if they can
		// commit, with everyone else they admitted; the rest later.
		if by := g.admittedBy[g.wantIn[0]]; by != "" && can(by) {
			j.Committer = by
		}
		for _, p := range g.wantIn {
			by := g.admittedBy[p]
			if by == j.Committer || ((by == "" || !can(by)) && j.Committer == committer) {
				j.Add = append(j.Add, Member{ID: p, KeyPackage: g.pending[p]})
			}
		}
	}
	g.job = j
	g.deadline = g.now().Add(CommitTimeout)
	return j
}

// Commit accepts a commit from the job's committer, made on the current
// epoch. The first valid commit for an epoch wins; any other is stale.
func (g *Group) Commit(from Participant, epoch uint64, commit, welcome []byte) (Commit, error) {
	if err := g.checkCommit(from, epoch, commit, welcome); err != nil {
		return Commit{}, err
	}
	switch {
	case g.job == nil || g.job.Committer != from:
		return Commit{}, ErrNotCommitter
	case (len(g.job.Add) > 0) != (len(welcome) > 0):
		return Commit{}, fmt.Errorf("%w: a commit adding members needs a welcome, and only then", ErrBadMessage)
	}
	j := g.job
	remove := make([]Participant, len(j.Remove))
	for i, m := range j.Remove {
		remove[i] = m.ID
	}
	return g.accept(from, "", remove, j.Add, commit, welcome), nil
}

// CommitSkipping is Commit for an add job of which the committer left out
// the Adds of skipped, because their KeyPackages are bad (a client checks
// each one, so one bad KeyPackage does not keep the rest out). Those
// participants' KeyPackages are dropped: they must send fresh ones. If it
// skipped every Add, commit and welcome are empty, the epoch stays, and
// only the job is over.
func (g *Group) CommitSkipping(from Participant, epoch uint64, commit, welcome []byte, skipped []Participant) (Commit, error) {
	if len(skipped) == 0 {
		return g.Commit(from, epoch, commit, welcome)
	}
	switch {
	case !g.IsMember(from) || g.leaving(from):
		return Commit{}, ErrNotMember
	case epoch != g.epoch:
		return Commit{}, fmt.Errorf("%w: commit on %d, current %d", ErrStaleEpoch, epoch, g.epoch)
	case g.job == nil || g.job.Committer != from:
		return Commit{}, ErrNotCommitter
	}
	j := g.job
	var add []Member
	for i, p := range skipped {
		if slices.Contains(skipped[:i], p) || !slices.ContainsFunc(j.Add, func(m Member) bool { return m.ID == p }) {
			return Commit{}, fmt.Errorf("%w: %s skipped but not in the job", ErrBadMessage, p)
		}
	}
	for _, m := range j.Add {
		if !slices.Contains(skipped, m.ID) {
			add = append(add, m)
		}
	}
	drop := func() {
		for _, p := range skipped {
			g.wantIn = slices.DeleteFunc(g.wantIn, func(x Participant) bool { return x == p })
			delete(g.pending, p)
			delete(g.admittedBy, p)
		}
	}
	if len(add) == 0 {
		if len(commit) > 0 || len(welcome) > 0 {
			return Commit{}, fmt.Errorf("%w: a commit that skips every Add is empty", ErrBadMessage)
		}
		g.job = nil
		drop()
		return Commit{From: from, Epoch: g.epoch, Skipped: slices.Clone(skipped)}, nil
	}
	if err := g.checkCommit(from, epoch, commit, welcome); err != nil {
		return Commit{}, err
	}
	if len(welcome) == 0 {
		return Commit{}, fmt.Errorf("%w: a commit adding members needs a welcome", ErrBadMessage)
	}
	drop()
	c := g.accept(from, "", nil, add, commit, welcome)
	c.Skipped = slices.Clone(skipped)
	return c, nil
}

// CommitInitiative accepts a commit a member made unasked, on the current
// epoch, by the same first-wins rule as Commit. It adds nobody, so it has
// no Welcome. An update comes at most once per UpdateInterval from each
// member. A recording commit comes from a member the room let record
// (AllowRecording), within its allowance, or else counts as the
// member's update. A removal names members of the group who are no longer in the
// meeting: inMeeting(p) says whether p still is (nil: everyone is), and
// only the caller, who keeps the meeting's roster, can tell. Accepting it
// cancels the outstanding job, if any: its committer's commit will be
// stale, and NextJob hands out what is still due on the new epoch.
func (g *Group) CommitInitiative(from Participant, epoch uint64, in Initiative, commit, welcome []byte, inMeeting func(Participant) bool) (Commit, error) {
	if err := g.checkCommit(from, epoch, commit, welcome); err != nil {
		return Commit{}, err
	}
	if len(welcome) > 0 {
		return Commit{}, fmt.Errorf("%w: a commit made unasked adds nobody, so has no welcome", ErrBadMessage)
	}
	// asUpdate: the commit counts as the member's key update (a recording
	// commit beyond what the room allowed it).
	asUpdate := in.Reason == ReasonUpdate
	switch in.Reason {
	case ReasonUpdate:
		if len(in.Remove) > 0 {
			return Commit{}, fmt.Errorf("%w: an update removes nobody", ErrBadMessage)
		}
	case ReasonRemove:
		if err := g.checkRemove(from, in.Remove, inMeeting); err != nil {
			return Commit{}, err
		}
	case ReasonRecording:
		if len(in.Remove) > 0 {
			return Commit{}, fmt.Errorf("%w: a recording commit removes nobody", ErrBadMessage)
		}
		asUpdate = g.recordingLeft[from] <= 0
		if err := g.checkRecordingWindow(from); !asUpdate && err != nil {
			return Commit{}, err
		}
	default:
		return Commit{}, fmt.Errorf("%w: unknown reason %q", ErrBadMessage, in.Reason)
	}
	if last, ok := g.lastUpdate[from]; asUpdate && ok && g.now().Before(last.Add(UpdateInterval)) {
		return Commit{}, fmt.Errorf("%w: last update at %s", ErrTooSoon, last.Format(time.RFC3339))
	}
	c := g.accept(from, in.Reason, in.Remove, nil, commit, welcome)
	switch {
	case asUpdate:
		g.lastUpdate[from] = g.now()
	case in.Reason == ReasonRecording:
		g.recordingLeft[from]--
		g.recordingAt[from] = append(g.recordingAt[from], g.now())
	}
	return c, nil
}

// AllowRecording is the room's word that p starts a recording: p may now
// make MaxRecordingCommits recording commits (ReasonRecording) apart from
// its key updates, whatever it had left. The allowance outlives the
// recording's end, so that p can clear the state it set; it ends when p
// leaves the meeting. Beyond it, p's recording commits count as its key
// updates, as anyone else's do.
func (g *Group) AllowRecording(p Participant) {
	g.recordingLeft[p] = MaxRecordingCommits
}

// checkRecordingWindow: a member the room let record makes no more than
// MaxRecordingCommits recording commits in any UpdateInterval, however
// many recordings it is given.
func (g *Group) checkRecordingWindow(from Participant) error {
	since := g.now().Add(-UpdateInterval)
	recent := slices.DeleteFunc(g.recordingAt[from], func(t time.Time) bool { return !t.After(since) })
	g.recordingAt[from] = recent
	if len(recent) >= MaxRecordingCommits {
		return fmt.Errorf("%w: %d recording commits since %s", ErrTooSoon, len(recent), since.Format(time.RFC3339))
	}
	return nil
}

// checkRemove checks the list of a removal made unasked: at least one
// participant, each once, each a member of the group who has left the
// meeting.
func (g *Group) checkRemove(from Participant, remove []Participant, inMeeting func(Participant) bool) error {
	if inMeeting == nil {
		inMeeting = func(Participant) bool { return true }
	}
	most := len(g.members)
	if g.resumed {
		// Continued from members' word, the group may hold leaves of
		// people who never came back here: the server never saw them in it.
		most = MaxResumeRemove
	}
	if len(remove) == 0 || len(remove) > most {
		return fmt.Errorf("%w: a removal of %d participants from a group of %d", ErrBadMessage, len(remove), len(g.members))
	}
	for i, p := range remove {
		switch {
		case slices.Contains(remove[:i], p):
			return fmt.Errorf("%w: %s named twice", ErrBadMessage, p)
		case !g.IsMember(p) && !g.resumed:
			return fmt.Errorf("%w: %s", ErrNotMember, p)
		case p == from || inMeeting(p):
			return fmt.Errorf("%w: %s", ErrStillPresent, p)
		}
	}
	return nil
}

// checkCommit checks what every commit needs: a member not being removed
// (a leaf whose participant rejoined with a fresh KeyPackage cannot
// commit), the current epoch, and sizes.
func (g *Group) checkCommit(from Participant, epoch uint64, commit, welcome []byte) error {
	switch {
	case !g.IsMember(from) || g.leaving(from):
		return ErrNotMember
	case epoch != g.epoch:
		return fmt.Errorf("%w: commit on %d, current %d", ErrStaleEpoch, epoch, g.epoch)
	case len(commit) == 0 || len(commit) > MaxCommit || len(welcome) > MaxWelcome:
		return fmt.Errorf("%w: commit %d bytes, welcome %d bytes", ErrBadMessage, len(commit), len(welcome))
	}
	return nil
}

// accept moves the group to the next epoch with a checked commit (made
// for reason, "" for a job): remove
// leaves the group, add joins it; any outstanding job is over.
func (g *Group) accept(from Participant, reason Reason, remove []Participant, add []Member, commit, welcome []byte) Commit {
	g.job = nil
	g.epoch++
	c := Commit{From: from, Epoch: g.epoch, Reason: reason, Commit: slices.Clone(commit), Welcome: slices.Clone(welcome)}
	for _, p := range remove {
		delete(g.rejoining, p)
		g.members = slices.DeleteFunc(g.members, func(x Participant) bool { return x == p })
		g.wantOut = slices.DeleteFunc(g.wantOut, func(x Member) bool { return x.ID == p })
		delete(g.leaf, p)
		c.Removed = append(c.Removed, p)
	}
	for _, m := range add {
		g.wantIn = slices.DeleteFunc(g.wantIn, func(x Participant) bool { return x == m.ID })
		delete(g.admittedBy, m.ID)
		g.members = append(g.members, m.ID)
		g.leaf[m.ID] = m.KeyPackage
		// Used: a later Add of this participant needs a fresh KeyPackage.
		if string(g.pending[m.ID]) == string(m.KeyPackage) {
			delete(g.pending, m.ID)
		}
		c.Welcomed = append(c.Welcomed, m.ID)
	}
	for _, m := range g.members {
		if m != from && !slices.Contains(c.Welcomed, m) {
			c.To = append(c.To, m)
		}
	}
	g.history = append(g.history, c)
	if len(g.history) > keptCommits {
		g.history = g.history[len(g.history)-keptCommits:]
	}
	return c
}

// Since returns the commits after epoch, for a member catching up after a
// reconnection; ok is false if they are no longer all kept.
func (g *Group) Since(epoch uint64) (commits []Commit, ok bool) {
	if epoch == g.epoch {
		return nil, true
	}
	for i, c := range g.history {
		if c.Epoch == epoch+1 {
			return slices.Clone(g.history[i:]), true
		}
	}
	return nil, false
}

// Deadline is when the outstanding job, if any, times out, or else when
// a lost group stops waiting for its members' claims (Expect).
func (g *Group) Deadline() (time.Time, bool) {
	if g.job == nil && g.awaitingClaims() {
		return g.expectUntil, true
	}
	return g.deadline, g.job != nil
}

// Recipients says who receives an application message: every member but
// the sender, or only to. The sender must be a member and the message
// within limits.
func (g *Group) Recipients(from, to Participant, data []byte) ([]Participant, error) {
	switch {
	case !g.IsMember(from):
		return nil, ErrNotMember
	case len(data) == 0 || len(data) > MaxMessage:
		return nil, fmt.Errorf("%w: application message of %d bytes", ErrBadMessage, len(data))
	}
	if to != "" {
		if !g.IsMember(to) || to == from {
			return nil, fmt.Errorf("%w: %s", ErrNotMember, to)
		}
		return []Participant{to}, nil
	}
	var out []Participant
	for _, m := range g.members {
		if m != from {
			out = append(out, m)
		}
	}
	return out, nil
}
