import assert from "node:assert/strict";
import { test } from "node:test";
import { HAND_AGO_MAX, HandQueue, handBody, parseHand } from "../src/meeting/hands.js";

const roles: Record<string, string> = { host: "host", co: "cohost", a: "participant", b: "participant", c: "participant" };
const body = (participant: string, raised: boolean, ago?: number) => JSON.parse(JSON.stringify(handBody(participant, raised, ago))) as unknown;

test("the queue is in the order hands went up", () => {
  const q = new HandQueue();
  assert.equal(q.apply(body("b", true), "b", roles.b, 1000), true);
  assert.equal(q.apply(body("a", true), "a", roles.a, 2000), true);
  assert.equal(q.apply(body("c", true), "c", roles.c, 3000), true);
  assert.deepEqual(q.queue().map((h) => h.participant), ["b", "a", "c"]);
  assert.equal(q.position("a"), 2);
  assert.equal(q.position("host"), 0);
  // Lowering and raising again goes to the back.
  assert.equal(q.apply(body("b", false), "b", roles.b, 4000), true);
  assert.equal(q.apply(body("b", true), "b", roles.b, 5000), true);
  assert.deepEqual(q.queue().map((h) => h.participant), ["a", "c", "b"]);
});

test("a raise counts only from the participant itself", () => {
  const q = new HandQueue();
  assert.equal(q.apply(body("a", true), "b", roles.b, 1000), false);
  assert.equal(q.apply(body("a", true), "host", roles.host, 1000), false);
  assert.equal(q.isRaised("a"), false);
});

test("a lower counts from the participant, or from a host or co-host, and from nobody else", () => {
  const q = new HandQueue();
  for (const p of ["a", "b", "c"]) q.apply(body(p, true), p, roles[p], 1000);
  assert.equal(q.apply(body("a", false), "b", roles.b, 2000), false, "another participant may not lower a hand");
  assert.equal(q.isRaised("a"), true);
  assert.equal(q.apply(body("a", false), "host", roles.host, 2000), true);
  assert.equal(q.apply(body("b", false), "co", roles.co, 2000), true);
  assert.equal(q.apply(body("c", false), "c", roles.c, 2000), true);
  assert.deepEqual(q.queue(), []);
  // Someone no longer in the roster (no role) is no host.
  q.apply(body("a", true), "a", roles.a, 3000);
  assert.equal(q.apply(body("a", false), "gone", undefined, 3000), false);
});

test("a re-announcement never moves a hand that is up; a newcomer takes its age", () => {
  const q = new HandQueue();
  q.apply(body("a", true), "a", roles.a, 1000);
  q.apply(body("b", true), "b", roles.b, 2000);
  // b claims it has been up for an hour: those who saw it keep their order.
  assert.equal(q.apply(body("b", true, 3600_000), "b", roles.b, 5000), false);
  assert.deepEqual(q.queue().map((h) => h.participant), ["a", "b"]);
  // A newcomer learns both from re-announcements, in any order, and gets the same queue.
  const late = new HandQueue();
  late.apply(body("b", true, 8000), "b", roles.b, 10_000);
  late.apply(body("a", true, 9000), "a", roles.a, 10_050);
  assert.deepEqual(late.queue().map((h) => h.participant), ["a", "b"]);
  assert.equal(late.raisedAt("a"), 1050);
});

test("hands of those who left go down; those still in the roster (reconnecting) keep theirs", () => {
  const q = new HandQueue();
  q.apply(body("a", true), "a", roles.a, 1000);
  q.apply(body("b", true), "b", roles.b, 2000);
  assert.equal(q.keepOnly((p) => p !== "a"), true);
  assert.deepEqual(q.queue().map((h) => h.participant), ["b"]);
  assert.equal(q.keepOnly(() => true), false);
});

test("malformed hand messages are dropped", () => {
  const bad: unknown[] = [
    null,
    {},
    { v: 2, participant: "a", raised: true },
    { v: 1, participant: "", raised: true },
    { v: 1, participant: "a".repeat(129), raised: true },
    { v: 1, participant: "a", raised: "yes" },
    { v: 1, participant: "a", raised: true, ago: -1 },
    { v: 1, participant: "a", raised: true, ago: "1" },
    { v: 1, participant: "a", raised: true, ago: Infinity },
    { v: 1, participant: "a", raised: true, pad: "x".repeat(300) },
  ];
  for (const b of bad) assert.equal(parseHand(b), null, JSON.stringify(b));
  assert.equal(parseHand({ v: 1, participant: "a", raised: true, ago: 10 * HAND_AGO_MAX })!.ago, HAND_AGO_MAX);
  // A lower carries no age.
  assert.equal("ago" in handBody("a", false, 5), false);
});
