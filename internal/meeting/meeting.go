package meeting

import (
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/kaigi-meet/kaigi/internal/policy"
)

// DefaultMaxParticipants is the participant limit when Options leaves it zero.
const DefaultMaxParticipants = 100

// Options configure a Meeting. The zero value is usable.
type Options struct {
	// MaxParticipants is the most people admitted at once, counting those
	// whose place is kept while they reconnect but not those waiting.
	MaxParticipants int
	// MaxWaiting is the most people in the waiting room at once, and
	// MaxWaitingPerAddress the most guests from one address (an IPv6 /64)
	// or people on one account; zero means the defaults (capacity.go).
	MaxWaiting, MaxWaitingPerAddress int
	// Bans are the bans already recorded for this meeting.
	Bans []Ban
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Meeting is the live state of one meeting: who is in it, who waits, and
// its rules. It is not safe for concurrent use (see the package comment).
type Meeting struct {
	rec        Record
	max        int
	maxWaiting int
	// maxWaitingPerSource is per address for guests, per account otherwise.
	maxWaitingPerSource int
	now                 func() time.Time
	participants        []*Participant // admitted, in join order
	waiting             []*Participant // in the waiting room, in arrival order
	bans                []Ban
}

// JoinRequest is what a person asks for when joining.
type JoinRequest struct {
	Name     string
	Media    MediaState
	Identity Identity
	Passcode string
}

// JoinResult is the outcome of a successful Join.
type JoinResult struct {
	// Participant is the joiner, admitted or waiting (see its Waiting).
	Participant Participant
	// Admitted lists waiting people the join let in (a host arriving when
	// there is no waiting room).
	Admitted []Participant
	// Rewaiting lists waiting people whose reason changed (a host arriving
	// turns "waiting for the host" into "waiting to be admitted").
	Rewaiting []Participant
}

// New returns an empty meeting for a stored record.
func New(rec Record, opts Options) *Meeting {
	m := &Meeting{rec: rec, max: opts.MaxParticipants, maxWaiting: opts.MaxWaiting,
		maxWaitingPerSource: opts.MaxWaitingPerAddress, now: opts.Now, bans: slices.Clone(opts.Bans)}
	if m.max <= 0 {
		m.max = DefaultMaxParticipants
	}
	if m.maxWaiting <= 0 {
		m.maxWaiting = DefaultMaxWaiting
	}
	if m.maxWaitingPerSource <= 0 {
		m.maxWaitingPerSource = DefaultMaxWaitingPerAddress
	}
	if m.now == nil {
		m.now = time.Now
	}
	return m
}

// Refresh brings a running meeting up to date with its stored record: the
// passcode (one the owner replaced stops working at once) and the bans
// always; the settings only while nobody is admitted, since hosts change
// a running meeting's settings from inside it. Whether it is end-to-end
// encrypted and whether a host locked it stay as they are.
func (m *Meeting) Refresh(rec Record, bans []Ban) {
	if rec.Passcode != "" || !m.rec.Settings.Passcode {
		m.rec.Passcode = rec.Passcode // never a required passcode of ""
	}
	for _, b := range bans {
		if !slices.Contains(m.bans, b) {
			m.bans = append(m.bans, b)
		}
	}
	if len(m.participants) == 0 && rec.Settings.Validate() == nil {
		s := rec.Settings
		s.E2EE, s.Locked = m.rec.Settings.E2EE, m.rec.Settings.Locked
		m.rec.Settings = s
	}
}

// ID returns the meeting's ID.
func (m *Meeting) ID() ID { return m.rec.ID }

// OwnerID returns the account that owns the meeting ("" for none).
func (m *Meeting) OwnerID() string { return m.rec.OwnerID }

// Settings returns the meeting's current settings.
func (m *Meeting) Settings() Settings { return m.rec.Settings }

// Join decides what happens to someone asking to join: admitted, waiting,
// or refused with one of ErrBadName, ErrBanned, ErrLocked,
// ErrSignInRequired, ErrWrongPasscode, ErrMeetingFull, ErrWaitingRoomFull
// or ErrTooManyWaiting. The meeting's owner is never kept out of their own
// meeting, and capacity never keeps out the owner or a host's or
// co-host's account.
func (m *Meeting) Join(req JoinRequest) (JoinResult, error) {
	name, err := NormaliseName(req.Name)
	if err != nil {
		return JoinResult{}, err
	}
	owner := m.IsOwner(req.Identity)
	s := m.rec.Settings
	bannedNetwork := false
	if !owner {
		bannedNetwork = m.bannedNetwork(req.Identity)
		switch {
		case m.banned(req.Identity):
			return JoinResult{}, ErrBanned
		case s.Locked:
			return JoinResult{}, ErrLocked
		case s.RequireSignIn && req.Identity.UserID == "":
			return JoinResult{}, ErrSignInRequired
		case s.Passcode && !passcodeMatches(m.rec.Passcode, req.Passcode):
			return JoinResult{}, ErrWrongPasscode
		}
	}

	p := &Participant{
		ID:        m.freshParticipantID(),
		Name:      name,
		Role:      RoleParticipant,
		Identity:  req.Identity,
		JoinedAt:  m.now().UTC(),
		Media:     req.Media,
		Connected: true,
		// Someone else from a network a host banned: a host decides,
		// with or without a waiting room.
		BannedNetwork: bannedNetwork,
	}
	if owner {
		p.Role = RoleHost
	}
	switch {
	case owner:
	case !s.JoinBeforeHost && !m.hostPresent():
		p.Waiting = WaitForHost
	case s.WaitingRoom || p.BannedNetwork:
		p.Waiting = WaitForRoom
	}
	if p.Waiting != "" {
		if err := m.mayWait(req.Identity); err != nil {
			return JoinResult{}, err
		}
		m.waiting = append(m.waiting, p)
		return JoinResult{Participant: *p}, nil
	}
	if !m.hasRoom(req.Identity) {
		return JoinResult{}, ErrMeetingFull
	}
	m.participants = append(m.participants, p)
	res := JoinResult{Participant: *p}
	res.Admitted, res.Rewaiting = m.settle()
	return res, nil
}

// settle moves waiting people along after something changed: those waiting
// for a host wait to be admitted once a host is there, or come in if there
// is no waiting room; with no waiting room and a host (or join-before-host),
// everyone waiting comes in.
func (m *Meeting) settle() (admitted, rewaiting []Participant) {
	s := m.rec.Settings
	hostHere := s.JoinBeforeHost || m.hostPresent()
	var still []*Participant
	for _, p := range m.waiting {
		switch {
		case !hostHere:
			still = append(still, p)
		case !s.WaitingRoom && !p.BannedNetwork && m.hasRoom(p.Identity):
			p.Waiting = ""
			p.JoinedAt = m.now().UTC()
			m.participants = append(m.participants, p)
			admitted = append(admitted, *p)
		default: // waiting to be admitted (or for a free place)
			if p.Waiting != WaitForRoom {
				p.Waiting = WaitForRoom
				rewaiting = append(rewaiting, *p)
			}
			still = append(still, p)
		}
	}
	m.waiting = still
	return admitted, rewaiting
}

// hostPresent reports whether a host or co-host is admitted.
func (m *Meeting) hostPresent() bool {
	for _, p := range m.participants {
		if p.Role.moderates() {
			return true
		}
	}
	return false
}

// banned reports whether a ban keeps this joiner out: their account,
// their browser, or, for a guest, their network (an IPv6 /64), so that
// neither signing in or out nor a fresh browser profile brings a banned
// person back as someone new.
func (m *Meeting) banned(id Identity) bool {
	for _, b := range m.bans {
		switch {
		case b.Kind == BanUser && id.UserID != "" && b.Value == id.UserID,
			b.Kind == BanDevice && id.Device != "" && b.Value == id.Device,
			b.Kind == BanAddress && id.UserID == "" && matchesNetwork(b.Value, id.Addr):
			return true
		}
	}
	return false
}

// bannedNetwork reports whether a joiner comes from a network a host
// banned. An account from there is not refused (a whole office may sit
// behind one address), but waits for a host, who is told.
func (m *Meeting) bannedNetwork(id Identity) bool {
	return slices.ContainsFunc(m.bans, func(b Ban) bool { return b.Kind == BanAddress && matchesNetwork(b.Value, id.Addr) })
}

// matchesNetwork reports whether an address ban's value names the network
// of a: its address key (bans made since IPv6 counts by /64), or the
// address itself (bans made before).
func matchesNetwork(ban string, a netip.Addr) bool {
	return a.IsValid() && (ban == policy.AddressKey(a) || ban == a.Unmap().String())
}

// Admit lets someone in from the waiting room.
func (m *Meeting) Admit(by, id ParticipantID) (Participant, error) {
	if err := m.check(by, ActAdmit); err != nil {
		return Participant{}, err
	}
	i := m.waitingIndex(id)
	if i < 0 {
		return Participant{}, fmt.Errorf("admit %s: %w", id, ErrNotWaiting)
	}
	p := m.waiting[i]
	if !m.hasRoom(p.Identity) {
		return Participant{}, fmt.Errorf("admit %s: %w", id, ErrMeetingFull)
	}
	m.waiting = slices.Delete(m.waiting, i, i+1)
	p.Waiting = ""
	p.JoinedAt = m.now().UTC()
	m.participants = append(m.participants, p)
	return *p, nil
}

// AdmitAll lets everyone in from the waiting room, as far as the
// participant limit allows; the rest keep waiting, and so do those from a
// banned network, whom a host admits one by one.
func (m *Meeting) AdmitAll(by ParticipantID) ([]Participant, error) {
	if err := m.check(by, ActAdmit); err != nil {
		return nil, err
	}
	var out []Participant
	for _, w := range slices.Clone(m.waiting) {
		if w.BannedNetwork {
			continue
		}
		if p, err := m.Admit(by, w.ID); err == nil {
			out = append(out, p)
		}
	}
	return out, nil
}

// Deny turns someone away from the waiting room.
func (m *Meeting) Deny(by, id ParticipantID) (Participant, error) {
	if err := m.check(by, ActAdmit); err != nil {
		return Participant{}, err
	}
	i := m.waitingIndex(id)
	if i < 0 {
		return Participant{}, fmt.Errorf("deny %s: %w", id, ErrNotWaiting)
	}
	p := m.waiting[i]
	m.waiting = slices.Delete(m.waiting, i, i+1)
	return *p, nil
}

// DenyAll turns everyone away from the waiting room, returning them.
func (m *Meeting) DenyAll(by ParticipantID) ([]Participant, error) {
	if err := m.check(by, ActAdmit); err != nil {
		return nil, err
	}
	out := make([]Participant, len(m.waiting))
	for i, p := range m.waiting {
		out[i] = *p
	}
	m.waiting = nil
	return out, nil
}

// Leave removes a participant, admitted or waiting, and returns them as
// they were.
func (m *Meeting) Leave(id ParticipantID) (Participant, error) {
	if i := m.waitingIndex(id); i >= 0 {
		p := m.waiting[i]
		m.waiting = slices.Delete(m.waiting, i, i+1)
		return *p, nil
	}
	for i, p := range m.participants {
		if p.ID == id {
			m.participants = slices.Delete(m.participants, i, i+1)
			return *p, nil
		}
	}
	return Participant{}, fmt.Errorf("leave %s: %w", id, ErrNoSuchParticipant)
}

// Remove takes a participant out at a host's request. With ban, it also
// returns the bans that keep them out: their account, their browser, and,
// for a guest, their network address.
func (m *Meeting) Remove(by, id ParticipantID, ban bool) (Participant, []Ban, error) {
	if err := m.check(by, ActRemove); err != nil {
		return Participant{}, nil, err
	}
	target := m.find(id)
	if target == nil {
		if i := m.waitingIndex(id); i >= 0 {
			target = m.waiting[i]
		}
	}
	switch {
	case target == nil:
		return Participant{}, nil, fmt.Errorf("remove %s: %w", id, ErrNoSuchParticipant)
	case target.ID == by || target.Role == RoleHost:
		return Participant{}, nil, fmt.Errorf("remove %s: %w", id, ErrForbidden)
	}
	p, _ := m.Leave(id)
	var bans []Ban
	if ban {
		if p.Identity.UserID != "" {
			bans = append(bans, Ban{BanUser, p.Identity.UserID})
		}
		if p.Identity.Device != "" {
			bans = append(bans, Ban{BanDevice, p.Identity.Device})
		}
		if p.Identity.Addr.IsValid() {
			// Holds guests from there (a signed-in member who signs
			// out, a guest who clears their browser), and makes hosts
			// decide about accounts from there.
			bans = append(bans, Ban{BanAddress, policy.AddressKey(p.Identity.Addr)})
		}
		m.bans = append(m.bans, bans...)
	}
	return p, bans, nil
}

// Mute turns a participant's microphone off at a host's request.
func (m *Meeting) Mute(by, id ParticipantID) (Participant, error) {
	if err := m.check(by, ActMuteOthers); err != nil {
		return Participant{}, err
	}
	if err := m.checkTarget(by, id); err != nil {
		return Participant{}, err
	}
	p := m.find(id)
	if p == nil {
		return Participant{}, fmt.Errorf("mute %s: %w", id, ErrNoSuchParticipant)
	}
	p.Media.Audio = false
	p.MutedByHost = true
	return *p, nil
}

// MuteAll mutes everyone but the hosts and co-hosts, returning those it
// muted.
func (m *Meeting) MuteAll(by ParticipantID) ([]Participant, error) {
	if err := m.check(by, ActMuteOthers); err != nil {
		return nil, err
	}
	var out []Participant
	for _, p := range m.participants {
		if p.ID != by && !p.Role.moderates() { // MuteAll never touches hosts
			p.Media.Audio = false
			p.MutedByHost = true
			out = append(out, *p)
		}
	}
	return out, nil
}

// StopVideo stops a participant's camera, or with screen their screen
// share, at a host's request.
func (m *Meeting) StopVideo(by, id ParticipantID, screen bool) (Participant, error) {
	if err := m.check(by, ActStopVideo); err != nil {
		return Participant{}, err
	}
	if err := m.checkTarget(by, id); err != nil {
		return Participant{}, err
	}
	p := m.find(id)
	if p == nil {
		return Participant{}, fmt.Errorf("stop video of %s: %w", id, ErrNoSuchParticipant)
	}
	if screen {
		p.Media.Screen, p.ScreenStoppedByHost = false, true
	} else {
		p.Media.Video, p.VideoStoppedByHost = false, true
	}
	return *p, nil
}

// Rename changes a participant's display name: their own if the meeting
// lets them, anyone's for a host.
func (m *Meeting) Rename(by, id ParticipantID, name string) (Participant, error) {
	act := ActRenameOthers
	if by == id {
		act = ActRenameSelf
	}
	if err := m.check(by, act); err != nil {
		return Participant{}, err
	}
	if err := m.checkTarget(by, id); err != nil {
		return Participant{}, err
	}
	name, err := NormaliseName(name)
	if err != nil {
		return Participant{}, err
	}
	p := m.find(id)
	if p == nil {
		return Participant{}, fmt.Errorf("rename %s: %w", id, ErrNoSuchParticipant)
	}
	p.Name = name
	return *p, nil
}

// SetRole makes a participant a co-host or takes it back. A new co-host
// counts as a host being present, which may let people in.
func (m *Meeting) SetRole(by, id ParticipantID, role Role) (JoinResult, error) {
	if err := m.check(by, ActSetRoles); err != nil {
		return JoinResult{}, err
	}
	p := m.find(id)
	switch {
	case p == nil:
		return JoinResult{}, fmt.Errorf("set role of %s: %w", id, ErrNoSuchParticipant)
	case p.Role == RoleHost || (role != RoleCoHost && role != RoleParticipant):
		return JoinResult{}, fmt.Errorf("set role of %s to %q: %w", id, role, ErrBadRole)
	}
	p.Role = role
	res := JoinResult{Participant: *p}
	res.Admitted, res.Rewaiting = m.settle()
	return res, nil
}

// UpdateSettings replaces the meeting's settings at a host's request. The
// passcode itself, and whether the meeting is end-to-end encrypted, cannot
// change mid-meeting. Turning the waiting room off lets everyone waiting
// in.
func (m *Meeting) UpdateSettings(by ParticipantID, s Settings) (JoinResult, error) {
	if err := m.check(by, ActChangeSettings); err != nil {
		return JoinResult{}, err
	}
	if err := s.Validate(); err != nil {
		return JoinResult{}, err
	}
	if s.Passcode && m.rec.Passcode == "" {
		return JoinResult{}, fmt.Errorf("%w: this meeting has no passcode to require", ErrBadSettings)
	}
	if s.E2EE != m.rec.Settings.E2EE {
		return JoinResult{}, fmt.Errorf("%w: end-to-end encryption cannot be switched during a meeting", ErrBadSettings)
	}
	m.rec.Settings = s
	var res JoinResult
	res.Admitted, res.Rewaiting = m.settle()
	return res, nil
}

// SetMedia records what a participant is sending. Unmuting after a host's
// mute needs the meeting's permission; sharing the screen always does.
// It reports whether anything changed.
func (m *Meeting) SetMedia(id ParticipantID, media MediaState) (Participant, bool, error) {
	p := m.find(id)
	if p == nil {
		return Participant{}, false, fmt.Errorf("set media of %s: %w", id, ErrNoSuchParticipant)
	}
	if media.Audio && p.MutedByHost && !p.Media.Audio {
		if !Allowed(p.Role, ActUnmuteSelf, m.rec.Settings) {
			return *p, false, fmt.Errorf("unmute: %w", ErrForbidden)
		}
		p.MutedByHost = false
	}
	if media.Screen && !p.Media.Screen && !Allowed(p.Role, ActShareScreen, m.rec.Settings) {
		return *p, false, fmt.Errorf("share screen: %w", ErrForbidden)
	}
	if media.Video {
		p.VideoStoppedByHost = false
	}
	if media.Screen {
		p.ScreenStoppedByHost = false
	}
	changed := p.Media != media
	p.Media = media
	return *p, changed, nil
}

// MayForward says which of a participant's media the server may forward:
// not a microphone a host muted, nor a camera or screen a host stopped,
// nor a screen share the participant is no longer allowed. The SFU
// enforces it, so a client that ignores a host's order is still silenced.
func (m *Meeting) MayForward(id ParticipantID) MediaState {
	p := m.find(id)
	if p == nil {
		return MediaState{}
	}
	return MediaState{
		Audio:  !p.MutedByHost,
		Video:  !p.VideoStoppedByHost,
		Screen: !p.ScreenStoppedByHost && Allowed(p.Role, ActShareScreen, m.rec.Settings),
	}
}

// Can reports whether a participant may do act now.
func (m *Meeting) Can(id ParticipantID, act Action) bool {
	p := m.find(id)
	return p != nil && Allowed(p.Role, act, m.rec.Settings)
}

// CheckEnd checks that a participant may end the meeting for everyone.
func (m *Meeting) CheckEnd(by ParticipantID) error { return m.check(by, ActEndForAll) }

// SetConnected records that a participant's connection was lost (false) or
// is back (true). It reports whether anything changed.
func (m *Meeting) SetConnected(id ParticipantID, connected bool) (Participant, bool, error) {
	p := m.find(id)
	if p == nil {
		return Participant{}, false, fmt.Errorf("set connection of %s: %w", id, ErrNoSuchParticipant)
	}
	changed := p.Connected != connected
	p.Connected = connected
	return *p, changed, nil
}

// Participant returns one admitted participant.
func (m *Meeting) Participant(id ParticipantID) (Participant, bool) {
	if p := m.find(id); p != nil {
		return *p, true
	}
	return Participant{}, false
}

// Participants returns everyone admitted, in join order.
func (m *Meeting) Participants() []Participant {
	out := make([]Participant, len(m.participants))
	for i, p := range m.participants {
		out[i] = *p
	}
	return out
}

// Waiting returns everyone in the waiting room, in arrival order.
func (m *Meeting) Waiting() []Participant {
	out := make([]Participant, len(m.waiting))
	for i, p := range m.waiting {
		out[i] = *p
	}
	return out
}

// Len returns the number of people in the meeting, admitted or waiting.
func (m *Meeting) Len() int { return len(m.participants) + len(m.waiting) }

// checkTarget refuses a co-host acting on the host (muting, stopping,
// renaming): moderation flows down, not up.
func (m *Meeting) checkTarget(by, target ParticipantID) error {
	b, t := m.find(by), m.find(target)
	if b != nil && t != nil && b.Role == RoleCoHost && t.Role == RoleHost {
		return fmt.Errorf("a co-host acting on the host: %w", ErrForbidden)
	}
	return nil
}

// check returns ErrForbidden unless participant by may do act.
func (m *Meeting) check(by ParticipantID, act Action) error {
	p := m.find(by)
	if p == nil || !Allowed(p.Role, act, m.rec.Settings) {
		return fmt.Errorf("%s: %w", act, ErrForbidden)
	}
	return nil
}

func (m *Meeting) find(id ParticipantID) *Participant {
	for _, p := range m.participants {
		if p.ID == id {
			return p
		}
	}
	return nil
}

func (m *Meeting) waitingIndex(id ParticipantID) int {
	return slices.IndexFunc(m.waiting, func(p *Participant) bool { return p.ID == id })
}

func (m *Meeting) freshParticipantID() ParticipantID {
	for {
		id := NewParticipantID()
		if m.find(id) == nil && m.waitingIndex(id) < 0 {
			return id
		}
	}
}

// IsOwner reports whether an identity is the meeting's owner (its host).
func (m *Meeting) IsOwner(id Identity) bool {
	return m.rec.OwnerID != "" && id.UserID == m.rec.OwnerID
}
