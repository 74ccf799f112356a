import assert from "node:assert/strict";
import { test } from "node:test";
import type { Participant } from "../src/meeting/protocol.js";
import { Roster, hueOf, initials } from "../src/meeting/roster.js";

function p(id: string, name = id): Participant {
  return { id, name, role: "participant", signedIn: false, joinedAt: "2025-01-01T00:00:00Z", audio: true, video: true, screen: false, connection: "connected", mutedByHost: false };
}

test("the roster keeps join order through updates", () => {
  const r = new Roster();
  r.reset([p("a"), p("b")]);
  r.upsert(p("c"));
  r.upsert({ ...p("a"), audio: false });
  assert.deepEqual(r.list().map((x) => x.id), ["a", "b", "c"]);
  assert.equal(r.get("a")!.audio, false);
  assert.equal(r.remove("b"), true);
  assert.equal(r.remove("b"), false);
  assert.deepEqual(r.list().map((x) => x.id), ["a", "c"]);
  r.reset([p("z")]);
  assert.deepEqual(r.list().map((x) => x.id), ["z"]);
});

test("initials take the first and last word", () => {
  assert.equal(initials("Ada Lovelace"), "AL");
  assert.equal(initials("ada"), "A");
  assert.equal(initials("  grace  brewster murray hopper "), "GH");
  assert.equal(initials(""), "?");
  assert.equal(initials("Émile zola"), "ÉZ");
  assert.equal(initials("😀 smile"), "😀S");
});

test("avatar hues are stable and in range", () => {
  assert.equal(hueOf("abc"), hueOf("abc"));
  for (const id of ["", "a", "7k3mq9xd2h", "zzzzzzzzzz"]) {
    const h = hueOf(id);
    assert.ok(h >= 0 && h < 360);
  }
});
