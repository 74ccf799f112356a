import assert from "node:assert/strict";
import { test } from "node:test";
import { forgetResume, loadResume, saveResume, type KeptResume } from "../src/lib/storage.js";
import { TabResume, type ResumeStorage } from "../src/meeting/resume.js";
import { SignalClient, type ResumeKeeper, type SocketLike } from "../src/meeting/signal.js";

const ID = "7k3m-q9xd-2hfa-b8rn";

/** Runs fn with a Map as sessionStorage (node has none). */
function withSessionStorage(items: Map<string, string>, fn: () => void): void {
  const storage = {
    getItem: (k: string) => items.get(k) ?? null,
    setItem: (k: string, v: string) => void items.set(k, v),
    removeItem: (k: string) => void items.delete(k),
  };
  Object.defineProperty(globalThis, "sessionStorage", { value: storage, configurable: true });
  try {
    fn();
  } finally {
    delete (globalThis as { sessionStorage?: unknown }).sessionStorage;
  }
}

test("a kept resume token is read back per meeting while fresh, and forgotten once stale or unreadable", () => {
  const items = new Map<string, string>();
  withSessionStorage(items, () => {
    saveResume(ID, { token: "tok", at: 1000, audio: true, video: false });
    assert.deepEqual(loadResume(ID, 1000 + 60_000, 5 * 60_000), { token: "tok", at: 1000, audio: true, video: false });
    assert.equal(loadResume("aaaa-bbbb-cccc-dddd", 2000), null, "another meeting has none");
    assert.equal(loadResume(ID, 1000 + 5 * 60_000 + 1, 5 * 60_000), null, "too old");
    assert.equal(items.size, 0, "a stale token is removed");
    items.set(`kaigi.resume.${ID}`, '{"token": 5}');
    assert.equal(loadResume(ID, 1000), null);
    assert.equal(items.size, 0, "an unreadable one too");
    saveResume(ID, { token: "tok", at: 1000, audio: true, video: false });
    forgetResume(ID);
    assert.equal(loadResume(ID, 1000), null);
  });
});

test("without sessionStorage nothing is kept and nothing breaks", () => {
  saveResume(ID, { token: "tok", at: 1, audio: false, video: false });
  assert.equal(loadResume(ID, 1), null);
  forgetResume(ID);
});

class MemoryStorage implements ResumeStorage {
  kept = new Map<string, KeptResume>();
  load(id: string): KeptResume | null {
    return this.kept.get(id) ?? null;
  }
  save(id: string, k: KeptResume): void {
    this.kept.set(id, k);
  }
  forget(id: string): void {
    this.kept.delete(id);
  }
}

test("TabResume keeps the latest token, and what was sent and when the page went away", () => {
  const store = new MemoryStorage();
  let now = 100;
  const r = new TabResume(ID, store, () => now);
  assert.equal(r.initial, null);
  r.pageLeaving(true, true); // nothing kept: nothing to note
  assert.equal(store.kept.size, 0);
  r.save("tok1");
  assert.deepEqual(store.kept.get(ID), { token: "tok1", at: 100, audio: false, video: false });
  now = 5000;
  r.pageLeaving(true, false);
  assert.deepEqual(store.kept.get(ID), { token: "tok1", at: 5000, audio: true, video: false });
  const reloaded = new TabResume(ID, store, () => now);
  assert.equal(reloaded.initial, "tok1");
  assert.deepEqual(reloaded.media, { audio: true, video: false });
  reloaded.save("tok2");
  assert.deepEqual(store.kept.get(ID), { token: "tok2", at: 5000, audio: true, video: false }, "a new token keeps the media to restore");
  reloaded.forget();
  assert.equal(reloaded.initial, null);
  assert.equal(store.kept.size, 0);
});

// ---- the signalling client with a keeper ---------------------------------------------

class Socket implements SocketLike {
  readyState = 0;
  sent: Record<string, unknown>[] = [];
  onopen: ((ev: Event) => void) | null = null;
  onmessage: ((ev: MessageEvent) => void) | null = null;
  onclose: ((ev: CloseEvent) => void) | null = null;
  onerror: ((ev: Event) => void) | null = null;
  send(data: string): void {
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }
  close(): void {
    this.readyState = 3;
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.({} as Event);
  }
  receive(msg: unknown): void {
    this.onmessage?.({ data: JSON.stringify(msg) } as MessageEvent);
  }
}

class Keeper implements ResumeKeeper {
  log: string[] = [];
  constructor(public initial: string | null) {}
  save(token: string): void {
    this.log.push(`save ${token}`);
  }
  forget(): void {
    this.log.push("forget");
  }
}

const self = { id: "p000000001", name: "Ada", role: "participant", joinedAt: "2025-01-01T00:00:00Z", audio: true, video: true, screen: false, connection: "connected" };
const welcome = (resume: string, resumed: boolean) => ({ type: "welcome", v: 1, server: "t", meeting: { id: ID }, self, participants: [self], resume, resumed, iceServers: [] });

function client(keeper: Keeper) {
  const sockets: Socket[] = [];
  const fatals: string[] = [];
  const c = new SignalClient({
    url: "ws://test/ws",
    resume: keeper,
    hello: () => ({ meeting: ID, name: "Ada", audio: true, video: true }),
    connect: () => {
      const s = new Socket();
      sockets.push(s);
      return s;
    },
    clock: { now: () => 0, setTimeout: () => 0, clearTimeout: () => {} },
    events: { welcome: () => {}, waiting: () => {}, message: () => {}, lost: () => {}, fatal: (code) => void fatals.push(code) },
  });
  c.start();
  sockets[0]!.open();
  return { c, s: sockets[0]!, fatals };
}

test("a kept token goes in the first hello, and each welcome's token is kept", () => {
  const k = new Keeper("kept");
  const { s } = client(k);
  assert.equal(s.sent[0]!.resume, "kept");
  s.receive(welcome("tok2", true));
  assert.deepEqual(k.log, ["save tok2"]);
});

test("without a kept token the first hello has no resume", () => {
  const { s } = client(new Keeper(null));
  assert.equal("resume" in s.sent[0]!, false);
});

test("the kept token is forgotten when the server does not take it back: the waiting room", () => {
  const k = new Keeper("kept");
  const { s } = client(k);
  s.receive({ type: "waiting", reason: "waiting_room" });
  assert.deepEqual(k.log, ["forget"]);
});

for (const [what, msg] of [
  ["refused", { type: "refused", code: "banned", message: "No." }],
  ["removed", { type: "closed", reason: "removed", message: "Removed." }],
  ["ended", { type: "closed", reason: "ended", message: "Ended." }],
  ["replaced", { type: "closed", reason: "replaced", message: "Elsewhere." }],
] as const) {
  test(`the kept token is forgotten on a final ${what}`, () => {
    const k = new Keeper("kept");
    const { s, fatals } = client(k);
    s.receive(welcome("tok2", true));
    s.receive(msg);
    assert.deepEqual(k.log, ["save tok2", "forget"]);
    assert.equal(fatals.length, 1);
  });
}

test("leave forgets the kept token; closing without a word (a reload) keeps it", () => {
  const k1 = new Keeper(null);
  const a = client(k1);
  a.s.receive(welcome("tok1", false));
  a.c.leave();
  assert.deepEqual(k1.log, ["save tok1", "forget"]);
  const k2 = new Keeper(null);
  const b = client(k2);
  b.s.receive(welcome("tok1", false));
  b.c.close();
  assert.deepEqual(k2.log, ["save tok1"]);
});

test("a shutdown keeps the token for the resume that follows", () => {
  const k = new Keeper(null);
  const { s } = client(k);
  s.receive(welcome("tok1", false));
  s.receive({ type: "closed", reason: "shutdown", message: "Restarting." });
  assert.deepEqual(k.log, ["save tok1"]);
});
