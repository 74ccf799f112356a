package e2ee

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// FuzzGroup drives a Group with what clients send it (KeyPackages on
// admission, commits with their epochs, skipped and remove lists,
// application messages, members' claims of a group formed elsewhere) in
// any order and shape, read from the fuzzer's
// bytes as a program, and checks after every step what the delivery
// service promises: no panic, errors are the package's sentinels, an
// accepted commit moves the epoch by exactly one and is relayed to members
// only (never back to its committer), a refused one changes nothing, and
// members are listed once.
func FuzzGroup(f *testing.F) {
	// admit a, b; job; commit; message; b leaves; job; commit
	f.Add([]byte{0, 0, 0, 0, 1, 1, 2, 3, 3, 0, 1, 1, 0, 6, 0, 4, 1, 1, 1, 2, 3, 3, 0, 1, 1, 0})
	f.Add([]byte{0, 0, 0, 0, 2, 3, 0, 1, 1, 2, 1, 2, 3, 4, 5, 0, 2, 3, 1, 2, 1, 1, 7, 200, 5, 0, 1, 0, 1, 1})
	f.Add([]byte{0, 0, 3, 0, 2, 3, 0, 1, 4, 1, 2, 2, 3, 4, 0, 3, 5, 1, 2, 1, 3, 3, 255, 6, 1, 0, 4})
	f.Fuzz(func(t *testing.T, prog []byte) {
		clk := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
		g := NewGroup(func() time.Time { return clk })
		// recorded counts each member's recording commits taken since the
		// room last let it record (absent: never, or it left since).
		recorded := map[Participant]int{}
		// lastAsUpdate is when a recording commit beyond the allowance
		// was taken, as the member's key update.
		lastAsUpdate := map[Participant]time.Time{}
		people := []Participant{"a", "b", "c", "d"}
		next := func() byte {
			if len(prog) == 0 {
				return 0
			}
			b := prog[0]
			prog = prog[1:]
			return b
		}
		who := func() Participant { return people[next()%4] }
		// Sizes around each limit, without allocating per step.
		size := func(limit int) []byte {
			switch next() % 5 {
			case 0:
				return nil
			case 1:
				return bytesOf[:1]
			case 2:
				return bytesOf[:100]
			case 3:
				return bytesOf[:limit]
			default:
				return bytesOf[:limit+1]
			}
		}
		subset := func() []Participant {
			m := next()
			var out []Participant
			for i, p := range people {
				if m&(1<<i) != 0 {
					out = append(out, p)
				}
			}
			if m&0x10 != 0 && len(out) > 0 {
				out = append(out, out[0]) // a name twice
			}
			return out
		}
		mask := func() func(Participant) bool {
			m := next()
			return func(p Participant) bool { return m&(1<<slices.Index(people, p)) != 0 }
		}
		epoch := func() uint64 { return g.Epoch() + uint64(next()%3) - 1 }
		accept := func(before uint64, from Participant, c Commit, err error) {
			t.Helper()
			if err != nil {
				if !isSentinel(err) {
					t.Fatalf("error %v is none of the package's", err)
				}
				if g.Epoch() != before {
					t.Fatalf("a refused commit moved the epoch from %d to %d", before, g.Epoch())
				}
				return
			}
			if c.Commit == nil { // skipped every Add: nothing changed
				if g.Epoch() != before || c.Epoch != before {
					t.Fatalf("an empty commit moved the epoch from %d to %d", before, g.Epoch())
				}
				return
			}
			if c.Epoch != before+1 || g.Epoch() != before+1 {
				t.Fatalf("commit on %d produced %d, group at %d", before, c.Epoch, g.Epoch())
			}
			if c.From != from || slices.Contains(c.To, from) {
				t.Fatalf("commit from %s relayed to %v", from, c.To)
			}
			for _, p := range c.To {
				if !g.IsMember(p) || slices.Contains(c.Welcomed, p) {
					t.Fatalf("commit relayed to %s, who is not a member or was welcomed", p)
				}
			}
			for _, p := range c.Welcomed {
				if !g.IsMember(p) {
					t.Fatalf("welcomed %s is not a member", p)
				}
			}
			for _, p := range c.Removed {
				if g.IsMember(p) && !slices.Contains(c.Welcomed, p) {
					t.Fatalf("removed %s is still a member", p)
				}
			}
			if (len(c.Welcomed) > 0) != (len(c.Welcome) > 0) {
				t.Fatalf("welcomed %v with a welcome of %d bytes", c.Welcomed, len(c.Welcome))
			}
		}
		for len(prog) > 0 {
			switch next() % 9 {
			case 0:
				p, kp, by := who(), size(MaxKeyPackage), Participant("")
				if next()%2 == 1 {
					by = who()
				}
				if err := g.Admitted(p, kp, by); err != nil && (!errors.Is(err, ErrBadMessage) || (len(kp) > 0 && len(kp) <= MaxKeyPackage)) {
					t.Fatalf("admitting %s with %d bytes: %v", p, len(kp), err)
				}
			case 1:
				if next()%4 == 0 {
					p := who()
					g.AllowRecording(p) // the room let p record
					recorded[p] = 0
					break
				}
				p := who()
				g.Left(p)
				delete(recorded, p) // leaving ends the allowance
				delete(lastAsUpdate, p)
			case 2:
				j := g.NextJob(mask())
				if j == nil {
					break
				}
				if j.Create {
					clear(lastAsUpdate) // a group made anew forgets its members' updates
				}
				if !g.IsMember(j.Committer) || (j.Create && (g.Epoch() != 0 || len(g.Members()) != 1)) {
					t.Fatalf("job %+v for a group of %v at %d", j, g.Members(), g.Epoch())
				}
				for _, m := range j.Add {
					if len(m.KeyPackage) == 0 || len(m.KeyPackage) > MaxKeyPackage {
						t.Fatalf("job adds %s with a KeyPackage of %d bytes", m.ID, len(m.KeyPackage))
					}
				}
			case 3:
				before, from := g.Epoch(), who()
				c, err := g.Commit(from, epoch(), size(MaxCommit), size(MaxWelcome))
				accept(before, from, c, err)
			case 4:
				before, from := g.Epoch(), who()
				c, err := g.CommitSkipping(from, epoch(), size(MaxCommit), size(MaxWelcome), subset())
				accept(before, from, c, err)
			case 5:
				before, from := g.Epoch(), who()
				in := Initiative{Reason: []Reason{ReasonUpdate, ReasonRemove, ReasonRecording, "rekey"}[next()%4], Remove: subset()}
				c, err := g.CommitInitiative(from, epoch(), in, size(MaxCommit), size(MaxWelcome), mask())
				accept(before, from, c, err)
				if err == nil && in.Reason == ReasonRecording {
					// Beyond the room's allowance a recording commit is the
					// member's key update: at most one per UpdateInterval.
					n, allowed := recorded[from]
					recorded[from] = n + 1
					if !allowed || n+1 > MaxRecordingCommits {
						if last, ok := lastAsUpdate[from]; ok && clk.Before(last.Add(UpdateInterval)) {
							t.Fatalf("recording commit %d by %s taken %s after its last key update", n+1, from, clk.Sub(last))
						}
						lastAsUpdate[from] = clk
					}
					if len(c.Removed) > 0 || c.Reason != ReasonRecording {
						t.Fatalf("recording commit by %s taken: %+v", from, c)
					}
				}
			case 6:
				from, to := who(), Participant("")
				if next()%2 == 1 {
					to = who()
				}
				data := size(MaxMessage)
				out, err := g.Recipients(from, to, data)
				if err != nil {
					if !isSentinel(err) || out != nil {
						t.Fatalf("recipients: %v, %v", out, err)
					}
					break
				}
				if !g.IsMember(from) || len(data) == 0 || len(data) > MaxMessage || slices.Contains(out, from) {
					t.Fatalf("message of %d bytes from %s (member: %v) goes to %v", len(data), from, g.IsMember(from), out)
				}
				for _, p := range out {
					if !g.IsMember(p) {
						t.Fatalf("message goes to %s, not a member", p)
					}
				}
			case 7:
				clk = clk.Add(time.Duration(next()) * time.Second)
			case 8:
				if next() >= 0xf0 {
					g.Expect(subset()) // the room was restored with them
					break
				}
				p, kp := who(), size(MaxKeyPackage)
				var c *Claim
				if b := next(); b%4 != 0 {
					c = &Claim{Epoch: uint64(b % 3), Proof: bytesOf[:ResumeProofSize]}
					if b%4 == 3 {
						c.Proof = bytesOf[1 : ResumeProofSize+1+int(b%2)] // another proof, or one too long
					}
				}
				continued, err := g.Resume(p, c, kp)
				if err != nil {
					if !errors.Is(err, ErrBadMessage) || g.Continues(p) && continued {
						t.Fatalf("resume of %s: %v", p, err)
					}
					break
				}
				if continued != g.Continues(p) {
					t.Fatalf("resume of %s said continued %v, the group says %v", p, continued, g.Continues(p))
				}
			}
			members := g.Members()
			slices.Sort(members)
			if len(slices.Compact(members)) != len(g.Members()) {
				t.Fatalf("a member listed twice: %v", g.Members())
			}
			if cs, ok := g.Since(g.Epoch()); !ok || cs != nil {
				t.Fatal("Since(current epoch) is not nothing to catch up")
			}
		}
	})
}

// bytesOf backs FuzzGroup's messages: one buffer as large as the largest
// limit, sliced.
var bytesOf = make([]byte, max(MaxKeyPackage, MaxCommit, MaxWelcome, MaxMessage)+1)

func isSentinel(err error) bool {
	for _, s := range []error{ErrStaleEpoch, ErrNotCommitter, ErrNotMember, ErrBadMessage, ErrTooSoon, ErrStillPresent} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}
