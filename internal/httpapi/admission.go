package httpapi

import (
	"context"
	"errors"
	"net/http"
	"net/netip"

	"github.com/kaigi-meet/kaigi/internal/auth"
	"github.com/kaigi-meet/kaigi/internal/meeting"
)

// BanList is what the admission check needs of the store beyond Meetings:
// the bans recorded for a meeting.
type BanList interface {
	Bans(ctx context.Context, id meeting.ID) ([]meeting.Ban, error)
}

var errNoBanList = errors.New("the meeting store keeps no bans")

// maxDeviceID is the longest device ID the check reads, as hello's limit.
const maxDeviceID = 64

// CountryCheck decides whether someone connecting from addr may join a
// meeting whose own country rule is rule: "" admits, else the sentence
// that refuses, naming the rule. Nil when the server has no GeoIP
// database, and then country rules cannot be set.
type CountryCheck func(ctx context.Context, addr netip.Addr, rule *meeting.CountryRule) (refusal string, err error)

// admissionJSON is all GET /api/meetings/{id}/admission tells.
type admissionJSON struct {
	Banned bool `json:"banned"`
	// CountryNotAllowed is the refusal a country rule gives this address,
	// if one does (left out otherwise).
	CountryNotAllowed string `json:"countryNotAllowed,omitempty"`
	// Regions are the only regions the meeting may be held in, when the
	// organisation or the meeting names any (left out otherwise), and
	// RegionNotAllowed the refusal when this node is not among them.
	Regions          meeting.Regions `json:"regions,omitempty"`
	RegionNotAllowed string          `json:"regionNotAllowed,omitempty"`
	// RegionRedirect, with RegionNotAllowed, is the public URL of a live
	// node inside the regions (from the cluster's registry, never from the
	// request), where the pre-join page sends the browser; left out when
	// none is up or announces one.
	RegionRedirect string `json:"regionRedirect,omitempty"`
}

// regionRedirecter is what of the live meetings (signal.Server) names a
// node to send someone to when this one may not hold the meeting.
type regionRedirecter interface {
	RegionRedirect(ctx context.Context, own *meeting.Regions) string
}

// orgOut is GET and PUT /api/admin/org's answer: the policy, and whether
// the server has a GeoIP database (without one, country rules cannot be
// set).
func (a *api) orgOut(org auth.Org) any {
	return struct {
		orgJSON
		GeoIP  bool   `json:"geoip"`
		Region string `json:"region"` // this node's, read-only
	}{orgJSON(org), a.countries != nil, a.region}
}

// noCountryRules answers 400 geoip_unavailable, and reports true, when a
// rule is to be set on a server without a GeoIP database.
func (a *api) noCountryRules(w http.ResponseWriter, rules ...*meeting.CountryRule) bool {
	if a.countries != nil {
		return false
	}
	for _, r := range rules {
		if r.On() {
			writeError(w, http.StatusBadRequest, "geoip_unavailable",
				"Country rules need a GeoIP database, and this server has none: its operator sets geoip.database in the configuration (see docs/operations.md).")
			return true
		}
	}
	return false
}

// admission handles GET /api/meetings/{id}/admission?device=…: whether a
// ban keeps this browser (its device ID), this account (the session
// cookie) or, for a guest, this network out of the meeting, so the
// pre-join page can say so before it turns the camera on. It answers that
// and nothing else: not whether the meeting is locked, running or needs a
// passcode, nor which ban applies. Anyone may ask about themselves only
// (the account and address are the request's own; a device ID is a
// browser's random secret), and asking counts against the same per-address
// limit as looking a meeting up. Joining checks the bans again in any case.
// Where the server has a GeoIP database and a country rule refuses the
// address, it says that too, with the sentence joining would give; and
// where the meeting may be held only in some regions, which, and whether
// this node is outside them (with, in a cluster, the URL of a node inside
// them to go to).
func (a *api) admission(w http.ResponseWriter, r *http.Request) {
	if !a.lookupLimit.Allow(clientIP(r)) {
		writeError(w, http.StatusTooManyRequests, "rate_limited", "Too many look-ups from your network. Wait a minute.")
		return
	}
	device := r.URL.Query().Get("device")
	if len(device) > maxDeviceID {
		writeError(w, http.StatusBadRequest, "bad_request", "That device ID is too long.")
		return
	}
	rec, ok := a.loadMeeting(w, r)
	if !ok {
		return
	}
	bl, ok := a.meetings.(BanList)
	if !ok {
		a.internal(w, "admission check", errNoBanList)
		return
	}
	bans, err := bl.Bans(r.Context(), rec.ID)
	if err != nil {
		a.internal(w, "admission check: bans", err)
		return
	}
	id := meeting.Identity{UserID: Identify(a.accounts)(r), Device: device}
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		id.Addr = ap.Addr().Unmap()
	}
	res := admissionJSON{Banned: meeting.New(rec, meeting.Options{Bans: bans}).Banned(id)}
	if a.countries != nil {
		refusal, err := a.countries(r.Context(), id.Addr, rec.Settings.Country)
		if err != nil {
			a.internal(w, "admission check: country", err)
			return
		}
		res.CountryNotAllowed = refusal
	}
	org, err := a.accounts.Org(r.Context())
	if err != nil {
		a.internal(w, "admission check: regions", err)
		return
	}
	refusal, allowed, named := meeting.RegionVerdict(a.region, org.Regions, rec.Settings.Regions)
	if named {
		res.Regions, res.RegionNotAllowed = allowed, refusal
		if res.Regions == nil {
			res.Regions = meeting.Regions{}
		}
		if rr, ok := a.live.(regionRedirecter); ok && refusal != "" {
			res.RegionRedirect = rr.RegionRedirect(r.Context(), rec.Settings.Regions)
		}
	}
	writeJSON(w, http.StatusOK, res)
}
