package httpapi

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/kaigi-meet/kaigi/internal/auth"
)

// What Kaigi keeps, said for the people whose data it is: GET /api/privacy,
// which the web client's /privacy page shows. The database part is keyed
// by table and column, and privacy_test.go fails when a migration adds a
// table or column this file does not describe (or drops one it does), so
// the page cannot silently fall behind the schema. The browser part is
// checked the same way against the storage keys in web/src.

// privacyColumn is one column of a table, in plain words.
type privacyColumn struct {
	Column string `json:"column"`
	What   string `json:"what"`
}

// privacyTable is one table of the database: what it holds, why, and for
// how long. NoLimit says that nothing deletes it after a time yet.
type privacyTable struct {
	Table   string          `json:"table"`
	Title   string          `json:"title"`
	Why     string          `json:"why"`
	Kept    string          `json:"kept"`
	NoLimit bool            `json:"noLimit"`
	Columns []privacyColumn `json:"columns"`
}

// privacyBrowserItem is something the web client keeps in the browser.
type privacyBrowserItem struct {
	// Where: "cookie", "localStorage", "sessionStorage" or "IndexedDB".
	Where string `json:"where"`
	// Key is the name, or its prefix when it ends in "." (one per meeting).
	Key  string `json:"key"`
	What string `json:"what"`
	Kept string `json:"kept"`
}

// privacyReport is the whole answer of GET /api/privacy.
type privacyReport struct {
	Organisation string               `json:"organisation"`
	Tables       []privacyTable       `json:"tables"`
	Files        []privacyFile        `json:"files"`
	Logs         privacyLogs          `json:"logs"`
	Browser      []privacyBrowserItem `json:"browser"`
	// ThirdParties are the outside servers the operator configured that
	// browsers contact (STUN/TURN servers), by host name; none by default.
	ThirdParties []string `json:"thirdParties"`
	// NotKept lists what never reaches the server or is never stored.
	NotKept []string `json:"notKept"`
}

// privacyFile is a file of the data directory other than the database.
type privacyFile struct {
	File string `json:"file"`
	What string `json:"what"`
	Kept string `json:"kept"`
}

// privacyLogs says what the server's log holds and never holds.
type privacyLogs struct {
	Holds []string `json:"holds"`
	Never string   `json:"never"`
	Kept  string   `json:"kept"`
}

// privacyTables describes every table of the database (internal/store/
// migrations), in the order a reader meets them.
var privacyTables = []privacyTable{
	{
		Table: "users", Title: "Accounts",
		Why:  "To let you sign in, to show your name to others, and to know who may create meetings or administer the server.",
		Kept: "Until the account is deleted. There is no time limit: an account nobody uses is kept.", NoLimit: true,
		Columns: []privacyColumn{
			{"id", "A random number that identifies the account."},
			{"email", "Your e-mail address, used to sign in. Kaigi sends no e-mail."},
			{"name", "Your name, as you or an administrator typed it."},
			{"role", "Whether you are an administrator or a member."},
			{"password_hash", "A one-way scrambled form of your password (argon2id). Your password itself is never stored."},
			{"totp_secret", "If you turned on two-factor authentication: the secret your authenticator app shares with the server, locked with the server's key."},
			{"totp_pending", "The same while you are turning two-factor authentication on, until you confirm it."},
			{"totp_last_step", "The time slot of the last two-factor code used, so that no code works twice."},
			{"created_at", "When the account was created."},
			{"suspended_at", "When an administrator suspended the account, if they did."},
			{"suspend_reason", "The reason the administrator gave for a suspension; you are shown it."},
			{"email_verified", "Whether the e-mail was set by an administrator, the server's operator or the organisation's single sign-on provider rather than typed at sign-up: only then is a single sign-on identity linked to the account by its e-mail alone."},
		},
	},
	{
		Table: "sessions", Title: "Signed-in browsers",
		Why:  "To keep you signed in on a browser without asking for your password every time.",
		Kept: "A session ends after 14 days without use or 30 days at most, when you sign out, or when you sign out everywhere. An ended session's record is deleted when its browser next comes back, when you sign out everywhere, or with the account; otherwise after the time the organisation set (below).",
		Columns: []privacyColumn{
			{"hash", "A one-way scrambled form of the random key in your browser's cookie (the key itself is not stored)."},
			{"user_id", "Which account it belongs to."},
			{"created_at", "When you signed in."},
			{"last_seen", "When the browser last used it."},
			{"expires_at", "When it ends at the latest."},
			{"reauth_at", "When you last signed in or confirmed it was you (password, code or passkey) on that browser: creating API tokens and other sensitive changes are allowed only for 10 minutes after."},
		},
	},
	{
		Table: "recovery_codes", Title: "Two-factor recovery codes",
		Why:  "To let you in if you lose your authenticator app.",
		Kept: "Until you make new codes, two-factor authentication is turned off, or the account is deleted. A used code is kept (marked used) so that it cannot work again.",
		Columns: []privacyColumn{
			{"user_id", "Which account they belong to."},
			{"hash", "A one-way scrambled form of one code (the codes are shown to you once and not stored)."},
			{"used_at", "When the code was used, if it was."},
		},
	},
	{
		Table: "passkeys", Title: "Passkeys",
		Why:  "To let you sign in with a passkey (alone, or as the second step after your password).",
		Kept: "Until you delete the passkey, an administrator resets your two-factor authentication, or the account is deleted.",
		Columns: []privacyColumn{
			{"id", "The passkey's credential ID, a random number your device chose for it."},
			{"user_id", "Which account it belongs to."},
			{"name", "The name you gave it."},
			{"credential", "Its public key and what your device told about it: a counter of its uses, whether it is synced between devices, the model number of the kind of authenticator (not of your device), and how it connects. The private key never leaves your device; your fingerprint, face or PIN never leave it either."},
			{"created_at", "When you registered it."},
			{"last_used_at", "When you last signed in with it."},
		},
	},
	{
		Table: "sso_provider", Title: "The organisation's single sign-on provider",
		Why:  "To let people sign in through the organisation's own sign-in service (OpenID Connect), if an administrator set one up. Nothing about any person.",
		Kept: "As long as the server exists; an administrator changes it.",
		Columns: []privacyColumn{
			{"id", "Always the same: there is one provider."},
			{"enabled", "Whether sign-in through it is offered."},
			{"issuer", "The provider's address."},
			{"client_id", "The name the provider knows this server by."},
			{"client_secret", "The password the provider gave this server, sealed with the server's key; never shown again."},
			{"label", "The provider's name on the sign-in button."},
			{"domains", "The e-mail domains whose people may sign in through it, if limited."},
			{"allow_create", "Whether a first sign-in through it makes an account."},
			{"link_by_email", "Whether a first sign-in through it is joined to an existing member's account with the same e-mail, when the provider vouches for that e-mail."},
			{"sso_only", "Whether members may sign in only through it (administrators keep their password and passkeys)."},
			{"updated_at", "When an administrator last changed it."},
		},
	},
	{
		Table: "sso_identities", Title: "Single sign-on identities",
		Why:  "To know which account is yours when you sign in through the organisation's provider: the provider names you by a fixed ID, which is matched here, never your e-mail alone.",
		Kept: "Until the account is deleted.",
		Columns: []privacyColumn{
			{"issuer", "The provider's address."},
			{"subject", "The ID the provider names you by (chosen by the provider; often a random number)."},
			{"user_id", "Which account it is."},
			{"created", "Whether the account was made by your first sign-in through the provider."},
			{"created_at", "When your identity was first joined to the account."},
			{"last_used_at", "When you last signed in through the provider; not from where."},
		},
	},
	{
		Table: "auth_ceremonies", Title: "Sign-in, passkey and single sign-on steps under way",
		Why:  "So that a sign-in waiting for its code or passkey, a passkey check, or a sign-in through the organisation's provider begun on one of the organisation's servers can be finished on another.",
		Kept: "Five minutes for a sign-in's second step or a passkey step, ten for a single sign-on one; deleted when used (each works once) or after 5 wrong codes, and expired ones when the next is begun.",
		Columns: []privacyColumn{
			{"token_hash", "A one-way scrambled form of the random key the step is found by (the key itself is not stored)."},
			{"family", "Whether it is a sign-in's second step, a passkey step or a single sign-on one."},
			{"bind", "A one-way scrambled form of the random key in your browser's single sign-on cookie, so that only that browser can finish it."},
			{"data", "What the step needs to finish: which account a sign-in is for; the passkey challenge (and, for a passkey added or a confirmation, which account and signed-in browser began it); or the single sign-on check values (nonce and PKCE verifier, random numbers), the provider's address and, when you link the provider to your account, which account."},
			{"attempts", "How many wrong codes or passkey answers a sign-in's second step has had (5 end it)."},
			{"expires_at", "When it stops working."},
		},
	},
	{
		Table: "org", Title: "The organisation's settings",
		Why:  "To apply the organisation's policy: its name, whether anyone may sign up, whether two-factor is required, and the settings new meetings start with.",
		Kept: "As long as the server exists; an administrator changes them.",
		Columns: []privacyColumn{
			{"id", "Always 1: there is one organisation."},
			{"settings", "The settings themselves. Nothing about any person."},
		},
	},
	{
		Table: "meetings", Title: "Meetings",
		Why:  "To let people join a meeting by its link, with the settings and passcode its host chose, and to list a host's meetings.",
		Kept: "Until the host deletes the meeting or the host's account is deleted, or after the time the organisation set (below).",
		Columns: []privacyColumn{
			{"id", "The meeting's ID, which is in its link."},
			{"created_at", "When it was created."},
			{"kind", "Instant, scheduled, or the host's personal room."},
			{"title", "The title the host gave it, if any."},
			{"owner_id", "The host's account."},
			{"starts_at", "When a scheduled meeting starts."},
			{"duration_s", "How long a scheduled meeting is planned to last."},
			{"settings", "The meeting's settings (waiting room, who may share the screen, and so on)."},
			{"passcode", "The meeting's passcode, locked with the server's key, so that the server can check it."},
			{"last_used_at", "When someone last asked to join it (noted at most once an hour), so that a meeting nobody uses any more can be deleted."},
		},
	},
	{
		Table: "meeting_bans", Title: "People a host removed and barred from a meeting",
		Why:  "So that someone a host removed and barred cannot come back to that meeting.",
		Kept: "As long as the meeting exists.",
		Columns: []privacyColumn{
			{"meeting_id", "Which meeting."},
			{"kind", "Whether the bar is on an account, a browser, or a network address."},
			{"value", "The account's ID, the browser's random ID, or the network (IP) address of a guest."},
			{"created_at", "When the host barred them."},
		},
	},
	{
		Table: "live_participants", Title: "Who is in a meeting right now",
		Why:  "So that if the server restarts or crashes, the people in a meeting get back in without waiting again.",
		Kept: "While you are in the meeting: deleted when you leave, are removed, or the meeting ends. After a crash, deleted once people had 2 minutes to come back.",
		Columns: []privacyColumn{
			{"meeting_id", "Which meeting."},
			{"participant_id", "A random ID for this visit to the meeting."},
			{"resume_hash", "A one-way scrambled form of the key your browser holds to come back."},
			{"state", "Your name in the meeting, your role, your account ID if signed in, your browser's random ID, your network (IP) address, when you joined, who let you in, and whether a host muted you."},
			{"run", "Which start of the server wrote it."},
		},
	},
	{
		Table: "live_run", Title: "The servers' current runs",
		Why:  "To tell, after a restart, whether the people above may still come back.",
		Kept: "One record for each running server; deleted 2 minutes after that server stopped running. Nothing about any person.",
		Columns: []privacyColumn{
			{"run", "A random ID of the current start of a server."},
			{"alive_at", "When the server was last running."},
		},
	},
	{
		Table: "audit_log", Title: "Audit log of administrators' actions",
		Why:  "So that every action an administrator or the operator takes (for example creating an account or changing the organisation's settings) is on record, can be checked for tampering, and is shown to the person it concerns.",
		Kept: "Entries cannot be changed, and are deleted only by the retention limit, oldest first, with a record in the log of how many were deleted so that what is kept can still be checked for tampering.",
		Columns: []privacyColumn{
			{"seq", "The entry's number."},
			{"at_ms", "When it happened."},
			{"actor_kind", "Who acted: an administrator, the operator, or the server."},
			{"actor_id", "The acting administrator's account ID."},
			{"action", "What was done."},
			{"subject_kind", "What it was done to: an account, a meeting, the organisation, or the server."},
			{"subject_id", "Which one (for an account, its ID, not its e-mail address or name)."},
			{"reason", "The reason the administrator gave."},
			{"details", "Short facts about the action, such as a new role or which settings changed. No passwords, codes or contents."},
			{"prev", "The fingerprint of the entry before, which chains the entries together."},
			{"hash", "This entry's fingerprint."},
		},
	},
	{
		Table: "usage_days", Title: "Usage figures",
		Why:  "To show administrators how much the server is used (meetings, people, minutes, the busiest moment), to plan its capacity. Each record is a total over the whole server for one day: it names no meeting and no person. On a server with few meetings, one day's totals may describe a single meeting (how long, how many people), never who was in it.",
		Kept: "Kept as long as meeting records are.",
		Columns: []privacyColumn{
			{"day", "The date (UTC)."},
			{"meetings", "How many meetings started that day."},
			{"participants", "How many times someone was let into a meeting that day: a number, without names, accounts or addresses."},
			{"participant_seconds", "The time everyone spent in meetings that day, added up."},
			{"meeting_seconds", "The time meetings were running that day, added up."},
			{"peak_participants", "The most people in meetings at the same time that day."},
		},
	},
	{
		Table: "api_tokens", Title: "API tokens",
		Why:  "To let programs you or an administrator chose use the server's API in your name (listing or scheduling meetings; an organisation token with the admin scope, the administration endpoints) without your password. A token never reaches what changes a password, two-factor authentication, tokens, webhooks or deletes an account.",
		Kept: "Until it is revoked (the record is deleted), or with the account that made it. An expired token stops working at once and its record stays, so you can see it, until it is revoked.",
		Columns: []privacyColumn{
			{"id", "A random number naming the token in lists."},
			{"hash", "A one-way scrambled form of the token (the token itself is shown once, when it is made, and never stored)."},
			{"kind", "Personal (one account's own) or the organisation's (made by an administrator)."},
			{"user_id", "The account it acts for (an organisation token's: the administrator who made it)."},
			{"name", "The name it was given, to tell tokens apart."},
			{"scopes", "What it may do: read meetings, manage meetings, administer."},
			{"created_at", "When it was made."},
			{"expires_at", "When it stops working, if it was given an expiry."},
			{"last_used_at", "When a program last used it (noted at most once a minute); not from where."},
		},
	},
	{
		Table: "ingest_tokens", Title: "Stream-in (WHIP) and watch (WHEP) tokens",
		Why:  "To let a streaming program a meeting's host chose (OBS, GStreamer) send its picture and sound into that meeting, or watch it. Such a program is not end-to-end encrypted, and everyone in the meeting sees it marked so.",
		Kept: "Until the host revokes it (the record is deleted), or with its meeting or the account that made it.",
		Columns: []privacyColumn{
			{"id", "A random number naming the token in lists."},
			{"meeting_id", "The meeting it streams into or watches."},
			{"hash", "A one-way scrambled form of the token (the token itself is shown once, when it is made, and never stored)."},
			{"name", "The name the host gave it, shown in the meeting's list of participants."},
			{"created_by", "The account that made it."},
			{"created_at", "When it was made."},
			{"last_used_at", "When a program last began streaming or watching with it; not from where."},
			{"kind", "Whether it streams into the meeting (WHIP) or watches it (WHEP, a viewer everyone in the meeting sees marked as not end-to-end encrypted)."},
		},
	},
	{
		Table: "webhooks", Title: "Webhooks",
		Why:  "To tell programs an administrator chose when meetings start and end, when people join or leave them, and when a recording is finished. What is sent is metadata only: the meeting's ID, a random participant number that is not your account, the room, times, at the end how many people took part and for how long, and for a finished recording its ID, how many chunks it has and their size. Never a name, an e-mail, an address, a title, a recording's key or content, or anything said or shown in a meeting, end-to-end encrypted or not.",
		Kept: "Until an administrator deletes the webhook.",
		Columns: []privacyColumn{
			{"id", "A random number naming the webhook."},
			{"url", "Where events are sent (https, to a public address)."},
			{"secret", "The key events are signed with, sealed with the server's key."},
			{"events", "Which events it is sent."},
			{"enabled", "Whether it is on."},
			{"created_at", "When it was registered."},
			{"created_by", "The administrator who registered it."},
		},
	},
	{
		Table: "webhook_deliveries", Title: "Webhook deliveries",
		Why:  "To send each event to each webhook, try again when the receiver fails, and show administrators what was sent and whether it arrived.",
		Kept: "Until delivered or given up (about half an hour at most), then only the newest 50 of each webhook; deleted with the webhook.",
		Columns: []privacyColumn{
			{"id", "A random number naming the delivery."},
			{"webhook_id", "Which webhook it is for."},
			{"event_id", "The event's random number."},
			{"event", "The kind of event (meeting started or ended, participant joined or left, recording ready)."},
			{"payload", "What is sent: the metadata above, no names."},
			{"attempts", "How many times it was tried."},
			{"status", "Pending, delivered or given up."},
			{"next_at", "When it is tried next."},
			{"last_code", "The receiver's last answer (an HTTP status)."},
			{"last_error", "Why the last try failed."},
			{"created_at", "When the event happened."},
			{"updated_at", "When it was last tried."},
		},
	},
	{
		Table: "recording_keys", Title: "Recording keys",
		Why:  "To let browsers encrypt a recording so that your account can read it: your browser made this key pair and keeps the private half; the server keeps the public half, which cannot open anything.",
		Kept: "Until you make a new key or the account is deleted.",
		Columns: []privacyColumn{
			{"user_id", "Which account it belongs to."},
			{"public_key", "The public half of your recording key."},
			{"created_at", "When it was set."},
			{"signature", "Your browser's signature of that public key, made with the same device key your browser uses in end-to-end encrypted meetings, so that a recorder can tell it was not swapped by the server."},
		},
	},
	{
		Table: "recordings", Title: "Recordings",
		Why:  "To keep recordings a host or co-host made. A recording made in their browser was encrypted there, with a key the server never receives: the server cannot play it. A recording made by the server (only ever in a meeting that is not end-to-end encrypted, when a host or co-host chose it) is the speaker's video and voice as the server received them, and the server can play it.",
		Kept: "Until the person who recorded it deletes it, their account is deleted, or the organisation's meeting retention limit after it started.",
		Columns: []privacyColumn{
			{"id", "A random number naming the recording."},
			{"meeting_id", "Which meeting was recorded."},
			{"recorder_id", "The account whose browser recorded it, or for whom (at whose word) the server recorded it."},
			{"e2ee", "Whether the meeting was end-to-end encrypted."},
			{"started_at", "When the recording started."},
			{"finished_at", "When it was finished."},
			{"chunks", "How many pieces it was uploaded in (or, made by the server, stored in)."},
			{"bytes", "Its size."},
			{"manifest", "Its table of contents (how many pieces, the video format), encrypted in the recorder's browser; for a recording made by the server, its format and length, not encrypted."},
			{"kind", "Who made it: a participant's browser (encrypted) or the server (not encrypted)."},
		},
	},
	{
		Table: "recording_chunks", Title: "Recording contents",
		Why:  "The recording itself, in pieces of a few seconds, each encrypted in the recorder's browser, which the server cannot read or play; or, for a recording made by the server, pieces of plain WebM video.",
		Kept: "As long as the recording.",
		Columns: []privacyColumn{
			{"recording_id", "Which recording it is part of."},
			{"n", "Its place in the recording."},
			{"data", "The piece (encrypted, unless the server made the recording)."},
		},
	},
	{
		Table: "recording_readers", Title: "Who may read a recording",
		Why:  "To let the accounts a recording was made or shared for open it: for each, the recording's key locked to that account's recording key, which only that account's browsers can unlock.",
		Kept: "As long as the recording, or until the reader's account is deleted.",
		Columns: []privacyColumn{
			{"recording_id", "Which recording."},
			{"user_id", "Which account may read it."},
			{"wrapped_key", "The recording's key, locked for that account."},
			{"shared_by", "The account whose browser locked it for them (the recorder, or a reader who shared it)."},
			{"created_at", "When it was shared."},
		},
	},
	{
		Table: "schema_migrations", Title: "Database version",
		Why:  "To know which updates of the database's layout have been applied.",
		Kept: "As long as the server exists. Nothing about any person.",
		Columns: []privacyColumn{
			{"version", "The number of an update."},
			{"applied_at", "When it was applied."},
		},
	},
}

// retentionTables are privacyTables with how long the organisation's
// retention keeps old meetings, ended sessions and audit entries (auth.
// Retention; 0 keeps them with no time limit).
func retentionTables(r auth.Retention) []privacyTable {
	out := slices.Clone(privacyTables)
	for i := range out {
		t := &out[i]
		var days int
		var limit, none string
		switch t.Table {
		case "meetings":
			days = r.MeetingDays
			limit = "Instant and scheduled meetings are deleted %d days after they were last used (someone asked to join), or after a scheduled meeting's planned end if that is later; a meeting someone is in is never deleted. A host's personal room is kept as long as their account."
			none = "This organisation set no time limit: a past meeting's record is kept. A host's personal room is kept as long as their account."
		case "usage_days":
			days = r.MeetingDays
			limit = "A day's totals are deleted %d days later."
			none = "This organisation set no time limit: a day's totals are kept."
		case "sessions":
			days = r.ExpiredSessionDays
			limit = "The record of a session that ended is deleted %d days after it ended."
			none = "This organisation set no time limit: the record of a session that ended and whose browser never comes back stays."
		case "audit_log":
			if days = r.AuditDays; days > 0 {
				days = max(days, r.AuditMinimumDays)
			}
			limit = "This organisation keeps entries %d days" + fmt.Sprintf(" (never fewer than the legal minimum of %d days set for this server); older ones are then deleted.", r.AuditMinimumDays)
			none = "This organisation set no time limit: entries are kept for good."
		default:
			continue
		}
		t.NoLimit = days == 0
		if t.NoLimit {
			t.Kept += " " + none
		} else {
			t.Kept += " " + fmt.Sprintf(limit, days)
		}
	}
	return out
}

// privacyFiles are the data directory's files besides the database.
var privacyFiles = []privacyFile{
	{File: "secret.key", What: "The server's key that locks two-factor secrets and meeting passcodes in the database, and signs the browsers' known-device cookies. Nothing about any person.", Kept: "As long as the server exists."},
	{File: "kaigi.db.migrate", What: "An empty file the server and its commands take turns on while they bring the database's tables up to date. Nothing about any person.", Kept: "As long as the server exists."},
	{File: "secret.key.new", What: "Only while the operator replaces the key above (kaigi admin rotate-key), or after such a replacement was interrupted: the next key. Nothing about any person.", Kept: "Until the replacement finishes or is undone, at the next start at the latest."},
	{File: "nats/", What: "The embedded coordination server's store (or, in a cluster, the same held by the cluster's NATS servers): which server holds each live meeting (the meeting's ID, the server's name, when it was placed), and each server's name, region, address, version and load. Nothing about any participant.", Kept: "A meeting's entry until it ends; a server's until seconds after it stops."},
}

// privacyServerLogs: what internal/* log (docs/security.md says what logs
// never contain, and tests check it).
var privacyServerLogs = privacyLogs{
	Holds: []string{
		"Sign-ins, successful or failed: the account's ID and the network (IP) address they came from.",
		"Meetings created, started and ended: the meeting's ID and the host's account ID.",
		"People joining, waiting, leaving or being removed: the random participant ID, their role and the version of the Kaigi app they use; what a host did and to which participant ID.",
		"When the operator turns on detailed (debug) logging: each request's address on the server and the network address it came from.",
	},
	Never: "Passwords or their scrambled forms, two-factor secrets and codes, recovery codes, session or resume keys, passcodes, display names, chat messages, and any audio or video.",
	Kept:  "The server writes its log for the operator's system to keep (for example the system journal); Kaigi itself neither stores nor deletes it, so how long it is kept is the operator's setting.",
}

// privacyBrowser is what web/src keeps in the browser (lib/storage.ts,
// e2ee/identity-store.ts, meeting/polls.ts, meeting/background-blur.ts)
// and the session and known-device cookies (session.go).
var privacyBrowser = []privacyBrowserItem{
	{"cookie", SessionCookie, "The random key that keeps you signed in (the server stores only a scrambled form). Sent only to this server, and unreadable by scripts.", "30 days at most; removed when you sign out."},
	{"cookie", DeviceCookie, "For each account (up to 5) that signed in fully from this browser, a random ID of the browser signed by the server, so that someone else guessing your two-factor codes can never keep you out on this browser. It does not sign you in or skip any step, names no account, and the server stores nothing about it. Sent only to this server's sign-in pages, and unreadable by scripts.", "A year from your last full sign-in on this browser; kept when you sign out (that is its purpose); no longer honoured once the account's password changes. Clearing the site's data removes it."},
	{"cookie", SSOCookie, "While you sign in through the organisation's provider, a random key that ties the provider's answer to this browser, so that no one else's sign-in can be slipped into it. Sent only to this server's single sign-on pages, and unreadable by scripts.", "Ten minutes at most; removed when the provider sends you back."},
	{"localStorage", "kaigi.name", "The name you last joined a meeting with, to fill it in next time.", "Until you clear the site's data in your browser."},
	{"localStorage", "kaigi.devices", "Which camera, microphone and speaker you chose.", "Until you clear the site's data."},
	{"localStorage", "kaigi.device", "A random ID of this browser, sent when you join so that a host can bar a browser from a meeting.", "Until you clear the site's data."},
	{"localStorage", "kaigi.e2ee.", "For each meeting this browser knows to be end-to-end encrypted, a mark, so that the browser refuses to join it without encryption.", "Until you clear the site's data; deliberately never forgotten otherwise."},
	{"localStorage", "kaigi.blur", "Whether you turned background blur on.", "Until you clear the site's data."},
	{"sessionStorage", "kaigi.passcode.", "A meeting's passcode, so that reloading the page does not ask for it again.", "Until the tab is closed."},
	{"sessionStorage", "kaigi.resume.", "The key to get back into the meeting you are in after a reload.", "Until you leave, or the tab is closed; not used after 5 minutes."},
	{"sessionStorage", "kaigi.polls.", "The polls you created in a meeting, so that a reload does not lose them.", "Until the tab is closed."},
	{"sessionStorage", "kaigi.relaysNeeded", "A mark that this tab's network needed Kaigi's relay to carry audio and video, so that later calls use the relay at once. It holds nothing else.", "Until the tab is closed."},
	{"sessionStorage", "kaigi.newAdmin", "A note to tell you, once, that you became the administrator.", "Until the next page is shown."},
	{"IndexedDB", "kaigi-recording", "The private half of your recording key, to open the recordings made or shared for you; it is never sent anywhere unless you export it, protected by a passphrase you choose.", "Until you clear the site's data or replace the key."},
	{"localStorage", "kaigi.recordingPins", "The fingerprints of the recording keys of the people you recorded for or shared with, so that a key that changes is pointed out to you.", "Until you clear the site's data."},
	{"IndexedDB", "kaigi-e2ee", "This browser's own encryption identity (its private key cannot be read out), and the people whose keys you verified, with the name they had then.", "Until you clear the site's data."},
}

// privacyNotKept: what the server never receives or never stores.
var privacyNotKept = []string{
	"What is said and shown in an end-to-end encrypted meeting: audio, video, screen shares and chat are encrypted in the browsers, and the server only passes them on. In a meeting without end-to-end encryption the server passes them on without storing them.",
	"Recordings in a form the server can play: a recording is encrypted in the browser of the host or co-host who records, with a key wrapped for the accounts allowed to read it; the server keeps the ciphertext and those wrapped keys, never the key itself.",
	"Chat messages, reactions and polls: passed on to the others in the meeting and not stored on the server.",
	"The part of an invite link after \"#\" (which holds the passcode): browsers never send it to the server.",
	"A passkey's private key, and the fingerprint, face or PIN that unlocks it: they stay on your device, which sends the server only a signature.",
	"Analytics, advertising or tracking of any kind: the pages load nothing from any other site.",
}

// privacy serves GET /api/privacy, to anyone (the page must be readable
// before signing up).
func (a *api) privacy(w http.ResponseWriter, r *http.Request) {
	org, err := a.accounts.Org(r.Context())
	if err != nil {
		a.internal(w, "read organisation", err)
		return
	}
	writeJSON(w, http.StatusOK, privacyReport{
		Organisation: org.Name,
		Tables:       retentionTables(*org.Retention),
		Files:        privacyFiles,
		Logs:         privacyServerLogs,
		Browser:      privacyBrowser,
		ThirdParties: a.thirdParties,
		NotKept:      privacyNotKept,
	})
}

// thirdPartyHosts names the hosts of configured STUN/TURN servers
// ("turn:turn.example.org:3478?transport=tcp" → "turn.example.org"), once
// each, in the order configured.
func thirdPartyHosts(urls []string) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil {
			continue
		}
		host := u.Opaque // "stun:host:port" has no "//"
		if host == "" {
			host = u.Host
		}
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host = strings.Trim(host, "[]")
		if host != "" && !seen[host] {
			seen[host] = true
			out = append(out, host)
		}
	}
	return out
}
