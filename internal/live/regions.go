package live

import (
	"context"
	"fmt"
	"reflect"

	"github.com/kaigi-meet/kaigi/internal/meeting"
)

// Refusal is a join refused by where it comes from or where the meeting
// may be held: the refusal's code (wire.CodeCountryNotAllowed,
// wire.CodeRegionNotAllowed) and the sentence that says which rule. The
// transport runs those checks before taking the room's lock and puts
// their verdicts in Stored; Room.Join applies them inside it, so that a
// room opened for a refused joiner closes again.
type Refusal struct{ Code, Message string }

func (e *Refusal) Error() string { return e.Code }

// refusedByCountry is Join's test for a new joiner: the country check's
// verdict (nil admits). Never applied to a participant resuming or moving
// between rooms.
func refusedByCountry(st *Stored) error {
	if st == nil {
		return nil
	}
	return st.Country
}

// refusedByRegion is Join's test for anyone: the region check's verdict.
func refusedByRegion(st *Stored) error {
	if st == nil {
		return nil
	}
	return st.Region
}

var errNoGeoIP = fmt.Errorf("%w: country rules need a GeoIP database, and this server has none", meeting.ErrBadSettings)

// countryRuleSettable refuses a country rule set or changed where no
// country can be checked (one set before the database went is kept).
func (h *Hub) countryRuleSettable(cur, next *meeting.CountryRule) error {
	if !h.opts.CountryRules && next.On() && !reflect.DeepEqual(next, cur) {
		return errNoGeoIP
	}
	return nil
}

// EndOutsideRegions ends, for everyone in them, the live meetings this
// node may no longer hold after their regions or the organisation's
// changed: check gives the sentence for a meeting's own regions ("" keeps
// it). It returns how many it ended.
func (h *Hub) EndOutsideRegions(ctx context.Context, check func(ctx context.Context, own *meeting.Regions) (refusal string, err error)) int {
	ended := 0
	for _, r := range h.liveRooms() {
		r.mu.Lock()
		own := r.core.Settings().Regions
		r.mu.Unlock()
		refusal, err := check(ctx, own)
		if err != nil || refusal == "" {
			continue
		}
		if h.withLiveRoom(r.id, func(r *Room) {
			r.endLocked("", refusal)
			r.log.Info("meeting ended: this node is outside its regions now")
		}) {
			ended++
		}
	}
	return ended
}
