import assert from "node:assert/strict";
import { test } from "node:test";
import type { AppMessage } from "../src/e2ee/messages.js";
import { applySpotlight, parseSpotlight, Spotlight, SPOTLIGHT_KIND, spotlightBody, type SpotlightChannel } from "../src/meeting/spotlight.js";

const roles: Record<string, string> = { hana: "host", cohen: "cohost", pat: "participant", bob: "participant" };
const role = (p: string): string | undefined => roles[p];
const msg = (claimed: string | null, body: unknown, priv = false) => ({ claimed, body, private: priv });

test("spotlight schema: version 1, a participant or null; anything else is refused", () => {
  assert.deepEqual(parseSpotlight(spotlightBody("bob")), { participant: "bob" });
  assert.deepEqual(parseSpotlight(spotlightBody(null)), { participant: null });
  for (const bad of [null, [], "bob", { participant: "bob" }, { v: 2, participant: "bob" }, { v: 1 }, { v: 1, participant: "" }, { v: 1, participant: 7 }, { v: 1, participant: "x".repeat(129) }, { v: 1, participant: "bob", pad: "x".repeat(300) }]) {
    assert.equal(parseSpotlight(bad), null, JSON.stringify(bad).slice(0, 60));
  }
});

test("only a host or co-host, to everyone, about someone in the meeting, changes the spotlight", () => {
  assert.deepEqual(applySpotlight(null, msg("hana", spotlightBody("bob")), role), { participant: "bob", by: "hana" });
  assert.deepEqual(applySpotlight(null, msg("cohen", spotlightBody("pat")), role), { participant: "pat", by: "cohen" });
  const held = { participant: "bob", by: "hana" };
  assert.equal(applySpotlight(held, msg("cohen", spotlightBody(null)), role), null, "any host removes it");
  // Refused: a participant, an unknown sender, no claimed sender, sealed to one, someone not in the meeting, a bad body.
  assert.equal(applySpotlight(held, msg("pat", spotlightBody("pat")), role), held);
  assert.equal(applySpotlight(held, msg("pat", spotlightBody(null)), role), held);
  assert.equal(applySpotlight(held, msg("mallory", spotlightBody("pat")), role), held);
  assert.equal(applySpotlight(held, msg(null, spotlightBody("pat")), role), held);
  assert.equal(applySpotlight(held, msg("hana", spotlightBody("pat"), true), role), held);
  assert.equal(applySpotlight(held, msg("hana", spotlightBody("ghost")), role), held);
  assert.equal(applySpotlight(held, msg("hana", { v: 1, participant: 3 }), role), held);
});

class FakeChannel implements SpotlightChannel {
  inGroup = true;
  epoch: bigint | null = 1n;
  sent: unknown[] = [];
  handler: ((m: AppMessage) => void) | null = null;
  onApplication(kind: string, h: (m: AppMessage) => void): void {
    assert.equal(kind, SPOTLIGHT_KIND);
    this.handler = h;
  }
  sendApplication(kind: string, body: unknown): Promise<void> {
    assert.equal(kind, SPOTLIGHT_KIND);
    this.sent.push(body);
    return Promise.resolve();
  }
  receive(claimed: string, body: unknown): void {
    this.handler!({ from: claimed, leaf: 0, claimed, kind: SPOTLIGHT_KIND, body, private: false });
  }
}

test("the host who holds the spotlight sends it again in each new epoch; it ends when they leave", () => {
  const ch = new FakeChannel();
  let self = "hana";
  const present = { ...roles };
  let changes = 0;
  const s = new Spotlight(ch, { selfId: () => self, role: (p) => present[p] }, () => changes++, () => assert.fail("no failure expected"));
  s.set("bob");
  assert.equal(s.participant, "bob");
  assert.deepEqual(ch.sent, [spotlightBody("bob")]);
  s.refresh();
  assert.equal(ch.sent.length, 1, "same epoch: nothing again");
  ch.epoch = 2n;
  s.refresh();
  assert.deepEqual(ch.sent, [spotlightBody("bob"), spotlightBody("bob")], "new epoch: sent again");

  // Another client: receives it, does not re-announce what it did not set, and drops it when the host leaves.
  const other = new FakeChannel();
  self = "pat";
  const t = new Spotlight(other, { selfId: () => "pat", role: (p) => present[p] }, () => changes++, () => {});
  other.receive("hana", spotlightBody("bob"));
  assert.equal(t.participant, "bob");
  other.epoch = 5n;
  t.refresh();
  assert.equal(other.sent.length, 0);
  // A participant cannot set it.
  t.set("pat");
  assert.equal(other.sent.length, 0);
  assert.equal(t.participant, "bob");
  delete present.hana;
  t.refresh();
  assert.equal(t.participant, null);
  assert.ok(changes >= 3);
});
