import assert from "node:assert/strict";
import { test } from "node:test";

import { parseAuditEntry } from "../src/api/audit.js";
import { actionText, actorText } from "../src/lib/audit-text.js";
import { creationOptions, credentialJSON, fromBase64url, requestOptions, toBase64url, type CredentialLike } from "../src/lib/webauthn-json.js";

const bytes = (...xs: number[]): Uint8Array => new Uint8Array(xs);
const buf = (...xs: number[]): ArrayBuffer => bytes(...xs).buffer as ArrayBuffer;

test("base64url round-trips every byte, with or without padding", () => {
  const all = new Uint8Array(256).map((_, i) => i);
  assert.deepEqual(fromBase64url(toBase64url(all)), all);
  assert.equal(toBase64url(bytes(0xfb, 0xff)), "-_8");
  assert.deepEqual(fromBase64url("-_8="), bytes(0xfb, 0xff));
  assert.deepEqual(fromBase64url(""), bytes());
  assert.throws(() => fromBase64url("a+b/"), "standard base64 is not base64url");
});

test("the server's creation options become the browser's, binary fields decoded", () => {
  const o = creationOptions({
    publicKey: {
      rp: { name: "Kaigi", id: "meet.example.org" },
      user: { name: "ada@example.org", displayName: "Ada", id: "dTE" },
      challenge: "AAEC",
      pubKeyCredParams: [{ type: "public-key", alg: -7 }, { type: "public-key", alg: -257 }],
      timeout: 300000,
      excludeCredentials: [{ type: "public-key", id: "BAUG", transports: ["internal"] }],
      authenticatorSelection: { residentKey: "required", requireResidentKey: true, userVerification: "required" },
      attestation: "none",
    },
  });
  assert.deepEqual(new Uint8Array(o.challenge as ArrayBuffer), bytes(0, 1, 2));
  assert.equal(new TextDecoder().decode(o.user.id as Uint8Array), "u1");
  assert.equal(o.rp.id, "meet.example.org");
  assert.deepEqual(o.pubKeyCredParams.map((p) => p.alg), [-7, -257]);
  assert.deepEqual(new Uint8Array(o.excludeCredentials?.[0]?.id as ArrayBuffer), bytes(4, 5, 6));
  assert.deepEqual(o.excludeCredentials?.[0]?.transports, ["internal"]);
  assert.equal(o.authenticatorSelection?.userVerification, "required");
  assert.equal(o.timeout, 300000);
  assert.throws(() => creationOptions({ publicKey: { rp: {}, user: { id: "dTE" }, pubKeyCredParams: [] } }), "no challenge");
  assert.throws(() => creationOptions({}), "no publicKey");
});

test("the server's request options become the browser's", () => {
  const discoverable = requestOptions({ publicKey: { challenge: "AAEC", rpId: "meet.example.org", userVerification: "required", timeout: 1000 } });
  assert.equal(discoverable.allowCredentials, undefined);
  assert.equal(discoverable.rpId, "meet.example.org");
  assert.equal(discoverable.userVerification, "required");
  const second = requestOptions({ publicKey: { challenge: "AAEC", allowCredentials: [{ type: "public-key", id: "BAUG" }] } });
  assert.deepEqual(new Uint8Array(second.allowCredentials?.[0]?.id as ArrayBuffer), bytes(4, 5, 6));
});

test("the browser's answers become the JSON the server takes", () => {
  const created: CredentialLike = {
    id: "BAUG",
    rawId: buf(4, 5, 6),
    type: "public-key",
    authenticatorAttachment: "platform",
    response: { clientDataJSON: buf(123, 125), attestationObject: buf(1, 2), getTransports: () => ["internal"] },
    getClientExtensionResults: () => ({}),
  };
  assert.deepEqual(credentialJSON(created), {
    id: "BAUG",
    rawId: "BAUG",
    type: "public-key",
    authenticatorAttachment: "platform",
    response: { clientDataJSON: "e30", attestationObject: "AQI", transports: ["internal"] },
    clientExtensionResults: {},
  });
  const asserted: CredentialLike = {
    id: "BAUG",
    rawId: buf(4, 5, 6),
    type: "public-key",
    response: { clientDataJSON: buf(123, 125), authenticatorData: buf(9), signature: buf(8, 7), userHandle: buf(117, 49) },
    getClientExtensionResults: () => ({}),
  };
  assert.deepEqual(credentialJSON(asserted), {
    id: "BAUG",
    rawId: "BAUG",
    type: "public-key",
    response: { clientDataJSON: "e30", authenticatorData: "CQ", signature: "CAc", userHandle: "dTE" },
    clientExtensionResults: {},
  });
  assert.throws(() => credentialJSON({ ...asserted, response: { clientDataJSON: buf(1) } }), "an assertion without a signature");
});

test("passkey audit entries read as sentences", () => {
  const names = new Map([["u1", "Ada"]]);
  const base = { seq: 4, time: "2026-12-06T10:00:00Z", actorKind: "user", actorId: "u1", subjectKind: "user", subjectId: "u1" };
  const added = parseAuditEntry({ ...base, action: "user.passkey_added", details: { passkey: "Laptop", credential: "AbCd" } });
  assert.equal(`${actorText(added, names)} ${actionText(added, names)}`, "Ada added the passkey “Laptop” to Ada");
  assert.equal(actionText(added, names, true), "added the passkey “Laptop”");
  const deleted = parseAuditEntry({ ...base, action: "user.passkey_deleted", details: { passkey: "Phone", credential: "AbCd" } });
  assert.equal(actionText(deleted, names, true), "deleted the passkey “Phone”");
  const alone = parseAuditEntry({ ...base, action: "user.passkey_sign_in", details: { passkey: "Laptop", credential: "AbCd", as: "alone" } });
  assert.equal(actionText(alone, names, true), "signed in with the passkey “Laptop”");
  const second = parseAuditEntry({ ...base, action: "user.passkey_sign_in", details: { passkey: "Laptop", credential: "AbCd", as: "second factor" } });
  assert.equal(actionText(second, names), "signed in to Ada with the passkey “Laptop” after the password");
});
