import assert from "node:assert/strict";
import { test } from "node:test";
import { actionText } from "../src/lib/audit-text.js";
import { keyHolders } from "../src/meeting/ingest.js";
import { parseServerMessage, type Participant } from "../src/meeting/protocol.js";
import { PRODUCT_DEFAULTS } from "../src/meeting/settings.js";

const person: Participant = { id: "a", name: "Ada", role: "host", signedIn: true, joinedAt: "", audio: true, video: true, screen: false, connection: "connected", mutedByHost: false };

const roster = (p: Record<string, unknown>): Participant => {
  const r = parseServerMessage(JSON.stringify({ type: "participant_joined", participant: p }));
  if (!r.ok || r.message.type !== "participant_joined") throw new Error("not parsed");
  return r.message.participant;
};

test("a WHEP viewer is read from the roster only with the ingest mark, and only true counts", () => {
  const viewer = roster({ ...person, id: "v", name: "Stage screen", role: "participant", signedIn: false, ingest: true, viewer: true });
  assert.equal(viewer.viewer, true);
  assert.equal(viewer.ingest, true);
  assert.equal(roster({ ...person, viewer: true }).viewer, undefined, "a viewer mark without the ingest mark is not one: the person stays a key holder");
  assert.equal(roster({ ...person, ingest: true, viewer: "yes" }).viewer, undefined);
});

test("a viewer holds no key where the meeting allows programs outside encryption, and is kept (flagged) where it does not", () => {
  const viewer = roster({ ...person, id: "v", name: "Stage screen", role: "participant", signedIn: false, ingest: true, viewer: true });
  assert.deepEqual(keyHolders([person, viewer], { ...PRODUCT_DEFAULTS, ingest: true }), [person]);
  assert.deepEqual(keyHolders([person, viewer], PRODUCT_DEFAULTS), [person, viewer]);
});

test("the audit log says what an egress token entry is", () => {
  const made = actionText({ action: "egress_token.created", subjectId: "m1", details: { name: "Stage screen" } } as never, new Map(), true);
  assert.match(made, /made a watch \(WHEP\) token “Stage screen” for your meeting m1/);
  const revoked = actionText({ action: "egress_token.revoked", subjectId: "m1", details: { name: "Stage screen" } } as never);
  assert.match(revoked, /revoked a watch \(WHEP\) token/);
});
