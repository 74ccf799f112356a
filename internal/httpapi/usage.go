package httpapi

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/kaigi-meet/kaigi/internal/usage"
)

// UsageFigures are the server's usage figures by UTC day, those not yet
// stored included (*usage.Recorder implements it).
type UsageFigures interface {
	Figures(ctx context.Context, from, to time.Time) ([]usage.Day, error)
}

// usageBucketJSON is one day or week of GET /api/admin/usage.
type usageBucketJSON struct {
	Start              string `json:"start"`
	End                string `json:"end"`
	Meetings           int64  `json:"meetings"`
	Participants       int64  `json:"participants"`
	ParticipantMinutes int64  `json:"participantMinutes"`
	MeetingMinutes     int64  `json:"meetingMinutes"`
	PeakParticipants   int64  `json:"peakParticipants"`
}

type usageJSON struct {
	From    string            `json:"from"`
	To      string            `json:"to"`
	By      string            `json:"by"`
	Buckets []usageBucketJSON `json:"buckets"`
	Totals  usageBucketJSON   `json:"totals"`
}

func toUsageBucketJSON(b usage.Bucket) usageBucketJSON {
	return usageBucketJSON{Start: b.Start, End: b.End, Meetings: b.Meetings, Participants: b.Participants,
		ParticipantMinutes: b.ParticipantMinutes, MeetingMinutes: b.MeetingMinutes, PeakParticipants: b.PeakParticipants}
}

// adminUsage handles GET /api/admin/usage?from=YYYY-MM-DD&to=YYYY-MM-DD&by=day|week:
// the figures of every day or week of the range (at most usage.MaxDays
// days), zeros included, and their totals.
func (a *api) adminUsage(w http.ResponseWriter, r *http.Request) {
	if _, ok := a.admin(w, r); !ok {
		return
	}
	q := r.URL.Query()
	rg, err := usage.ParseRange(q.Get("from"), q.Get("to"), q.Get("by"), a.now())
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), usage.ErrRange.Error()+": ")
		writeError(w, http.StatusBadRequest, "bad_range", "The usage range is not valid: "+msg+".")
		return
	}
	if a.usage == nil {
		writeError(w, http.StatusServiceUnavailable, "unavailable", "Usage figures are not kept on this server.")
		return
	}
	days, err := a.usage.Figures(r.Context(), rg.From, rg.To)
	if err != nil {
		a.internal(w, "read usage figures", err)
		return
	}
	rep := usage.BuildReport(rg, days)
	out := usageJSON{From: rg.From.Format(usage.DateFormat), To: rg.To.Format(usage.DateFormat), By: string(rg.By),
		Buckets: make([]usageBucketJSON, len(rep.Buckets)), Totals: toUsageBucketJSON(rep.Totals)}
	for i, b := range rep.Buckets {
		out.Buckets[i] = toUsageBucketJSON(b)
	}
	writeJSON(w, http.StatusOK, out)
}
