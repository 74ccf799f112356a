package server_test

import (
	"context"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/sfu"
)

// TestGhostTool checks the tampered-server tool the browser tests rely on:
// a ghost attached to the SFU receives what is forwarded, and what it
// injects reaches the participants. (In an unencrypted meeting, that is
// the whole danger; the browser tests show E2EE defeats both.)
func TestGhostTool(t *testing.T) {
	srv := startServer(t, nil)
	id := srv.newMeeting(t)
	ada := srv.join(t, id, "Ada", "camera")
	bob := srv.join(t, id, "Bob")
	receiving(t, bob, ada, "camera", 10)

	g := srv.Ghost(t, id)
	err := bob.WaitFor(waitCtx(t), "the ghost to receive Ada's camera", func() bool {
		tr := g.Track(ada.Self().ID, "camera")
		return tr != nil && tr.Packets() > 10 && len(tr.Payloads()) > 0
	})
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	g.Inject(ctx, sfu.SourceScreen, func(n int) []byte { return []byte{0x10, 0x00, 0x9d, 0x01, 0x2a, byte(n)} })
	err = bob.WaitFor(waitCtx(t), "the injected track", func() bool {
		rt := bob.Track(g.ID, "screen")
		return rt != nil && rt.Packets() > 5
	})
	if err != nil {
		t.Fatal(err)
	}
}
