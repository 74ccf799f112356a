package cluster

import (
	"errors"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/meeting"
)

// TestClusterMoveTo: a meeting placed on a (eu) moves only from a, only
// to a node up, allowed and not draining other than a. Refused, with
// ErrNoNode and nothing changed: to a itself, to c outside the meeting's
// regions (us), to a node not up, and with no node named when the only
// other allowed node drains. Asked of b, which does not hold it:
// ErrNotPlacedHere. Named b: the placement names b, and a second move
// from a (it no longer holds it) is ErrNotPlacedHere, so that two racing
// moves cannot both take it. With no node named (b holding it, a and d
// allowed, d lighter): d.
func TestClusterMoveTo(t *testing.T) {
	c := newTestCluster(t)
	a := c.start("a", "eu")
	b := c.start("b", "eu")
	c.start("c", "us")
	ctx := ctxT(t)
	id := meeting.NewID()
	eu := meeting.Regions{"eu"}
	if err := a.Claim(ctx, id); err != nil {
		t.Fatal(err)
	}
	holder := func(want string) {
		t.Helper()
		if got, err := a.Holder(ctx, id); err != nil || got != want {
			t.Fatalf("placed on %q (%v), want %q", got, err, want)
		}
	}
	for name, target := range map[string]string{"itself": "a", "outside its regions": "c", "not up": "z"} {
		if _, err := a.MoveTo(ctx, id, target, eu, true); !errors.Is(err, ErrNoNode) {
			t.Fatalf("a move to %s: %v, want ErrNoNode", name, err)
		}
		holder("a")
	}
	if _, err := b.MoveTo(ctx, id, "", eu, true); !errors.Is(err, ErrNotPlacedHere) {
		t.Fatalf("a move asked of b, which does not hold it: %v, want ErrNotPlacedHere", err)
	}
	b.SetDraining(true)
	await(t, 20*testTTL, "b draining", func() bool {
		nodes, _ := a.Nodes(ctx)
		info, ok := find(nodes, "b")
		return ok && info.Draining
	})
	if _, err := a.MoveTo(ctx, id, "", eu, true); !errors.Is(err, ErrNoNode) {
		t.Fatalf("a move with the only other allowed node draining: %v, want ErrNoNode", err)
	}
	holder("a")
	b.SetDraining(false)
	await(t, 20*testTTL, "b not draining", func() bool {
		nodes, _ := a.Nodes(ctx)
		info, ok := find(nodes, "b")
		return ok && !info.Draining
	})
	if got, err := a.MoveTo(ctx, id, "b", eu, true); err != nil || got.ID != "b" {
		t.Fatalf("a move to b: %s, %v", got.ID, err)
	}
	holder("b")
	if _, err := a.MoveTo(ctx, id, "", eu, true); !errors.Is(err, ErrNotPlacedHere) {
		t.Fatalf("a second move from a: %v, want ErrNotPlacedHere", err)
	}
	holder("b")

	d := c.start("d", "eu")
	a.participants.Store(20)
	awaitLoads(t, d, map[string]int{"a": 20, "b": 0, "c": 0, "d": 0})
	if got, err := b.MoveTo(ctx, id, "", eu, true); err != nil || got.ID != "d" {
		t.Fatalf("a move with no node named: %s, %v; want d (a is loaded, c outside)", got.ID, err)
	}
	holder("d")
}
