import assert from "node:assert/strict";
import { test } from "node:test";
import { keyHolders, playsInClear } from "../src/meeting/ingest.js";
import { parseServerMessage, type Participant } from "../src/meeting/protocol.js";
import { PRODUCT_DEFAULTS, applyForm, parseSettings, sameSettings } from "../src/meeting/settings.js";

const person: Participant = { id: "a", name: "Ada", role: "host", signedIn: true, joinedAt: "", audio: true, video: true, screen: false, connection: "connected", mutedByHost: false };
const source: Participant = { ...person, id: "s", name: "OBS", role: "participant", signedIn: false, ingest: true };

test("only a WHIP source of a meeting that allows them plays without decryption", () => {
  const allows = { ...PRODUCT_DEFAULTS, ingest: true };
  assert.equal(playsInClear(source, allows), true);
  assert.equal(playsInClear(source, PRODUCT_DEFAULTS), false, "a server cannot make a meeting whose host did not allow sources play clear media");
  assert.equal(playsInClear(person, allows), false, "a person is always decrypted");
  assert.equal(playsInClear(undefined, allows), false, "a track from someone not in the roster is decrypted");
  assert.equal(playsInClear(source, null), false);
});

test("the roster's ingest mark is read, and only true counts", () => {
  const roster = (p: Record<string, unknown>) => {
    const r = parseServerMessage(JSON.stringify({ type: "participant_joined", participant: p }));
    if (!r.ok || r.message.type !== "participant_joined") throw new Error("not parsed");
    return r.message.participant;
  };
  assert.equal(roster({ ...source }).ingest, true);
  assert.equal(roster({ ...person, ingest: "yes" }).ingest, undefined);
  assert.equal(roster({ ...person }).ingest, undefined);
});

test("the ingest setting is off when absent, round-trips as the server writes it, and a form changes it", () => {
  assert.equal(parseSettings({ ...PRODUCT_DEFAULTS })?.ingest, undefined);
  assert.equal(parseSettings({ ...PRODUCT_DEFAULTS, ingest: false })?.ingest, undefined);
  const on = parseSettings({ ...PRODUCT_DEFAULTS, ingest: true })!;
  assert.equal(on.ingest, true);
  const off = applyForm(on, { ingest: false });
  assert.equal("ingest" in off, false);
  assert.equal(sameSettings(on, off), false);
  assert.equal(sameSettings(applyForm(off, { ingest: true }), on), true);
});

test("a source the meeting allows is not expected to hold a key; one it does not allow is, and so is flagged", () => {
  assert.deepEqual(keyHolders([person, source], { ...PRODUCT_DEFAULTS, ingest: true }), [person]);
  assert.deepEqual(keyHolders([person, source], PRODUCT_DEFAULTS), [person, source]);
});
