package signal

import "github.com/kaigi-meet/kaigi/internal/wire"

// RestartICE implements sfu.ICERestarter: the participant's transport went
// down on the server's side, and the client is asked to restart ICE
// (docs/protocol.md, ice_restart). Called from the SFU's goroutines.
func (s *session) RestartICE() {
	s.send(wire.Bare{Type: wire.TypeICERestart})
}
