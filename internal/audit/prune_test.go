package audit

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// prune does what the store does: seal an anchor for entries up to
// through after the last entry, then drop them.
func prune(t *testing.T, log []Entry, through int64) []Entry {
	t.Helper()
	first := log[0].Seq
	last := log[through-first]
	if last.Seq != through {
		t.Fatalf("entry %d is at the wrong place", through)
	}
	before := last.Time.Add(time.Millisecond)
	a := NewAnchor(before.Add(400*24*time.Hour), ActorSystem, last, through-first+1, before, 400)
	if err := Seal(&a, &log[len(log)-1]); err != nil {
		t.Fatal(err)
	}
	return append(append([]Entry{}, log[through-first+1:]...), a)
}

// extend appends n more ordinary entries.
func extend(t *testing.T, log []Entry, n int) []Entry {
	t.Helper()
	for range n {
		prev := log[len(log)-1]
		e := Entry{Time: prev.Time.Add(time.Minute), ActorKind: ActorOperator, Action: LegalRequest, SubjectKind: SubjectServer,
			Details: map[string]string{"kind": "other", "outcome": "refused"}}
		if err := Seal(&e, &prev); err != nil {
			t.Fatal(err)
		}
		log = append(log, e)
	}
	return log
}

// reseal seals log[i:] again after a change, as someone who can write the
// database would.
func reseal(t *testing.T, log []Entry, i int) {
	t.Helper()
	for ; i < len(log); i++ {
		if i == 0 {
			continue
		}
		if err := Seal(&log[i], &log[i-1]); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPruneThenVerify(t *testing.T) {
	c := chain(t, 8)
	pruned := prune(t, c, 5)
	if pruned[0].Seq != 6 || pruned[len(pruned)-1].Action != AuditPruned || pruned[len(pruned)-1].Seq != 9 {
		t.Fatalf("pruned log: first %d, last %d %s", pruned[0].Seq, pruned[len(pruned)-1].Seq, pruned[len(pruned)-1].Action)
	}
	head, err := verify(pruned, nil)
	if err != nil {
		t.Fatalf("a pruned log: %v", err)
	}
	if head.Seq != 9 {
		t.Fatalf("head %v", head)
	}
	// Pruned again, past the first anchor: the second vouches.
	twice := prune(t, extend(t, pruned, 3), 10)
	if twice[0].Seq != 11 {
		t.Fatalf("first %d", twice[0].Seq)
	}
	if _, err := verify(twice, nil); err != nil {
		t.Fatalf("pruned twice: %v", err)
	}
	// Pruned again, keeping the first anchor: both stay, in order.
	again := prune(t, extend(t, pruned, 3), 7)
	if _, err := verify(again, nil); err != nil {
		t.Fatalf("pruned twice, the first anchor kept: %v", err)
	}
	// Everything pruned: only the anchor is left.
	all := prune(t, c, 8)
	if len(all) != 1 {
		t.Fatalf("%d entries left", len(all))
	}
	if _, err := verify(all, nil); err != nil {
		t.Fatalf("only the anchor: %v", err)
	}

	// Heads: one kept verifies; the last one deleted still does (the
	// first kept links to it); an older one cannot be checked, and says
	// so without calling it tampering.
	kept := Head{Seq: 7, Hash: c[6].Hash}
	if _, err := verify(pruned, &kept); err != nil {
		t.Errorf("a kept head: %v", err)
	}
	edge := Head{Seq: 5, Hash: c[4].Hash}
	if _, err := verify(pruned, &edge); err != nil {
		t.Errorf("the last deleted head: %v", err)
	}
	wrongEdge := Head{Seq: 5, Hash: c[3].Hash}
	_, err = verify(pruned, &wrongEdge)
	brokenAt(t, err, 5)
	old := Head{Seq: 2, Hash: c[1].Hash}
	_, err = verify(pruned, &old)
	var ph *PrunedHeadError
	if !errors.As(err, &ph) {
		t.Fatalf("a pruned head: %v", err)
	}
	var b *BrokenError
	if errors.As(err, &b) {
		t.Fatal("a pruned head is called broken")
	}
	if ph.First != 6 || ph.AnchorSeq != 9 || ph.Kept.Seq != 9 || !strings.Contains(err.Error(), "entries 1 to 5 were deleted") || !strings.Contains(err.Error(), "cannot be told from the log alone") {
		t.Errorf("pruned head error: %+v: %v", ph, err)
	}
	// A forged head that was pruned is no better (nor worse): it cannot
	// be checked.
	forged := Head{Seq: 2, Hash: c[0].Hash}
	if _, err := verify(pruned, &forged); !errors.As(err, &ph) {
		t.Errorf("a forged pruned head: %v", err)
	}
}

// TestForgedAnchorsCaught: deletions that no anchor accounts for, and
// anchors that lie, are broken chains.
func TestForgedAnchorsCaught(t *testing.T) {
	c := chain(t, 8)
	good := prune(t, c, 5) // 6 7 8 9(anchor)

	t.Run("deleted without an anchor", func(t *testing.T) {
		_, err := verify(c[3:], nil)
		brokenAt(t, err, 1)
	})
	t.Run("anchor edited", func(t *testing.T) {
		bad := append([]Entry{}, good...)
		a := &bad[len(bad)-1]
		a.Details = map[string]string{}
		for k, v := range good[len(good)-1].Details {
			a.Details[k] = v
		}
		a.Details["count"] = "3"
		_, err := verify(bad, nil)
		brokenAt(t, err, 9)
	})
	t.Run("anchor with the wrong hash, resealed", func(t *testing.T) {
		bad := append([]Entry{}, good...)
		wrong := NewAnchor(bad[3].Time, ActorSystem, Entry{Seq: 5, Hash: c[3].Hash}, 5, c[4].Time, 400)
		bad[3] = wrong
		reseal(t, bad, 3)
		_, err := verify(bad, nil)
		brokenAt(t, err, 9)
	})
	t.Run("a gap not covered", func(t *testing.T) {
		// The anchor vouches for 1..5, but 6 is gone too.
		bad := append([]Entry{}, good[1:]...)
		_, err := verify(bad, nil)
		brokenAt(t, err, 6)
	})
	t.Run("anchor claims entries still stored", func(t *testing.T) {
		// An anchor through 7 added while 6 and 7 are kept.
		lie := append([]Entry{}, good...)
		a := NewAnchor(lie[3].Time, ActorSystem, c[6], 7, c[6].Time, 400)
		if err := Seal(&a, &lie[3]); err != nil {
			t.Fatal(err)
		}
		lie = append(lie, a)
		_, err := verify(lie, nil)
		brokenAt(t, err, 10)
		// And in a log never pruned.
		a2 := NewAnchor(c[7].Time, ActorSystem, c[2], 3, c[2].Time, 400)
		if err := Seal(&a2, &c[7]); err != nil {
			t.Fatal(err)
		}
		_, err = verify(append(append([]Entry{}, c...), a2), nil)
		brokenAt(t, err, 9)
	})
	t.Run("anchor going backwards", func(t *testing.T) {
		log := extend(t, good, 1) // 10
		a := NewAnchor(log[4].Time, ActorSystem, c[1], 2, c[1].Time, 400)
		if err := Seal(&a, &log[4]); err != nil {
			t.Fatal(err)
		}
		_, err := verify(append(log, a), nil)
		brokenAt(t, err, 11)
	})
	t.Run("anchor without its details", func(t *testing.T) {
		log := append([]Entry{}, c...)
		e := Entry{Time: c[7].Time, ActorKind: ActorSystem, Action: AuditPruned, SubjectKind: SubjectServer, Details: map[string]string{"through": "x"}}
		if err := Seal(&e, &log[7]); err != nil {
			t.Fatal(err)
		}
		_, err := verify(append(log, e), nil)
		brokenAt(t, err, 9)
	})
	t.Run("the anchor itself deleted later", func(t *testing.T) {
		// Entries up to and with the anchor are gone, no new anchor.
		log := extend(t, good, 2) // 10 11
		_, err := verify(log[4:], nil)
		brokenAt(t, err, 1)
		// Only the anchor kept, the entries between it and its claim
		// gone: named from the first entry it does not cover.
		_, err = verify(good[3:], nil)
		brokenAt(t, err, 6)
	})
	t.Run("pruned then an older deletion", func(t *testing.T) {
		// After a legitimate prune through 5, entries 6..7 are removed
		// without an anchor: the gap is named from 6.
		log := extend(t, good, 2)
		_, err := verify(log[2:], nil)
		brokenAt(t, err, 6)
	})
}

// TestReportAfterPruning: the report counts what is stored, says from
// which entry and since when, and still verifies.
func TestReportAfterPruning(t *testing.T) {
	c := chain(t, 8)
	pruned := memLog(prune(t, c, 5))
	rep, err := BuildReport(context.Background(), pruned)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Verified || rep.Entries != 4 || rep.First != 6 || !rep.Since.Equal(c[5].Time) || rep.Totals[AuditPruned] != 1 || rep.Totals[OrgPolicyChanged] != 3 {
		t.Fatalf("report: %+v", rep)
	}
	// Deleted without an anchor: counted, but marked broken.
	rep, err = BuildReport(context.Background(), memLog(c[3:]))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Verified || rep.Broken == nil || rep.Broken.Seq != 1 || rep.Entries != 5 {
		t.Fatalf("report of a cut log: %+v", rep)
	}
}
