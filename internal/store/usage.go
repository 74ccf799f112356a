package store

import (
	"context"
	"fmt"
	"time"

	"github.com/kaigi-meet/kaigi/internal/usage"
)

// AddUsage adds days' figures to usage_days in one transaction: counts and
// seconds are added to the day's row, the greater peak is kept.
func (s *DB) AddUsage(ctx context.Context, days []usage.Day) error {
	return s.inTx(ctx, func(tx *txn) error {
		for _, d := range days {
			if _, err := time.Parse(usage.DateFormat, d.Date); err != nil {
				return fmt.Errorf("usage day %q: %w", d.Date, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO usage_days
				(day, meetings, participants, participant_seconds, meeting_seconds, peak_participants)
				VALUES (?, ?, ?, ?, ?, ?)
				ON CONFLICT (day) DO UPDATE SET
					meetings = usage_days.meetings + excluded.meetings,
					participants = usage_days.participants + excluded.participants,
					participant_seconds = usage_days.participant_seconds + excluded.participant_seconds,
					meeting_seconds = usage_days.meeting_seconds + excluded.meeting_seconds,
					peak_participants = CASE WHEN excluded.peak_participants > usage_days.peak_participants
						THEN excluded.peak_participants ELSE usage_days.peak_participants END`,
				d.Date, d.Meetings, d.Participants, d.ParticipantSeconds, d.MeetingSeconds, d.PeakParticipants); err != nil {
				return fmt.Errorf("add usage of %s: %w", d.Date, err)
			}
		}
		return nil
	})
}

// UsageDays returns the rows of usage_days from from to to (UTC dates,
// inclusive), by date.
func (s *DB) UsageDays(ctx context.Context, from, to time.Time) ([]usage.Day, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT day, meetings, participants, participant_seconds, meeting_seconds, peak_participants
		FROM usage_days WHERE day >= ? AND day <= ? ORDER BY day`,
		from.UTC().Format(usage.DateFormat), to.UTC().Format(usage.DateFormat))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []usage.Day
	for rows.Next() {
		var d usage.Day
		if err := rows.Scan(&d.Date, &d.Meetings, &d.Participants, &d.ParticipantSeconds, &d.MeetingSeconds, &d.PeakParticipants); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// PruneUsage deletes the usage figures of the UTC days before before's
// (for retention) and says how many days went.
func (s *DB) PruneUsage(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM usage_days WHERE day < ?`, before.UTC().Format(usage.DateFormat))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
