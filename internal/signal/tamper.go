package signal

import "github.com/kaigi-meet/kaigi/internal/meeting"

// What a server that has turned against its users can do beyond what it
// already does, for tests that play it (docs/security.md, "Attacks"). The
// server is the adversary of end-to-end encryption: nothing here gives
// its operator anything the operator of a modified server would not have.

// E2EEEpoch returns the epoch of a live meeting's encrypted group, as the
// delivery service tracks it (the epoch every MLS envelope shows).
func (s *Server) E2EEEpoch(id meeting.ID) (epoch uint64, ok bool) {
	return s.hub.E2EEEpoch(id)
}

// SendAsServer writes msg to a participant's socket as if the room had
// sent it: an injected, forged or replayed server message. It reports
// whether the participant was connected.
func (s *Server) SendAsServer(id meeting.ID, participant meeting.ParticipantID, msg any) bool {
	return s.hub.SendAsServer(id, participant, msg)
}
