import assert from "node:assert/strict";
import { test } from "node:test";
import { groupMeetingId, manualPlan, openMessage, planProblem, randomPlan, roomNames } from "../src/meeting/breakouts.js";

/** A fixed sequence for the shuffle. */
function seq(...xs: number[]): () => number {
  let i = 0;
  return () => xs[i++ % xs.length]!;
}

test("a random plan deals everyone once, rooms differing by at most one", () => {
  const ids = ["a", "b", "c", "d", "e", "f", "g"];
  const plan = randomPlan(ids, roomNames(3), seq(0.9, 0.1, 0.5, 0.3, 0.7, 0.2));
  assert.deepEqual(plan.map((r) => r.name), ["Room 1", "Room 2", "Room 3"]);
  assert.deepEqual(plan.flatMap((r) => r.participants).sort(), ids);
  const sizes = plan.map((r) => r.participants.length);
  assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `sizes ${sizes}`);
  // Another draw gives another deal, same invariants.
  const other = randomPlan(ids, roomNames(3), seq(0.05, 0.95, 0.4));
  assert.notDeepEqual(other, plan);
});

test("a manual plan follows each choice; 0 stays in the main room", () => {
  const plan = manualPlan(new Map([["a", 2], ["b", 0], ["c", 1], ["d", 2], ["e", 9]]), ["Red", "Blue"]);
  assert.deepEqual(plan, [{ name: "Red", participants: ["c"] }, { name: "Blue", participants: ["a", "d"] }]);
});

test("plans are checked before they are sent", () => {
  assert.equal(planProblem([{ name: "Red", participants: ["a"] }], 10), null);
  assert.match(planProblem([], 10)!, /1 to 50 rooms/);
  assert.match(planProblem(roomNames(51).map((name) => ({ name, participants: ["x"] })), 0)!, /1 to 50/);
  assert.match(planProblem([{ name: "Red", participants: ["a"] }], 61)!, /countdown/);
  assert.match(planProblem([{ name: "Red", participants: ["a"] }], 1.5)!, /countdown/);
  assert.match(planProblem([{ name: "  ", participants: ["a"] }], 0)!, /name/);
  assert.match(planProblem([{ name: "x".repeat(65), participants: ["a"] }], 0)!, /name/);
  assert.match(planProblem([{ name: "Red", participants: ["a"] }, { name: "Blue", participants: ["a"] }], 0)!, /two rooms/);
  assert.match(planProblem([{ name: "Red", participants: [] }], 0)!, /at least one/);
  assert.deepEqual(openMessage([{ name: " Red ", participants: ["a"] }], 5), { type: "breakout_open", rooms: [{ name: "Red", participants: ["a"] }], seconds: 5 });
});

test("each room has a group of its own", () => {
  assert.equal(groupMeetingId("7k3m-q9xd-2hfa-b8rn", 0), "7k3m-q9xd-2hfa-b8rn");
  assert.equal(groupMeetingId("7k3m-q9xd-2hfa-b8rn", 2), "7k3m-q9xd-2hfa-b8rn/breakout/2");
  assert.notEqual(groupMeetingId("m", 1), groupMeetingId("m", 2));
});
