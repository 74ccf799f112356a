package httpapi

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kaigi-meet/kaigi/internal/audit"
	"github.com/kaigi-meet/kaigi/internal/auth"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/store"
)

// Meetings is the storage the meetings API needs.
type Meetings interface {
	CreateMeeting(ctx context.Context, m meeting.Record) error
	Meeting(ctx context.Context, id meeting.ID) (meeting.Record, error)
	UpdateMeeting(ctx context.Context, m meeting.Record) error
	DeleteMeeting(ctx context.Context, id meeting.ID) error
	MeetingsOwnedBy(ctx context.Context, ownerID string) ([]meeting.Record, error)
	PersonalMeeting(ctx context.Context, ownerID string) (meeting.Record, error)
	// LockMeeting is an administrator's lock with its audit entry, in
	// one transaction (livemeetings.go).
	LockMeeting(ctx context.Context, id meeting.ID, locked bool, e audit.Entry) (audit.Entry, error)
}

// meetingJSON is a meeting as the API shows it. Anyone with the link sees
// the public part; its owner also sees the settings, the passcode and the
// invitation link that carries it.
type meetingJSON struct {
	ID              string            `json:"id"`
	Kind            string            `json:"kind"`
	Title           string            `json:"title"`
	StartsAt        string            `json:"startsAt,omitempty"`
	DurationMinutes int               `json:"durationMinutes,omitempty"`
	Host            string            `json:"host,omitempty"`
	E2EE            bool              `json:"e2ee"`
	NeedsPasscode   bool              `json:"needsPasscode"`
	RequireSignIn   bool              `json:"requireSignIn"`
	URL             string            `json:"url"`
	Owner           bool              `json:"owner"`
	Settings        *meeting.Settings `json:"settings,omitempty"`
	Passcode        string            `json:"passcode,omitempty"`
	InviteURL       string            `json:"inviteUrl,omitempty"`
}

func (a *api) toMeetingJSON(r *http.Request, m meeting.Record, owner bool, hostName string) meetingJSON {
	out := meetingJSON{
		ID: string(m.ID), Kind: string(m.Kind), Title: m.Title, Host: hostName,
		E2EE: m.Settings.E2EE, NeedsPasscode: m.Settings.Passcode, RequireSignIn: m.Settings.RequireSignIn,
		URL: a.baseURL(r) + "/m/" + string(m.ID), Owner: owner,
	}
	if !m.StartsAt.IsZero() {
		out.StartsAt = m.StartsAt.UTC().Format(time.RFC3339)
		out.DurationMinutes = int(m.Duration / time.Minute)
	}
	if owner {
		s := m.Settings
		out.Settings, out.Passcode = &s, m.Passcode
		// In the fragment, which browsers never send to the server: the
		// passcode, and whether the meeting is end-to-end encrypted, which
		// the joining browser then holds the server to.
		fragment := "#"
		if m.Settings.Passcode && m.Passcode != "" {
			fragment += "pwd=" + url.QueryEscape(m.Passcode) + "&"
		}
		e2ee := "0"
		if m.Settings.E2EE {
			e2ee = "1"
		}
		out.InviteURL = out.URL + fragment + "e2ee=" + e2ee
	}
	return out
}

// meetingRequest is what a host sends to create or change a meeting.
type meetingRequest struct {
	Kind            string            `json:"kind"`
	Title           string            `json:"title"`
	StartsAt        string            `json:"startsAt"`
	DurationMinutes int               `json:"durationMinutes"`
	Settings        *meeting.Settings `json:"settings"`
	// NewPasscode asks for a fresh passcode (the old one stops working).
	NewPasscode bool `json:"newPasscode"`
}

const maxTitle = 200

// apply checks req and copies it into rec.
func (req meetingRequest) apply(rec *meeting.Record) (string, bool) {
	title := strings.TrimSpace(req.Title)
	if len(title) > maxTitle {
		return "The title must be at most 200 characters.", false
	}
	if _, hidden := meeting.HiddenCharacter(title); hidden {
		return "The title must be on one line, without control characters or invisible formatting characters (such as zero-width spaces or direction marks).", false
	}
	rec.Title = title
	if req.StartsAt != "" {
		t, err := time.Parse(time.RFC3339, req.StartsAt)
		if err != nil {
			return "startsAt must be an RFC 3339 time, like 2026-12-01T09:00:00Z.", false
		}
		rec.StartsAt = t.UTC()
	}
	if req.DurationMinutes < 0 || req.DurationMinutes > 24*60 {
		return "durationMinutes must be between 0 and 1440.", false
	}
	if req.DurationMinutes > 0 {
		rec.Duration = time.Duration(req.DurationMinutes) * time.Minute
	}
	if req.Settings != nil {
		if err := req.Settings.Validate(); err != nil {
			return settingsProblem(err), false
		}
		if req.Settings.Country == nil { // left out: the meeting keeps its country rule
			req.Settings.Country = rec.Settings.Country
		}
		req.Settings.Country = req.Settings.Country.Normalised()
		if req.Settings.Regions == nil { // likewise: left out keeps them
			req.Settings.Regions = rec.Settings.Regions
		}
		req.Settings.Regions = req.Settings.Regions.Normalised()
		locked := rec.Settings.Locked // an administrator's, kept with the meeting: lifted from inside it
		rec.Settings = *req.Settings
		rec.Settings.Locked = locked
	}
	if rec.Settings.Passcode && (rec.Passcode == "" || req.NewPasscode) {
		rec.Passcode = meeting.NewPasscode()
	}
	if !rec.Settings.Passcode {
		rec.Passcode = ""
	}
	return "", true
}

// createMeeting handles POST /api/meetings: an instant or scheduled
// meeting, hosted by the signed-in account, with the organisation's
// default settings unless others are given.
func (a *api) createMeeting(w http.ResponseWriter, r *http.Request) {
	u, ok := a.user(w, r, true)
	if !ok {
		return
	}
	if !a.createLimit.Allow(u.ID) {
		writeError(w, http.StatusTooManyRequests, "rate_limited", "You are creating meetings too fast. Wait a minute.")
		return
	}
	var req meetingRequest
	if r.ContentLength != 0 && !readJSON(w, r, &req) {
		return
	}
	org, err := a.accounts.Org(r.Context())
	if err != nil {
		a.internal(w, "read organisation", err)
		return
	}
	rec := meeting.Record{ID: meeting.NewID(), Kind: meeting.KindInstant, OwnerID: u.ID, Settings: org.MeetingDefaults, CreatedAt: a.now()}
	switch req.Kind {
	case "", "instant":
	case "scheduled":
		rec.Kind = meeting.KindScheduled
		if req.StartsAt == "" {
			writeError(w, http.StatusBadRequest, "bad_request", "A scheduled meeting needs startsAt.")
			return
		}
	default:
		writeError(w, http.StatusBadRequest, "bad_request", `kind must be "instant" or "scheduled".`)
		return
	}
	if req.Settings != nil && a.noCountryRules(w, req.Settings.Country) {
		return
	}
	if msg, ok := req.apply(&rec); !ok {
		writeError(w, http.StatusBadRequest, "bad_request", msg)
		return
	}
	if rec.Title == "" {
		rec.Title = u.Name + "'s meeting"
	}
	if err := a.meetings.CreateMeeting(r.Context(), rec); err != nil {
		a.internal(w, "create meeting", err)
		return
	}
	a.log.Info("meeting created", "meeting", rec.ID, "user", u.ID, "kind", rec.Kind)
	writeJSON(w, http.StatusCreated, a.toMeetingJSON(r, rec, true, u.Name))
}

// listMeetings handles GET /api/meetings: the signed-in account's
// meetings, its personal room first (made on first use).
func (a *api) listMeetings(w http.ResponseWriter, r *http.Request) {
	u, ok := a.user(w, r, true)
	if !ok {
		return
	}
	if _, err := a.personalRoom(r.Context(), u); err != nil {
		a.internal(w, "personal meeting", err)
		return
	}
	recs, err := a.meetings.MeetingsOwnedBy(r.Context(), u.ID)
	if err != nil {
		a.internal(w, "list meetings", err)
		return
	}
	out := make([]meetingJSON, len(recs))
	for i, m := range recs {
		out[i] = a.toMeetingJSON(r, m, true, u.Name)
	}
	writeJSON(w, http.StatusOK, map[string]any{"meetings": out})
}

// personalRoom returns the account's personal meeting, creating it the
// first time.
func (a *api) personalRoom(ctx context.Context, u auth.User) (meeting.Record, error) {
	rec, err := a.meetings.PersonalMeeting(ctx, u.ID)
	if !errors.Is(err, store.ErrNotFound) {
		return rec, err
	}
	org, err := a.accounts.Org(ctx)
	if err != nil {
		return rec, err
	}
	rec = meeting.Record{ID: meeting.NewID(), Kind: meeting.KindPersonal, Title: u.Name + "'s personal room",
		OwnerID: u.ID, Settings: org.MeetingDefaults, CreatedAt: a.now()}
	if rec.Settings.Passcode {
		rec.Passcode = meeting.NewPasscode()
	}
	return rec, a.meetings.CreateMeeting(ctx, rec)
}

// getMeeting handles GET /api/meetings/{id}. Knowing the ID is the proof
// of having the link, so anyone may learn what the join screen needs; the
// owner sees everything.
func (a *api) getMeeting(w http.ResponseWriter, r *http.Request) {
	if !a.lookupLimit.Allow(clientIP(r)) {
		writeError(w, http.StatusTooManyRequests, "rate_limited", "Too many look-ups from your network. Wait a minute.")
		return
	}
	rec, ok := a.loadMeeting(w, r)
	if !ok {
		return
	}
	owner := false
	if u, err := a.accounts.Authenticate(r.Context(), sessionToken(r)); err == nil && u.ID == rec.OwnerID {
		owner = true
	}
	host := ""
	if rec.OwnerID != "" {
		if hu, err := a.accounts.UserName(r.Context(), rec.OwnerID); err == nil {
			host = hu
		}
	}
	writeJSON(w, http.StatusOK, a.toMeetingJSON(r, rec, owner, host))
}

// updateMeeting handles PATCH /api/meetings/{id}; owner only. Changes reach
// a meeting in progress when it next starts; hosts change a running
// meeting from inside it.
func (a *api) updateMeeting(w http.ResponseWriter, r *http.Request) {
	u, ok := a.user(w, r, true)
	if !ok {
		return
	}
	rec, ok := a.loadOwned(w, r, u)
	if !ok {
		return
	}
	var req meetingRequest
	if !readJSON(w, r, &req) {
		return
	}
	if req.Kind != "" && req.Kind != string(rec.Kind) {
		writeError(w, http.StatusBadRequest, "bad_request", "A meeting's kind cannot change.")
		return
	}
	if req.Title == "" {
		req.Title = rec.Title
	}
	if req.Settings != nil && a.noCountryRules(w, req.Settings.Country) {
		return
	}
	before := rec.Settings.Regions
	if msg, ok := req.apply(&rec); !ok {
		writeError(w, http.StatusBadRequest, "bad_request", msg)
		return
	}
	if err := a.meetings.UpdateMeeting(r.Context(), rec); err != nil {
		a.internal(w, "update meeting", err)
		return
	}
	// Only a change of regions asks for the check (on a cluster, a
	// kaigi.regions.changed broadcast to every node), not every save.
	if !sameRegions(before, rec.Settings.Regions) {
		a.endOutsideRegions(r.Context())
	}
	writeJSON(w, http.StatusOK, a.toMeetingJSON(r, rec, true, u.Name))
}

// deleteMeeting handles DELETE /api/meetings/{id}; owner only, and not the
// personal room.
func (a *api) deleteMeeting(w http.ResponseWriter, r *http.Request) {
	u, ok := a.user(w, r, true)
	if !ok {
		return
	}
	rec, ok := a.loadOwned(w, r, u)
	if !ok {
		return
	}
	if rec.Kind == meeting.KindPersonal {
		writeError(w, http.StatusBadRequest, "bad_request", "Your personal room cannot be deleted.")
		return
	}
	if err := a.meetings.DeleteMeeting(r.Context(), rec.ID); err != nil {
		a.internal(w, "delete meeting", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *api) loadMeeting(w http.ResponseWriter, r *http.Request) (meeting.Record, bool) {
	id, err := meeting.ParseID(r.PathValue("id"))
	if err == nil {
		var rec meeting.Record
		rec, err = a.meetings.Meeting(r.Context(), id)
		if err == nil {
			return rec, true
		}
		if !errors.Is(err, store.ErrNotFound) {
			a.internal(w, "look up meeting", err)
			return rec, false
		}
	}
	writeError(w, http.StatusNotFound, "meeting_not_found", "There is no meeting with this link. Check the link, or ask the host for a new one.")
	return meeting.Record{}, false
}

// loadOwned loads a meeting and checks the account owns it; to anyone
// else it does not exist.
func (a *api) loadOwned(w http.ResponseWriter, r *http.Request, u auth.User) (meeting.Record, bool) {
	rec, ok := a.loadMeeting(w, r)
	if ok && rec.OwnerID != u.ID {
		writeError(w, http.StatusNotFound, "meeting_not_found", "You have no meeting with this ID.")
		return rec, false
	}
	return rec, ok
}

// baseURL is the origin of the links we hand out: the configured public
// URL or, without one, the address this request reached. The Host header
// is used only when it names that same address (or localhost, reached on
// loopback): anyone can send any Host, and links built from it would send
// invitees to the sender's site.
func (a *api) baseURL(r *http.Request) string {
	if a.publicURL != "" {
		return a.publicURL
	}
	scheme, defaultPort := "http", "80"
	if r.TLS != nil {
		scheme, defaultPort = "https", "443"
	}
	addr, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if addr == nil {
		return scheme + "://localhost"
	}
	local, err := netip.ParseAddrPort(addr.String())
	if err != nil {
		return scheme + "://localhost"
	}
	local = netip.AddrPortFrom(local.Addr().Unmap().WithZone(""), local.Port())
	if namesAddress(r.Host, local, defaultPort) {
		return scheme + "://" + r.Host
	}
	return scheme + "://" + local.String()
}

// namesAddress reports whether a Host header names local: its IP (or
// localhost, for a loopback address) and its port.
func namesAddress(host string, local netip.AddrPort, defaultPort string) bool {
	name, port, err := net.SplitHostPort(host)
	if err != nil {
		name, port = host, defaultPort
	}
	if port != strconv.Itoa(int(local.Port())) {
		return false
	}
	if name == "localhost" {
		return local.Addr().IsLoopback()
	}
	ip, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(name, "["), "]"))
	return err == nil && ip.Unmap() == local.Addr()
}

// settingsProblem is the sentence for settings that Validate refused,
// naming what is wrong (e.g. a code that is no country).
func settingsProblem(err error) string {
	return "Those meeting settings are not valid: " + strings.TrimPrefix(err.Error(), meeting.ErrBadSettings.Error()+": ") + "."
}

// sameRegions reports whether two meetings' regions name the same set
// (nil and none alike: the organisation's).
func sameRegions(a, b *meeting.Regions) bool {
	a, b = a.Normalised(), b.Normalised()
	if a == nil || b == nil {
		return a == b
	}
	return slices.Equal(*a, *b)
}

// endOutsideRegions ends the live meetings this node may no longer hold
// after a change of their regions or the organisation's: nothing of a
// meeting may pass through a node outside them (meeting/regions.go).
func (a *api) endOutsideRegions(ctx context.Context) {
	if e, ok := a.live.(interface{ EndOutsideRegions(context.Context) int }); ok {
		if n := e.EndOutsideRegions(ctx); n > 0 {
			a.log.Info("meetings ended: this node is outside their regions now", "meetings", n)
		}
	}
}
