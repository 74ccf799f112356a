import assert from "node:assert/strict";
import { test } from "node:test";

import { parseAuditEntry } from "../src/api/audit.js";
import { parseSSOButton, parseSSOSettings, ssoButtonText, ssoProblem } from "../src/api/sso.js";
import { actionText, actorText } from "../src/lib/audit-text.js";

test("the sign-in page's button reads the server's answer", () => {
  const b = parseSSOButton({ enabled: true, label: "Example ID", ssoOnly: true });
  assert.deepEqual(b, { enabled: true, label: "Example ID", ssoOnly: true });
  assert.equal(ssoButtonText(b), "Sign in with Example ID");
  assert.equal(ssoButtonText({ ...b, label: " " }), "Sign in with single sign-on");
  assert.deepEqual(parseSSOButton({ enabled: false }), { enabled: false, label: "", ssoOnly: false });
  assert.throws(() => parseSSOButton({ enabled: "yes" }));
});

test("the administrator's settings are read without a secret", () => {
  const s = parseSSOSettings({ enabled: true, issuer: "https://id.example.org", clientId: "kaigi", secretSet: true, label: "ID", domains: ["example.org"], allowCreate: true, linkByEmail: false, ssoOnly: false, redirectUri: "https://meet.example.org/api/auth/oidc/callback" });
  assert.equal(s.secretSet, true);
  assert.deepEqual(s.domains, ["example.org"]);
  assert.equal("clientSecret" in s, false);
  assert.throws(() => parseSSOSettings({ enabled: true, issuer: "x", clientId: "c", label: "l", domains: [1], redirectUri: "r" }));
  assert.throws(() => parseSSOSettings({ enabled: true, clientId: "c", label: "l", domains: [], redirectUri: "r" }));
});

test("each failure the server sends back reads as its own sentence, and an unknown code never shows its text", () => {
  const codes = ["sso_unavailable", "sso_expired", "sso_provider", "sso_refused", "sso_no_account", "sso_domain", "sso_email_taken", "account_suspended", "rate_limited"];
  const sentences = codes.map((c) => ssoProblem(`?sso=${c}`));
  for (const [i, s] of sentences.entries()) {
    assert.ok(s !== null && /^[A-Z].*\.$/.test(s), `${codes[i]}: ${s}`);
    assert.ok(!s.includes("sso_"), `${codes[i]} shows its code`);
  }
  assert.equal(new Set(sentences).size, codes.length, "two codes share a sentence");
  assert.equal(ssoProblem("?next=/admin"), null);
  const odd = ssoProblem("?sso=%3Cimg%20src%3Dx%3E");
  assert.ok(odd !== null && !odd.includes("<img"));
});

test("single sign-on's audit entries read as sentences", () => {
  const base = { seq: 9, time: "2026-12-06T10:00:00Z", actorKind: "user", actorId: "u1", subjectKind: "user", subjectId: "u1" };
  const names = new Map([["u1", "Ana"]]);
  const read = (action: string, details: Record<string, string>, self = false): string => {
    const e = parseAuditEntry({ ...base, action, details });
    return `${actorText(e, names)} ${actionText(e, names, self)}`;
  };
  const iss = { issuer: "https://id.example.org" };
  assert.equal(read("user.sso_sign_in", iss), "Ana signed in to Ana through single sign-on (https://id.example.org)");
  assert.equal(read("user.sso_sign_in", iss, true), "Ana signed in through single sign-on (https://id.example.org)");
  assert.equal(read("user.sso_created", iss), "Ana signed up by a first sign-in through single sign-on (https://id.example.org)");
  assert.equal(read("user.sso_linked", iss, true), "Ana linked your account to single sign-on (https://id.example.org) by its verified e-mail");
  const changed = parseAuditEntry({ ...base, subjectKind: "org", subjectId: undefined, action: "org.sso_changed", details: { ssoOnly: "true", clientSecret: "changed" } });
  assert.equal(actionText(changed), "changed the single sign-on settings: client secret changed, ssoOnly → true");
});
