package signal

import (
	"testing"

	"github.com/coder/websocket"
	"github.com/kaigi-meet/kaigi/internal/live"
	"github.com/kaigi-meet/kaigi/internal/wire"
)

// TestCloseStatus: a room's reasons become the close codes the sockets
// were closed with when the room wrote them itself: a meeting's ordinary
// ends are normal closures, a stopping server goes away, and being put
// out is a policy violation.
func TestCloseStatus(t *testing.T) {
	for _, tt := range []struct {
		r    live.Reason
		want websocket.StatusCode
	}{
		{live.Closed(wire.ClosedReplaced, ""), websocket.StatusNormalClosure},
		{live.Closed(wire.ClosedEnded, ""), websocket.StatusNormalClosure},
		{live.Closed(wire.ClosedBreakoutEnded, ""), websocket.StatusNormalClosure},
		{live.Closed(wire.ClosedShutdown, ""), websocket.StatusGoingAway},
		{live.Closed(wire.ClosedRemoved, ""), websocket.StatusPolicyViolation},
		{live.Closed(wire.ClosedFlooding, ""), websocket.StatusPolicyViolation},
		{live.Closed(wire.ClosedSignedOut, ""), websocket.StatusPolicyViolation},
		{live.Closed(wire.ClosedAccountSuspended, ""), websocket.StatusPolicyViolation},
		{live.Closed(wire.ClosedAccountDeleted, ""), websocket.StatusPolicyViolation},
		{live.Refused(wire.CodeDenied, ""), websocket.StatusPolicyViolation},
	} {
		if got := closeStatus(tt.r); got != tt.want {
			t.Errorf("%+v closes with %v, want %v", tt.r, got, tt.want)
		}
	}
}
