package cascade

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/sfu"
)

// TestClusterRelayOpensAgainAtOnce: an entry node's router for a meeting
// closes with its last member and a new one opens right after (another
// member arrives), which asks for the meeting's media at once. The new
// relay comes up: the meeting's node dropped the old relay as soon as it
// heard it closed (a "want" that follows finds no relay to skip for), and
// it closes its own end of the old one without a "closed_out" that would
// end the new one. Media keeps reaching the new member.
func TestClusterRelayOpensAgainAtOnce(t *testing.T) {
	nodes := startNodes(t, map[string]bool{"eu1": true, "eu2": true}, "eu1", "eu2")
	eu1, eu2 := nodes["eu1"], nodes["eu2"]
	var current atomic.Pointer[sfu.Router]
	current.Store(eu2.router)
	eu2.cascade.opts.Router = func(meeting string) *sfu.Router {
		if meeting == "m" {
			return current.Load()
		}
		return nil
	}

	cam := newClient(t, eu1.router, "ada").publishCamera()
	var i uint32
	receives := func(c *client, what string) {
		t.Helper()
		n := len(c.payloads())
		await(t, 30*time.Second, what, func() bool {
			if err := cam.write(payload(i)); err != nil {
				t.Fatal(err)
			}
			i++
			return len(c.payloads()) >= n+50
		})
	}
	bob := newClient(t, eu2.router, "bob")
	if err := eu2.cascade.Receive("m", "eu1"); err != nil {
		t.Fatal(err)
	}
	receives(bob, "Bob on eu2 never received eu1's publisher")

	// Bob's router goes, Cy's takes its place at once and asks again
	// (made beforehand, so that nothing delays the asking).
	s, err := sfu.New(sfu.Config{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	r2 := s.NewRouter("m")
	t.Cleanup(r2.Close)
	cy := newClient(t, r2, "cy")
	eu2.router.Close()
	current.Store(r2)
	if err := eu2.cascade.Receive("m", "eu1"); err != nil {
		t.Fatal(err)
	}
	receives(cy, "Cy on eu2's new router never received eu1's publisher")
	// Whatever news of the old relay was on its way has arrived by now
	// (NATS keeps each node's order): the new one is still up.
	receives(cy, "Cy stopped receiving: the new relay was closed")
	if out, _ := eu1.cascade.Relays(); out != 1 {
		t.Fatalf("eu1 sends %d relays, want 1", out)
	}
	if _, in := eu2.cascade.Relays(); in != 1 {
		t.Fatalf("eu2 receives %d relays, want 1", in)
	}
}
