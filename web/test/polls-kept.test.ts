import assert from "node:assert/strict";
import { test } from "node:test";
import { forgetResume, saveResume } from "../src/lib/storage.js";
import { KEPT_BYTES_MAX, KEPT_POLLS_MAX, Polls, answerBody, closeBody, tabPollKeeper, type PollKeeper, type PollSpec } from "../src/meeting/polls.js";

// A poll's tally lives in its creator's tab only: kept for a reload of the
// same participant (sessionStorage in the browser; a map here).

class FakeKeeper implements PollKeeper {
  value: string | null = null;
  saves = 0;
  load(): string | null {
    return this.value;
  }
  save(kept: string): void {
    this.value = kept;
    this.saves++;
  }
  forget(): void {
    this.value = null;
  }
}

const spec = (n: number, over: Partial<PollSpec> = {}): PollSpec => ({
  id: `poll${String(n).padStart(8, "0")}`,
  question: `Question ${n}?`,
  options: ["Yes", "No", "Maybe"],
  multiple: false,
  anonymous: false,
  ...over,
});

test("a reload of the same participant gets its polls back with their answers", () => {
  const keeper = new FakeKeeper();
  const before = new Polls(() => "host", keeper);
  const open = before.create(spec(1))!;
  const closed = before.create(spec(2, { multiple: true }))!;
  assert.ok(before.answerReceived(answerBody(open.id, [1]), "bob", true));
  assert.ok(before.answerReceived(answerBody(open.id, [2]), "cy", true));
  before.answer("host", open.id, [1]);
  assert.ok(before.answerReceived(answerBody(closed.id, [0, 2]), "bob", true));
  assert.ok(before.close(closed.id));
  assert.deepEqual(before.share(closed.id), { counts: [1, 0, 1], answered: 1 });

  // The reloaded page: a new Polls, the same participant.
  const after = new Polls(() => "host", keeper);
  assert.deepEqual(
    after.list().map((p) => [p.id, p.mine, p.open, p.myChoices, p.shared]),
    [
      [open.id, true, true, [1], null],
      [closed.id, true, false, null, { counts: [1, 0, 1], answered: 1 }],
    ],
  );
  assert.deepEqual(after.tally(open.id), { counts: [0, 2, 1], answered: 3, voters: [[], ["bob", "host"], ["cy"]] });
  assert.deepEqual(after.openMine().map((p) => p.id), [open.id]);
  // It goes on counting: Cy changes its answer, and the change is kept too.
  assert.ok(after.answerReceived(answerBody(open.id, [0]), "cy", true));
  assert.deepEqual(new Polls(() => "host", keeper).tally(open.id)?.counts, [1, 2, 0]);
});

test("polls are taken back only once the participant is known, and only by the same one", () => {
  const keeper = new FakeKeeper();
  const first = new Polls(() => "host", keeper);
  first.create(spec(1));
  const kept = keeper.value;
  assert.notEqual(kept, null);

  // Before welcome nobody is known: nothing is read, nothing forgotten.
  let self: string | null = null;
  const waiting = new Polls(() => self, keeper);
  assert.deepEqual(waiting.list(), []);
  assert.equal(keeper.value, kept);
  self = "host";
  assert.equal(waiting.list().length, 1);

  // Someone else in this tab (a new join, not a resume) gets none, and the old ones go.
  const other = new Polls(() => "someone-else", keeper);
  assert.deepEqual(other.list(), []);
  assert.equal(keeper.value, null);
});

test("what is kept is bounded and checked when read back", () => {
  const keeper = new FakeKeeper();
  const many = new Polls(() => "host", keeper);
  for (let i = 0; i < KEPT_POLLS_MAX + 5; i++) many.create(spec(i));
  const back = new Polls(() => "host", keeper);
  const ids = back.list().map((p) => p.id);
  assert.equal(ids.length, KEPT_POLLS_MAX);
  assert.equal(ids[0], spec(5).id, "the oldest are dropped first");
  assert.ok(keeper.value!.length <= KEPT_BYTES_MAX);

  // Many answers: the newest polls that fit in the bound are kept.
  const crowd = new FakeKeeper();
  const big = new Polls(() => "host", crowd);
  const polls = [big.create(spec(1))!, big.create(spec(2))!, big.create(spec(3))!];
  for (const p of polls) for (let i = 0; i < 3000; i++) big.answerReceived(answerBody(p.id, [i % 3]), `participant-${i}-with-a-longish-id`, true);
  assert.ok(crowd.value!.length <= KEPT_BYTES_MAX, `kept ${crowd.value!.length} characters`);
  const crowdBack = new Polls(() => "host", crowd).list().map((p) => p.id);
  assert.ok(crowdBack.length >= 1 && crowdBack.length < 3, `kept ${crowdBack.length} polls`);
  assert.equal(crowdBack.at(-1), polls[2]!.id);

  // Garbage, a tampered poll or a bad answer: nothing of it is believed.
  const bad = [
    "not json",
    JSON.stringify({ v: 2, creator: "host", polls: [] }),
    JSON.stringify({ v: 1, creator: "host", polls: [{ spec: { id: "x" }, open: true, myChoices: null, shared: null, answers: [] }] }),
    JSON.stringify({ v: 1, creator: "host", polls: [{ spec: { v: 1, ...spec(1) }, open: true, myChoices: null, shared: null, answers: [["bob", [7]]] }] }),
    JSON.stringify({ v: 1, creator: "host", polls: [{ spec: { v: 1, ...spec(1) }, open: true, myChoices: null, shared: 3, answers: [] }] }),
  ];
  for (const value of bad) {
    const k = new FakeKeeper();
    k.value = value;
    assert.deepEqual(new Polls(() => "host", k).list(), [], value);
  }
});

test("a poll closed by its creator stays closed after the reload, and others' polls are not kept", () => {
  const keeper = new FakeKeeper();
  const p = new Polls(() => "host", keeper);
  const mine = p.create(spec(1))!;
  assert.ok(p.received({ v: 1, ...spec(9) }, "cohost", true));
  p.close(mine.id);
  assert.ok(!p.closeReceived(closeBody(mine.id), "cohost"));
  const back = new Polls(() => "host", keeper).list();
  assert.deepEqual(back.map((x) => [x.id, x.open]), [[mine.id, false]]);
});

/** A sessionStorage for node (which has none), as the browser's behaves: getItem, setItem, removeItem, key, length. */
function withSessionStorage(fn: (items: Map<string, string>) => void): void {
  const items = new Map<string, string>();
  const storage = {
    getItem: (k: string) => items.get(k) ?? null,
    setItem: (k: string, v: string) => void items.set(k, v),
    removeItem: (k: string) => void items.delete(k),
    key: (i: number) => [...items.keys()][i] ?? null,
    get length() {
      return items.size;
    },
  };
  Object.defineProperty(globalThis, "sessionStorage", { value: storage, configurable: true });
  try {
    fn(items);
  } finally {
    delete (globalThis as { sessionStorage?: unknown }).sessionStorage;
  }
}

test("the tab keeps polls per meeting and room, and forgets them with the meeting's resume token", () => {
  withSessionStorage((items) => {
    const main = new Polls(() => "host", tabPollKeeper(() => "mtg-1.0"));
    main.create(spec(1));
    const room = new Polls(() => "host", tabPollKeeper(() => "mtg-1.2"));
    room.create(spec(2));
    const other = new Polls(() => "host", tabPollKeeper(() => "mtg-2.0"));
    other.create(spec(3));
    saveResume("mtg-1", { token: "tok", at: 1, audio: false, video: false });
    assert.deepEqual([...items.keys()].sort(), ["kaigi.polls.mtg-1.0", "kaigi.polls.mtg-1.2", "kaigi.polls.mtg-2.0", "kaigi.resume.mtg-1"]);
    // A reload in the main room gets the main room's poll only.
    assert.deepEqual(new Polls(() => "host", tabPollKeeper(() => "mtg-1.0")).list().map((p) => p.id), [spec(1).id]);

    // Leaving (or a refusal, a final close) forgets the token, and this meeting's polls with it.
    forgetResume("mtg-1");
    assert.deepEqual([...items.keys()], ["kaigi.polls.mtg-2.0"]);
  });
});
