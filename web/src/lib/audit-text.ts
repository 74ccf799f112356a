// Audit entries in words, for the admin page and the account page.

import type { AuditEntry } from "../api/audit.js";

/** Who acted: a name for an account the page knows, else its kind. */
export function actorText(e: AuditEntry, names: ReadonlyMap<string, string> = new Map()): string {
  switch (e.actorKind) {
    case "operator":
      return "The server's operator (command line)";
    case "system":
      return "The server";
    case "user":
      return e.actorId === undefined ? "An administrator" : (names.get(e.actorId) ?? `Account ${e.actorId}`);
  }
}

/** What was done, in a sentence; unknown actions are shown by their name. */
export function actionText(e: AuditEntry, names: ReadonlyMap<string, string> = new Map(), self = false): string {
  const who = (id?: string): string => (self ? "your account" : id === undefined ? "an account" : (names.get(id) ?? `account ${id}`));
  switch (e.action) {
    case "server.key_rotated":
      return `rotated the server's sealing key (${short(e.details.oldKey)} → ${short(e.details.newKey)}) and re-sealed ${e.details.resealed ?? "?"} stored secrets; browsers remembered for two-factor sign-in were forgotten`;
    case "server.certificate_changed": {
      const trigger = e.details.trigger === "start" ? " (found at start)" : e.details.trigger === "reload" ? " (reloaded on request)" : e.details.trigger === "file change" ? " (its files changed)" : "";
      return `began serving ${e.details.old ? "a new" : "its first recorded"} TLS certificate ${short(e.details.new)}${e.details.notAfter ? `, valid until ${e.details.notAfter.slice(0, 10)}` : ""}${e.details.names ? `, for ${e.details.names}` : ""}${trigger}`;
    }
    case "user.created":
      return `created ${who(e.subjectId)}${e.details.role === "admin" ? " as an administrator" : e.details.role === "member" ? " as a member" : ""}`;
    case "org.policy_changed": {
      const fields = Object.keys(e.details).sort();
      return fields.length === 0 ? "saved the organisation's settings unchanged" : `changed the organisation's settings: ${fields.map((f) => `${f} → ${e.details[f]}`).join(", ")}`;
    }
    case "user.suspended":
      return `suspended ${who(e.subjectId)}`;
    case "user.reinstated":
      return `reinstated ${who(e.subjectId)}`;
    case "user.two_factor_reset":
      return `turned off two-factor authentication for ${who(e.subjectId)}`;
    case "user.passkey_added":
      return `added the passkey “${e.details.passkey ?? "?"}”${self ? "" : ` to ${who(e.subjectId)}`}`;
    case "user.passkey_deleted":
      return `deleted the passkey “${e.details.passkey ?? "?"}”${self ? "" : ` of ${who(e.subjectId)}`}`;
    case "user.passkey_sign_in":
      return `signed in${self ? "" : ` to ${who(e.subjectId)}`} with the passkey “${e.details.passkey ?? "?"}”${e.details.as === "second factor" ? " after the password" : ""}`;
    case "org.sso_changed": {
      const fields = Object.keys(e.details).sort();
      return fields.length === 0 ? "saved the single sign-on settings unchanged" : `changed the single sign-on settings: ${fields.map((f) => (f === "clientSecret" ? `client secret ${e.details[f]}` : `${f} → ${e.details[f]}`)).join(", ")}`;
    }
    case "user.sso_created":
      return `signed up by a first sign-in through single sign-on (${e.details.issuer ?? "?"})`;
    case "user.sso_linked":
      return `linked ${self ? "your" : "their"} account to single sign-on (${e.details.issuer ?? "?"}) by its verified e-mail`;
    case "user.sso_sign_in":
      return `signed in${self ? "" : ` to ${who(e.subjectId)}`} through single sign-on (${e.details.issuer ?? "?"})`;
    case "user.deleted":
      return `deleted ${who(e.subjectId)}`;
    case "user.exported":
      return `downloaded the data of ${who(e.subjectId)}`;
    case "operator.read":
      return `read ${e.details.what ?? "records"}${e.details.records ? ` (${e.details.records} records)` : ""} on the command line`;
    case "legal.request":
      return `recorded a legal request (${(e.details.kind ?? "?").replace(/_/g, " ")}: ${(e.details.outcome ?? "?").replace(/_/g, " ")})`;
    case "meeting.ended":
      return `ended ${self ? "your meeting" : "the meeting"} ${e.subjectId ?? ""} for everyone in it${e.details.participants ? ` (${e.details.participants} in it, ${e.details.waiting ?? "0"} waiting)` : ""}`;
    case "meeting.moved":
      return `moved ${self ? "your meeting" : "the meeting"} ${e.subjectId ?? ""} to the server ${e.details.node ?? "?"} (everyone in it reconnected there)`;
    case "meeting.locked":
    case "meeting.unlocked": {
      const locked = e.action === "meeting.locked";
      const what = `${locked ? "locked" : "unlocked"} ${self ? "your meeting" : "the meeting"} ${e.subjectId ?? ""}${locked ? " (nobody new could join)" : ""}`;
      const n = e.details.participants ?? "?";
      return e.details.live === "true" ? `${what} while ${n} ${n === "1" ? "was" : "were"} in it` : e.details.live === "false" ? `${what} while nobody was in it` : what;
    }
    case "retention.applied":
      return `applied the retention limits: deleted ${e.details.meetings ?? "0"} meetings, ${e.details.sessions ?? "0"} records of ended sign-ins and ${e.details.auditEntries ?? "0"} audit entries${e.details.auditRefused ? " (audit entries past the limit kept: the log does not verify)" : ""}`;
    case "audit.pruned":
      return `deleted audit entries up to number ${e.details.through ?? "?"} (${e.details.count ?? "?"} entries older than ${e.details.keepDays ?? "?"} days); this entry vouches for them, so the rest still verifies`;
    case "token.created":
    case "token.revoked": {
      const kind = e.details.kind === "org" ? "an organisation API token" : self ? "a personal API token" : `a personal API token of ${who(e.subjectId)}`;
      const verb = e.action === "token.created" ? "created" : "revoked";
      const scopes = e.action === "token.created" && e.details.scopes ? ` (${e.details.scopes})` : "";
      return `${verb} ${kind} “${e.details.name ?? "?"}”${scopes}`;
    }
    case "ingest_token.created":
    case "ingest_token.revoked":
      return `${e.action === "ingest_token.created" ? "made" : "revoked"} a stream-in (WHIP) token “${e.details.name ?? "?"}” for ${self ? "your meeting" : "the meeting"} ${e.subjectId ?? ""}`;
    case "egress_token.created":
    case "egress_token.revoked":
      return `${e.action === "egress_token.created" ? "made" : "revoked"} a watch (WHEP) token “${e.details.name ?? "?"}” for ${self ? "your meeting" : "the meeting"} ${e.subjectId ?? ""}`;
    case "recording.server_started":
      return `had the server record ${self ? "your meeting" : "the meeting"} ${e.subjectId ?? ""} (the speaker's video and voice, not end-to-end encrypted; recording ${e.details.recording ?? "?"})`;
    case "recording.server_ended": {
      const why = e.details.ended === "duration_limit" ? " at its length limit" : e.details.ended === "size_limit" ? " at its size limit" : e.details.ended === "failed" ? " as it failed" : "";
      return `ended its recording ${e.details.recording ?? "?"} of ${self ? "your meeting" : "the meeting"} ${e.subjectId ?? ""}${why}, after ${e.details.seconds ?? "?"} s`;
    }
    case "webhook.created":
      return `registered a webhook to ${e.details.host ?? "?"}${e.details.events ? ` for ${e.details.events}` : ""}`;
    case "webhook.changed":
      return `turned ${e.details.enabled === "true" ? "on" : "off"} the webhook to ${e.details.host ?? "?"}`;
    case "webhook.deleted":
      return `deleted the webhook to ${e.details.host ?? "?"}`;
    case "server.started":
      return `started${e.details.version ? ` (version ${e.details.version})` : ""}; audit log ${e.details.chain ?? "not checked"}`;
    default:
      return `${e.action}${e.subjectId ? ` on ${e.subjectKind} ${e.subjectId}` : ""}`;
  }
}

/** The start of a key's or certificate's fingerprint, enough to tell them apart. */
function short(fingerprint: string | undefined): string {
  if (fingerprint === undefined) return "?";
  return fingerprint.length > 23 ? `${fingerprint.slice(0, 23)}…` : fingerprint;
}
