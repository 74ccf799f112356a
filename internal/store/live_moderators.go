package store

import (
	"context"
	"encoding/json"

	"github.com/kaigi-meet/kaigi/internal/meeting"
)

// ModeratesLive reports whether the account userID is in the live meeting
// now as its host or a co-host, as the meeting's node keeps it in
// live_participants (live.go: written as roles change, gone when the
// participant leaves or the meeting ends; a node that died leaves its rows
// for the window its people have to come back). Any node of a cluster can
// ask: the HTTP API lets co-hosts manage what only the owner could
// (httpapi ingest.go), for as long as they are co-hosts.
func (s *DB) ModeratesLive(ctx context.Context, meetingID, userID string) (bool, error) {
	if meetingID == "" || userID == "" {
		return false, nil
	}
	rows, err := s.db.QueryContext(ctx, `SELECT state FROM live_participants WHERE meeting_id = ?`, meetingID)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	for rows.Next() {
		var state string
		if err := rows.Scan(&state); err != nil {
			return false, err
		}
		var st keptState
		if json.Unmarshal([]byte(state), &st) != nil || st.UserID != userID {
			continue
		}
		if r := meeting.Role(st.Role); r == meeting.RoleHost || r == meeting.RoleCoHost {
			return true, nil
		}
	}
	return false, rows.Err()
}
