package live

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/meeting"
)

// TestParticipantAccount: a signed-in participant carries their account's
// ID, a guest none.
func TestParticipantAccount(t *testing.T) {
	for _, tt := range []struct {
		user, want string
	}{
		{"k7q2m4x9ab3c5d7e", `"account":"k7q2m4x9ab3c5d7e"`},
		{"", ""},
	} {
		b, err := json.Marshal(toParticipantJSON(meeting.Participant{ID: "p1", Name: "Ada", Identity: meeting.Identity{UserID: tt.user}}))
		if err != nil {
			t.Fatal(err)
		}
		if tt.want != "" && !strings.Contains(string(b), tt.want) {
			t.Errorf("participant of account %q = %s, want %s", tt.user, b, tt.want)
		}
		if tt.want == "" && strings.Contains(string(b), `"account"`) {
			t.Errorf("guest = %s, want no account", b)
		}
	}
}
