import assert from "node:assert/strict";
import { test } from "node:test";
import { REACTIONS, REACTION_LIMITS, RateLimiter, parseReaction, reactionBody } from "../src/meeting/reactions.js";

test("a reaction round-trips through its version-1 body", () => {
  for (const e of REACTIONS) assert.equal(parseReaction(JSON.parse(JSON.stringify(reactionBody(e)))), e);
});

test("anything but a version-1 reaction from the set is dropped", () => {
  const bad: unknown[] = [
    null,
    "👍",
    [],
    {},
    { v: 2, emoji: "👍" },
    { v: "1", emoji: "👍" },
    { v: 1 },
    { v: 1, emoji: "💩" },
    { v: 1, emoji: "<img src=x onerror=alert(1)>" },
    { v: 1, emoji: "👍", pad: "x".repeat(100) },
  ];
  for (const b of bad) assert.equal(parseReaction(b), null, JSON.stringify(b));
});

test("the rate limiter allows 3 a second and 20 a minute per sender", () => {
  const r = new RateLimiter(REACTION_LIMITS);
  // A burst: 3 pass, the 4th in the same second does not.
  assert.deepEqual([0, 10, 20, 30].map((t) => r.allow("a", t)), [true, true, true, false]);
  // Another sender is not affected.
  assert.equal(r.allow("b", 30), true);
  // A second later there is room again.
  assert.equal(r.allow("a", 1000), true);
  // Steady 2 a second: the minute's budget of 20 runs out.
  const r2 = new RateLimiter(REACTION_LIMITS);
  let passed = 0;
  for (let t = 0; t < 60_000; t += 500) if (r2.allow("a", t)) passed++;
  assert.equal(passed, 20);
  // Refused attempts do not count: after the window, the budget is back.
  assert.equal(r2.allow("a", 60_000 + 10_000), true);
});
