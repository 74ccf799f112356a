import assert from "node:assert/strict";
import { test } from "node:test";
import type { AppMessage } from "../src/e2ee/messages.js";
import { Interactions, type AppChannel } from "../src/meeting/interactions.js";
import type { Poll } from "../src/meeting/polls.js";
import type { Reaction } from "../src/meeting/reactions.js";

/** A fake group: messages one member sends reach the others, sealed ones only their addressee. */
class FakeGroup {
  readonly members = new Map<string, FakeChannel>();
  readonly sent: { from: string; kind: string; body: unknown; to?: string }[] = [];
  epoch = 1n;
  deliver(from: string, kind: string, body: unknown, to?: string): void {
    this.sent.push({ from, kind, body, ...(to !== undefined ? { to } : {}) });
    const wire = JSON.parse(JSON.stringify(body)) as unknown;
    for (const [id, ch] of this.members) {
      if (id === from || (to !== undefined && id !== to)) continue;
      ch.handlers.get(kind)?.({ from, leaf: 0, claimed: from, kind, body: wire, private: to !== undefined });
    }
  }
}

class FakeChannel implements AppChannel {
  readonly handlers = new Map<string, (m: AppMessage) => void>();
  inGroup = true;
  constructor(
    private readonly group: FakeGroup,
    private readonly id: string,
  ) {
    group.members.set(id, this);
  }
  get epoch(): bigint {
    return this.group.epoch;
  }
  onApplication(kind: string, h: (m: AppMessage) => void): void {
    this.handlers.set(kind, h);
  }
  sendApplication(kind: string, body: unknown, to?: string): Promise<void> {
    this.group.deliver(this.id, kind, body, to);
    return Promise.resolve();
  }
}

const roles: Record<string, string> = { h: "host", a: "participant", b: "participant" };

function member(group: FakeGroup, id: string, clock: { t: number }) {
  const seen = { reactions: [] as [string, Reaction][], arrived: [] as Poll[], notices: [] as string[] };
  const i = new Interactions(
    new FakeChannel(group, id),
    { selfId: () => id, role: (p) => roles[p], e2ee: () => true },
    {
      reaction: (p, e) => seen.reactions.push([p, e]),
      handsChanged: () => undefined,
      pollsChanged: (p) => p && seen.arrived.push(p),
      notice: (t) => seen.notices.push(t),
    },
    () => clock.t,
  );
  return { i, seen };
}

test("reactions reach the others, and the sender's client stops at the limit", () => {
  const g = new FakeGroup();
  const clock = { t: 0 };
  const a = member(g, "a", clock);
  const b = member(g, "b", clock);
  assert.deepEqual([1, 2, 3, 4].map(() => a.i.react("🎉")), [true, true, true, false]);
  assert.deepEqual(b.seen.reactions, [["a", "🎉"], ["a", "🎉"], ["a", "🎉"]]);
  assert.equal(a.seen.reactions.length, 3, "one's own show too");
});

test("receivers drop a flooding sender's reactions beyond the limit", () => {
  const g = new FakeGroup();
  const clock = { t: 0 };
  const b = member(g, "b", clock);
  // A client that ignores the limit: it sends straight into the group.
  for (let n = 0; n < 10; n++) g.deliver("a", "reaction", { v: 1, emoji: "👍" });
  assert.equal(b.seen.reactions.length, 3);
  // From someone not in the roster: nothing.
  g.deliver("stranger", "reaction", { v: 1, emoji: "👍" });
  assert.equal(b.seen.reactions.length, 3);
});

test("a host lowers a raised hand for everyone; a participant cannot", () => {
  const g = new FakeGroup();
  const clock = { t: 1000 };
  const h = member(g, "h", clock);
  const a = member(g, "a", clock);
  const b = member(g, "b", clock);
  a.i.setHand(true);
  clock.t = 2000;
  b.i.setHand(true);
  for (const m of [h, a, b]) assert.deepEqual(m.i.hands.queue().map((x) => x.participant), ["a", "b"]);
  b.i.lowerHand("a"); // not a host: not even sent
  assert.equal(h.i.hands.isRaised("a"), true);
  g.deliver("b", "hand", { v: 1, participant: "a", raised: false }); // a forged one is refused
  assert.equal(h.i.hands.isRaised("a"), true);
  h.i.lowerHand("a");
  for (const m of [h, a, b]) assert.deepEqual(m.i.hands.queue().map((x) => x.participant), ["b"]);
  assert.equal(a.i.handRaised, false, "a's own button follows");
});

test("a raised hand and open polls are announced again in a new epoch, for newcomers", () => {
  const g = new FakeGroup();
  const clock = { t: 1000 };
  const h = member(g, "h", clock);
  const a = member(g, "a", clock);
  h.i.securityChanged();
  a.i.securityChanged();
  a.i.setHand(true);
  const p = h.i.createPoll({ question: "Q?", options: ["x", "y"], multiple: false, anonymous: false })!;
  assert.ok(p);
  clock.t = 5000;
  const b = member(g, "b", clock);
  g.epoch = 2n;
  g.sent.length = 0;
  h.i.securityChanged();
  a.i.securityChanged();
  a.i.securityChanged(); // once per epoch
  assert.deepEqual(g.sent.map((s) => s.kind).sort(), ["hand", "poll"]);
  assert.equal(b.i.hands.raisedAt("a"), 1000);
  assert.equal(b.seen.arrived.length, 1);
  // Those who knew change nothing.
  assert.equal(h.i.polls.list().length, 1);
  // After a reconnect, announced again even in the same epoch.
  g.sent.length = 0;
  a.i.reconnected();
  a.i.securityChanged();
  assert.deepEqual(g.sent.map((s) => s.kind), ["hand"]);
});

test("a poll: answers go to its creator only, who tallies and shares counts", () => {
  const g = new FakeGroup();
  const clock = { t: 0 };
  const h = member(g, "h", clock);
  const a = member(g, "a", clock);
  const b = member(g, "b", clock);
  assert.equal(a.i.createPoll({ question: "Q?", options: ["x", "y"], multiple: false, anonymous: false }), null, "participants cannot");
  const p = h.i.createPoll({ question: "Which?", options: ["x", "y", "z"], multiple: false, anonymous: true })!;
  const pa = a.seen.arrived[0]!;
  const pb = b.seen.arrived[0]!;
  assert.equal(a.i.answerPoll(pa, [1]), true);
  assert.equal(b.i.answerPoll(pb, [1]), true);
  assert.equal(b.i.answerPoll(pb, [2]), true);
  const answers = g.sent.filter((s) => s.kind === "poll_answer");
  assert.equal(answers.length, 3);
  assert.ok(answers.every((s) => s.to === "h"), "answers are sent to the creator alone");
  assert.deepEqual(h.i.polls.tally(p.id), { counts: [0, 1, 1], answered: 2, voters: null });
  h.i.closePoll(p.id);
  assert.equal(pa.open, false);
  assert.equal(a.i.answerPoll(pa, [0]), false);
  h.i.sharePoll(p.id);
  assert.deepEqual(pa.shared, { counts: [0, 1, 1], answered: 2 });
  assert.deepEqual(pb.shared, { counts: [0, 1, 1], answered: 2 });
});
