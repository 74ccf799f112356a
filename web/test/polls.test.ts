import assert from "node:assert/strict";
import { test } from "node:test";
import {
  OPTIONS_MAX,
  Polls,
  answerBody,
  closeBody,
  newPollId,
  parseAnswer,
  parsePoll,
  parseResults,
  pollBody,
  pollProblem,
  resultsBody,
  type PollSpec,
} from "../src/meeting/polls.js";

const wire = (b: unknown) => JSON.parse(JSON.stringify(b)) as unknown;
const spec = (over: Partial<PollSpec> = {}): PollSpec => ({ id: "poll0001abcd", question: "Lunch?", options: ["Soup", "Salad", "Both"], multiple: false, anonymous: false, ...over });

test("poll, answer, close and results round-trip through their version-1 bodies", () => {
  assert.deepEqual(parsePoll(wire(pollBody(spec()))), spec());
  assert.deepEqual(parseAnswer(wire(answerBody("poll0001abcd", [2, 0]))), { poll: "poll0001abcd", choices: [0, 2] });
  assert.deepEqual(parseResults(wire(resultsBody("poll0001abcd", { counts: [1, 0, 2], answered: 3 }))), { poll: "poll0001abcd", counts: [1, 0, 2], answered: 3 });
  assert.match(newPollId(), /^[0-9a-f]{16}$/);
  assert.notEqual(newPollId(), newPollId());
});

test("malformed or oversized polls are refused", () => {
  const base = pollBody(spec());
  const bad: unknown[] = [
    null,
    { ...base, v: 2 },
    { ...base, id: "short" },
    { ...base, id: "has space in it!" },
    { ...base, question: "" },
    { ...base, question: "q".repeat(301) },
    { ...base, options: ["only one"] },
    { ...base, options: Array.from({ length: OPTIONS_MAX + 1 }, (_, i) => `o${i}`) },
    { ...base, options: ["a", "a"] },
    { ...base, options: ["a", "o".repeat(101)] },
    { ...base, options: ["a", 7] },
    { ...base, multiple: "no" },
    { ...base, anonymous: undefined },
    { ...base, pad: "x".repeat(9000) },
  ];
  for (const b of bad) assert.equal(parsePoll(wire(b)), null, JSON.stringify(b).slice(0, 80));
  for (const a of [{ v: 1, poll: "poll0001abcd", choices: [] }, { v: 1, poll: "poll0001abcd", choices: [1, 1] }, { v: 1, poll: "poll0001abcd", choices: [-1] }, { v: 1, poll: "poll0001abcd", choices: [0.5] }, { v: 1, poll: "poll0001abcd", choices: [10] }]) {
    assert.equal(parseAnswer(a), null, JSON.stringify(a));
  }
  for (const r of [{ v: 1, poll: "poll0001abcd", counts: [1, 5], answered: 3 }, { v: 1, poll: "poll0001abcd", counts: [1], answered: 3 }, { v: 1, poll: "poll0001abcd", counts: [1, 1], answered: -1 }]) {
    assert.equal(parseResults(r), null, JSON.stringify(r));
  }
  assert.equal(pollProblem("Q?", ["a"]), "Give at least 2 options.");
  assert.equal(pollProblem("  ", ["a", "b"]), "Write a question.");
  assert.equal(pollProblem("Q?", ["a", " a "]), "Two options are the same.");
  assert.equal(pollProblem("Q?", ["a", "", "b"]), null);
});

test("only hosts' polls are taken, once each", () => {
  const ps = new Polls(() => "me");
  assert.equal(ps.received(wire(pollBody(spec())), "p1", false), false, "a participant may not create a poll");
  assert.equal(ps.received(wire(pollBody(spec())), "h1", true), true);
  assert.equal(ps.received(wire(pollBody(spec())), "h1", true), false, "a re-sent poll is the same poll");
  // Another host's poll with the same id is another poll.
  assert.equal(ps.received(wire(pollBody(spec())), "h2", true), true);
  assert.equal(ps.list().length, 2);
});

test("the creator tallies one answer per person, which may change until the poll closes", () => {
  const host = new Polls(() => "h");
  const p = host.create(spec())!;
  assert.equal(host.answerReceived(wire(answerBody(p.id, [0])), "a", true), true);
  assert.equal(host.answerReceived(wire(answerBody(p.id, [1])), "b", true), true);
  assert.deepEqual(host.tally(p.id), { counts: [1, 1, 0], answered: 2, voters: [["a"], ["b"], []] });
  // a changes its mind: still one answer from a.
  assert.equal(host.answerReceived(wire(answerBody(p.id, [2])), "a", true), true);
  assert.deepEqual(host.tally(p.id), { counts: [0, 1, 1], answered: 2, voters: [[], ["b"], ["a"]] });
  // Two choices in a single-choice poll, an option that does not exist, an answer not sealed to us, an unknown poll: not counted.
  assert.equal(host.answerReceived(wire(answerBody(p.id, [0, 1])), "c", true), false);
  assert.equal(host.answerReceived(wire(answerBody(p.id, [3])), "c", true), false);
  assert.equal(host.answerReceived(wire(answerBody(p.id, [0])), "c", false), false);
  assert.equal(host.answerReceived(wire(answerBody("otherpoll123", [0])), "c", true), false);
  assert.equal(host.close(p.id), true);
  assert.equal(host.answerReceived(wire(answerBody(p.id, [0])), "b", true), false, "closed: no more answers");
  assert.deepEqual(host.share(p.id), { counts: [0, 1, 1], answered: 2 });
});

test("a multiple-choice poll counts each choice", () => {
  const host = new Polls(() => "h");
  const p = host.create(spec({ multiple: true }))!;
  host.answerReceived(wire(answerBody(p.id, [0, 2])), "a", true);
  host.answerReceived(wire(answerBody(p.id, [2])), "b", true);
  assert.deepEqual(host.tally(p.id)!.counts, [1, 0, 2]);
  assert.equal(host.tally(p.id)!.answered, 2);
});

test("an anonymous poll's tally and shared results carry no names", () => {
  const host = new Polls(() => "host-id");
  const p = host.create(spec({ anonymous: true }))!;
  host.answerReceived(wire(answerBody(p.id, [0])), "alice-id", true);
  host.answerReceived(wire(answerBody(p.id, [1])), "bob-id", true);
  const t = host.tally(p.id)!;
  assert.equal(t.voters, null);
  assert.deepEqual(t.counts, [1, 1, 0]);
  host.close(p.id);
  const shared = JSON.stringify(resultsBody(p.id, host.share(p.id)!));
  for (const s of [JSON.stringify(t), shared]) {
    assert.ok(!s.includes("alice-id") && !s.includes("bob-id"), s);
  }
  // Named polls share counts only, too.
  const named = host.create(spec({ id: "poll0002abcd" }))!;
  host.answerReceived(wire(answerBody(named.id, [0])), "alice-id", true);
  host.close(named.id);
  assert.ok(!JSON.stringify(resultsBody(named.id, host.share(named.id)!)).includes("alice-id"));
});

test("a participant answers once, may change it, and only the creator closes or shares", () => {
  const me = new Polls(() => "a");
  me.received(wire(pollBody(spec())), "h", true);
  const p = me.get("h", "poll0001abcd")!;
  assert.deepEqual(me.answer("h", p.id, [1]), [1]);
  assert.deepEqual(me.answer("h", p.id, [2]), [2]);
  assert.equal(me.answer("h", p.id, [0, 1]), null, "one choice only");
  assert.deepEqual(p.myChoices, [2]);
  // Another host cannot close or publish results for h's poll.
  assert.equal(me.closeReceived(wire(closeBody(p.id)), "h2"), false);
  assert.equal(me.resultsReceived(wire(resultsBody(p.id, { counts: [9, 9, 9], answered: 9 })), "h2"), false);
  assert.equal(p.open, true);
  // Results with the wrong number of options are refused.
  assert.equal(me.resultsReceived(wire(resultsBody(p.id, { counts: [1, 1], answered: 2 })), "h"), false);
  assert.equal(me.closeReceived(wire(closeBody(p.id)), "h"), true);
  assert.equal(me.answer("h", p.id, [1]), null, "closed");
  assert.equal(me.resultsReceived(wire(resultsBody(p.id, { counts: [0, 1, 1], answered: 2 })), "h"), true);
  assert.deepEqual(p.shared, { counts: [0, 1, 1], answered: 2 });
  // A participant has no tally of someone else's poll.
  assert.equal(me.tally(p.id), null);
});
