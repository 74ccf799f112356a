import assert from "node:assert/strict";
import { test } from "node:test";

import { parseAuditEntry } from "../src/api/audit.js";
import { actionText, actorText } from "../src/lib/audit-text.js";

const base = { seq: 3, time: "2026-12-06T10:00:00Z", actorKind: "user", actorId: "u1", action: "user.created", subjectKind: "user", subjectId: "u2", details: { role: "admin" } };

test("an audit entry is read with its details", () => {
  const e = parseAuditEntry(base);
  assert.equal(e.seq, 3);
  assert.equal(e.time.toISOString(), "2026-12-06T10:00:00.000Z");
  assert.deepEqual(e.details, { role: "admin" });
});

test("malformed audit entries are refused", () => {
  for (const bad of [
    { ...base, seq: 0 },
    { ...base, seq: "3" },
    { ...base, time: "yesterday" },
    { ...base, actorKind: "admin" },
    { ...base, subjectKind: "room" },
    { ...base, details: { role: 1 } },
    { ...base, details: ["x"] },
    { ...base, action: 5 },
    null,
  ]) {
    assert.throws(() => parseAuditEntry(bad), JSON.stringify(bad));
  }
});

test("key rotations and certificate changes read as sentences", () => {
  const server = { ...base, actorId: undefined, subjectKind: "server", subjectId: undefined };
  const rotated = parseAuditEntry({ ...server, actorKind: "operator", action: "server.key_rotated", reason: "yearly", details: { oldKey: "ab".repeat(32), newKey: "cd".repeat(32), resealed: "12" } });
  assert.equal(
    `${actorText(rotated)} ${actionText(rotated)}`,
    `The server's operator (command line) rotated the server's sealing key (${"ab".repeat(11)}a… → ${"cd".repeat(11)}c…) and re-sealed 12 stored secrets; browsers remembered for two-factor sign-in were forgotten`,
  );
  const fp = (b: string): string => Array(32).fill(b).join(":");
  const renewed = parseAuditEntry({ ...server, actorKind: "system", action: "server.certificate_changed", details: { old: fp("AA"), new: fp("BB"), notAfter: "2027-03-01T12:00:00Z", subject: "CN=meet.example.org", names: "meet.example.org", trigger: "reload" } });
  assert.equal(`${actorText(renewed)} ${actionText(renewed)}`, "The server began serving a new TLS certificate BB:BB:BB:BB:BB:BB:BB:BB…, valid until 2027-03-01, for meet.example.org (reloaded on request)");
  const first = parseAuditEntry({ ...server, actorKind: "system", action: "server.certificate_changed", details: { new: fp("CC"), trigger: "start" } });
  assert.equal(actionText(first), "began serving its first recorded TLS certificate CC:CC:CC:CC:CC:CC:CC:CC… (found at start)");
});

test("entries read as sentences, naming accounts the page knows", () => {
  const names = new Map([["u1", "Ada"], ["u2", "Bob"]]);
  const e = parseAuditEntry(base);
  assert.equal(actorText(e, names), "Ada");
  assert.equal(actionText(e, names), "created Bob as an administrator");
  assert.equal(actionText(e, names, true), "created your account as an administrator");
  assert.equal(actorText(parseAuditEntry({ ...base, actorId: undefined })), "An administrator");
  assert.equal(actorText(parseAuditEntry({ ...base, actorKind: "operator", actorId: undefined })), "The server's operator (command line)");
  const policy = parseAuditEntry({ ...base, action: "org.policy_changed", subjectKind: "org", subjectId: undefined, details: { require2FA: "true", allowSignUp: "false" } });
  assert.equal(actionText(policy), "changed the organisation's settings: allowSignUp → false, require2FA → true");
  const started = parseAuditEntry({ ...base, actorKind: "system", actorId: undefined, action: "server.started", subjectKind: "server", subjectId: undefined, details: { version: "0.1.0", chain: "verified to entry 2" } });
  assert.equal(actionText(started), "started (version 0.1.0); audit log verified to entry 2");
  assert.equal(actionText(parseAuditEntry({ ...base, action: "meeting.renamed", subjectKind: "meeting", subjectId: "abc" })), "meeting.renamed on meeting abc");
  const suspended = parseAuditEntry({ ...base, action: "user.suspended", reason: "review" });
  assert.equal(`${actorText(suspended, names)} ${actionText(suspended, names)}`, "Ada suspended Bob");
  assert.equal(actionText(suspended, names, true), "suspended your account");
  const legal = parseAuditEntry({ ...base, actorKind: "operator", actorId: undefined, action: "legal.request", subjectKind: "server", subjectId: undefined, details: { kind: "user_data", outcome: "partly_complied" } });
  assert.equal(actionText(legal), "recorded a legal request (user data: partly complied)");
  const read = parseAuditEntry({ ...base, actorKind: "operator", actorId: undefined, action: "operator.read", subjectKind: "server", subjectId: undefined, details: { what: "accounts", records: "12" }, reason: "licence count" });
  assert.equal(`${actorText(read)} ${actionText(read)}`, "The server's operator (command line) read accounts (12 records) on the command line");
  const retention = parseAuditEntry({ ...base, actorKind: "system", actorId: undefined, action: "retention.applied", subjectKind: "server", subjectId: undefined, details: { meetings: "3", sessions: "12", auditEntries: "0", auditDays: "730" } });
  assert.equal(`${actorText(retention)} ${actionText(retention)}`, "The server applied the retention limits: deleted 3 meetings, 12 records of ended sign-ins and 0 audit entries");
  const refused = parseAuditEntry({ ...base, actorKind: "operator", actorId: undefined, action: "retention.applied", subjectKind: "server", subjectId: undefined, details: { meetings: "0", sessions: "0", auditEntries: "0", auditRefused: "the chain does not verify" } });
  assert.match(actionText(refused), /audit entries past the limit kept: the log does not verify/);
  const pruned = parseAuditEntry({ ...base, actorKind: "system", actorId: undefined, action: "audit.pruned", subjectKind: "server", subjectId: undefined, details: { through: "40", count: "40", keepDays: "730", hash: "ab".repeat(32), before: "2025-01-01T00:00:00Z" } });
  assert.equal(actionText(pruned), "deleted audit entries up to number 40 (40 entries older than 730 days); this entry vouches for them, so the rest still verifies");
  const ended = parseAuditEntry({ ...base, action: "meeting.ended", subjectKind: "meeting", subjectId: "abcd-efgh", details: { participants: "3", waiting: "1" } });
  assert.equal(actionText(ended, new Map(), true), "ended your meeting abcd-efgh for everyone in it (3 in it, 1 waiting)");
  const locked = parseAuditEntry({ ...base, action: "meeting.locked", subjectKind: "meeting", subjectId: "abcd-efgh", reason: "Abuse report 7", details: { live: "true", participants: "3", waiting: "0" } });
  assert.equal(actionText(locked, new Map(), true), "locked your meeting abcd-efgh (nobody new could join) while 3 were in it");
  assert.equal(`${actorText(locked, names)} ${actionText(locked, names)}`, "Ada locked the meeting abcd-efgh (nobody new could join) while 3 were in it");
  const unlocked = parseAuditEntry({ ...base, action: "meeting.unlocked", subjectKind: "meeting", subjectId: "abcd-efgh", reason: "withdrawn", details: { live: "false" } });
  assert.equal(actionText(unlocked, new Map(), true), "unlocked your meeting abcd-efgh while nobody was in it");
  const one = parseAuditEntry({ ...base, action: "meeting.unlocked", subjectKind: "meeting", subjectId: "abcd-efgh", reason: "r", details: { live: "true", participants: "1", waiting: "0" } });
  assert.equal(actionText(one, names), "unlocked the meeting abcd-efgh while 1 was in it");
  const token = parseAuditEntry({ ...base, action: "token.created", subjectKind: "user", subjectId: "u2", details: { id: "t1", kind: "personal", name: "CI", scopes: "meetings:read" } });
  assert.equal(`${actorText(token, names)} ${actionText(token, names)}`, "Ada created a personal API token of Bob “CI” (meetings:read)");
  assert.equal(actionText(token, names, true), "created a personal API token “CI” (meetings:read)");
  const orgToken = parseAuditEntry({ ...base, action: "token.revoked", subjectKind: "org", subjectId: undefined, details: { id: "t2", kind: "org", name: "Sync" } });
  assert.equal(actionText(orgToken, names), "revoked an organisation API token “Sync”");
  const hook = parseAuditEntry({ ...base, action: "webhook.created", subjectKind: "org", subjectId: undefined, details: { id: "w1", host: "hooks.example.org", events: "meeting.started meeting.ended" } });
  assert.equal(actionText(hook), "registered a webhook to hooks.example.org for meeting.started meeting.ended");
  const off = parseAuditEntry({ ...base, action: "webhook.changed", subjectKind: "org", subjectId: undefined, details: { id: "w1", host: "hooks.example.org", enabled: "false" } });
  assert.equal(actionText(off), "turned off the webhook to hooks.example.org");
  const gone = parseAuditEntry({ ...base, action: "webhook.deleted", subjectKind: "org", subjectId: undefined, details: { id: "w1", host: "hooks.example.org" } });
  assert.equal(actionText(gone), "deleted the webhook to hooks.example.org");
});
