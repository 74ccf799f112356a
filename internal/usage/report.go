package usage

import (
	"errors"
	"fmt"
	"sort"
	"time"
)

// MaxDays bounds a report's range: a year, leap day included.
const MaxDays = 366

// By is how a report groups days.
type By string

// The groupings of a report.
const (
	ByDay  By = "day"
	ByWeek By = "week" // ISO weeks, Monday to Sunday (the first and last may be cut by the range)
)

// ErrRange is a report's range or grouping that is not allowed.
var ErrRange = errors.New("bad usage range")

// Range is a report's days, from and to inclusive (UTC midnights), and
// how they are grouped.
type Range struct {
	From, To time.Time
	By       By
}

// ParseRange reads from and to (YYYY-MM-DD) and by (day or week); an empty
// to is today, an empty from the 30 days (by day) or 12 weeks (by week)
// up to to, an empty by is day. It refuses a from after to and a range of
// more than MaxDays days.
func ParseRange(from, to, by string, now time.Time) (Range, error) {
	var rg Range
	switch By(by) {
	case "", ByDay:
		rg.By = ByDay
	case ByWeek:
		rg.By = ByWeek
	default:
		return rg, fmt.Errorf("%w: by must be day or week", ErrRange)
	}
	today := now.UTC().Truncate(24 * time.Hour)
	rg.To = today
	if to != "" {
		t, err := time.Parse(DateFormat, to)
		if err != nil {
			return rg, fmt.Errorf("%w: to must be a date, YYYY-MM-DD", ErrRange)
		}
		rg.To = t
	}
	if from == "" {
		if rg.By == ByWeek {
			rg.From = weekStart(rg.To).AddDate(0, 0, -7*11)
		} else {
			rg.From = rg.To.AddDate(0, 0, -29)
		}
	} else {
		f, err := time.Parse(DateFormat, from)
		if err != nil {
			return rg, fmt.Errorf("%w: from must be a date, YYYY-MM-DD", ErrRange)
		}
		rg.From = f
	}
	if rg.From.After(rg.To) {
		return rg, fmt.Errorf("%w: from is after to", ErrRange)
	}
	if n := rg.days(); n > MaxDays {
		return rg, fmt.Errorf("%w: at most %d days at once, not %d", ErrRange, MaxDays, n)
	}
	return rg, nil
}

func (rg Range) days() int { return int(rg.To.Sub(rg.From)/(24*time.Hour)) + 1 }

// weekStart is the Monday of d's ISO week.
func weekStart(d time.Time) time.Time {
	back := (int(d.Weekday()) + 6) % 7 // Monday 0 … Sunday 6
	return d.AddDate(0, 0, -back)
}

// Bucket is the figures of one day or week.
type Bucket struct {
	Start, End         string // first and last day, YYYY-MM-DD
	Meetings           int64
	Participants       int64
	ParticipantMinutes int64 // rounded to the nearest minute
	MeetingMinutes     int64
	PeakParticipants   int64
}

// Report is a range's figures by bucket, every bucket present (zeros
// included), and its totals (the minutes added before rounding, the
// peak the greatest of the buckets').
type Report struct {
	Range   Range
	Buckets []Bucket
	Totals  Bucket
}

// BuildReport groups days (any order; those outside the range are left
// out) into the range's buckets.
func BuildReport(rg Range, days []Day) Report {
	var buckets []Bucket
	index := map[string]int{} // a day's date → its bucket
	for d := rg.From; !d.After(rg.To); {
		end := d
		if rg.By == ByWeek {
			end = weekStart(d).AddDate(0, 0, 6)
			if end.After(rg.To) {
				end = rg.To
			}
		}
		for x := d; !x.After(end); x = x.AddDate(0, 0, 1) {
			index[x.Format(DateFormat)] = len(buckets)
		}
		buckets = append(buckets, Bucket{Start: d.Format(DateFormat), End: end.Format(DateFormat)})
		d = end.AddDate(0, 0, 1)
	}
	pSec := make([]int64, len(buckets))
	mSec := make([]int64, len(buckets))
	var total Day
	for _, day := range days {
		i, ok := index[day.Date]
		if !ok {
			continue
		}
		b := &buckets[i]
		b.Meetings += day.Meetings
		b.Participants += day.Participants
		b.PeakParticipants = max(b.PeakParticipants, day.PeakParticipants)
		pSec[i] += day.ParticipantSeconds
		mSec[i] += day.MeetingSeconds
		total.Meetings += day.Meetings
		total.Participants += day.Participants
		total.ParticipantSeconds += day.ParticipantSeconds
		total.MeetingSeconds += day.MeetingSeconds
		total.PeakParticipants = max(total.PeakParticipants, day.PeakParticipants)
	}
	for i := range buckets {
		buckets[i].ParticipantMinutes = minutes(pSec[i])
		buckets[i].MeetingMinutes = minutes(mSec[i])
	}
	return Report{Range: rg, Buckets: buckets, Totals: Bucket{
		Start: rg.From.Format(DateFormat), End: rg.To.Format(DateFormat),
		Meetings: total.Meetings, Participants: total.Participants,
		ParticipantMinutes: minutes(total.ParticipantSeconds), MeetingMinutes: minutes(total.MeetingSeconds),
		PeakParticipants: total.PeakParticipants,
	}}
}

func minutes(seconds int64) int64 { return (seconds + 30) / 60 }

// merge adds to stored days the pending ones (sums added, the greater
// peak), keeping only dates from from to to, in order.
func merge(stored []Day, pending map[string]Day, from, to string) []Day {
	byDate := make(map[string]Day, len(stored)+len(pending))
	for _, d := range stored {
		byDate[d.Date] = d
	}
	for date, p := range pending {
		if date < from || date > to {
			continue
		}
		d := byDate[date]
		d.Date = date
		d.Meetings += p.Meetings
		d.Participants += p.Participants
		d.ParticipantSeconds += p.ParticipantSeconds
		d.MeetingSeconds += p.MeetingSeconds
		d.PeakParticipants = max(d.PeakParticipants, p.PeakParticipants)
		byDate[date] = d
	}
	out := make([]Day, 0, len(byDate))
	for _, d := range byDate {
		if d != (Day{Date: d.Date}) {
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Date < out[j].Date })
	return out
}
