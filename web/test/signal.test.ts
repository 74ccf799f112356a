import assert from "node:assert/strict";
import { test } from "node:test";
import type { Welcome } from "../src/meeting/protocol.js";
import { SignalClient, signalUrl, type SocketLike } from "../src/meeting/signal.js";
import { FakeClock } from "./fake-clock.js";


class FakeSocket implements SocketLike {
  readyState = 0;
  sent: Record<string, unknown>[] = [];
  closedWith: number | undefined;
  onopen: ((ev: Event) => void) | null = null;
  onmessage: ((ev: MessageEvent) => void) | null = null;
  onclose: ((ev: CloseEvent) => void) | null = null;
  onerror: ((ev: Event) => void) | null = null;
  send(data: string): void {
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }
  close(code?: number): void {
    this.closedWith = code;
    this.readyState = 3;
  }
  // server side
  open(): void {
    this.readyState = 1;
    this.onopen?.({} as Event);
  }
  receive(msg: unknown): void {
    this.onmessage?.({ data: JSON.stringify(msg) } as MessageEvent);
  }
  drop(): void {
    this.readyState = 3;
    this.onclose?.({ code: 1006 } as CloseEvent);
  }
  types(): unknown[] {
    return this.sent.map((m) => m.type);
  }
}

const participant = { id: "p000000001", name: "Ada", role: "host", joinedAt: "2025-01-01T00:00:00Z", audio: true, video: true, screen: false, connection: "connected" };

function welcome(resume: string, resumed = false) {
  return { type: "welcome", v: 1, server: "test", meeting: { id: "7k3m-q9xd-2hfa-b8rn" }, self: participant, participants: [participant], resume, resumed, iceServers: [] };
}

function setup() {
  const clock = new FakeClock();
  const sockets: FakeSocket[] = [];
  const events: string[] = [];
  const welcomes: Welcome[] = [];
  const fatals: [string, string][] = [];
  const lost: { retryInMs: number; joined: boolean; message?: string }[] = [];
  const waits: string[] = [];
  const client = new SignalClient({
    url: "ws://test/ws",
    hello: () => ({ meeting: "7k3m-q9xd-2hfa-b8rn", name: "Ada", audio: true, video: false }),
    connect: () => {
      const s = new FakeSocket();
      sockets.push(s);
      return s;
    },
    clock,
    events: {
      welcome: (w) => {
        events.push("welcome");
        welcomes.push(w);
      },
      waiting: (reason) => {
        events.push("waiting");
        waits.push(reason);
      },
      message: (m) => events.push(m.type),
      lost: (info) => {
        events.push("lost");
        lost.push(info);
      },
      fatal: (code, message) => {
        events.push("fatal");
        fatals.push([code, message]);
      },
    },
  });
  return { clock, sockets, events, welcomes, fatals, lost, waits, client };
}

test("hello carries the version, client, meeting, name and media state", () => {
  const { sockets, client } = setup();
  client.start();
  sockets[0]!.open();
  assert.deepEqual(sockets[0]!.sent[0], {
    type: "hello",
    v: 1,
    client: "kaigi-web/0.1.0",
    meeting: "7k3m-q9xd-2hfa-b8rn",
    name: "Ada",
    audio: true,
    video: false,
  });
});

test("messages are only sent once joined, each with a fresh id", () => {
  const { sockets, client } = setup();
  client.start();
  assert.equal(client.send({ type: "media", audio: true, video: true, screen: false }), null);
  sockets[0]!.open();
  assert.equal(client.send({ type: "media", audio: true, video: true, screen: false }), null, "not before welcome");
  sockets[0]!.receive(welcome("tok1"));
  const id1 = client.send({ type: "media", audio: false, video: true, screen: false });
  const id2 = client.send({ type: "media", audio: true, video: true, screen: false });
  assert.equal(typeof id1, "number");
  assert.notEqual(id1, id2);
  assert.deepEqual(sockets[0]!.sent[1], { type: "media", audio: false, video: true, screen: false, id: id1 });
});

test("after a loss it reconnects with backoff and the resume token", () => {
  const { clock, sockets, client, lost, events } = setup();
  client.start();
  sockets[0]!.open();
  sockets[0]!.receive(welcome("tok1"));
  sockets[0]!.drop();
  assert.deepEqual(lost, [{ retryInMs: 1000, joined: true }]);
  clock.advance(999);
  assert.equal(sockets.length, 1, "waits a full second");
  clock.advance(1);
  assert.equal(sockets.length, 2);
  // The second attempt fails too: the next wait is 2 s.
  sockets[1]!.drop();
  assert.equal(lost[1]!.retryInMs, 2000);
  clock.advance(2000);
  sockets[2]!.open();
  assert.equal(sockets[2]!.sent[0]!.resume, "tok1");
  sockets[2]!.receive(welcome("tok2", true));
  assert.deepEqual(events, ["welcome", "lost", "lost", "welcome"]);
  // A later loss starts again from 1 s and uses the newest token.
  sockets[2]!.drop();
  assert.equal(lost[2]!.retryInMs, 1000);
  clock.advance(1000);
  sockets[3]!.open();
  assert.equal(sockets[3]!.sent[0]!.resume, "tok2");
});

test("gives up after two minutes with connection_lost", () => {
  const { clock, sockets, client, fatals } = setup();
  client.start();
  sockets[0]!.open();
  sockets[0]!.receive(welcome("tok1"));
  sockets[0]!.drop();
  for (let i = 0; i < 100 && fatals.length === 0; i++) {
    clock.advance(10_000);
    sockets[sockets.length - 1]!.drop();
  }
  assert.equal(fatals.length, 1);
  assert.equal(fatals[0]![0], "connection_lost");
  assert.ok(clock.t >= 120_000 && clock.t <= 130_000, `gave up at ${clock.t}`);
  const n = sockets.length;
  clock.advance(60_000);
  assert.equal(sockets.length, n, "no attempts after giving up");
});

test("refused is fatal and is not retried", () => {
  const { clock, sockets, client, fatals } = setup();
  client.start();
  sockets[0]!.open();
  sockets[0]!.receive({ type: "refused", code: "meeting_full", message: "This meeting is full." });
  assert.deepEqual(fatals, [["meeting_full", "This meeting is full."]]);
  sockets[0]!.drop();
  clock.advance(60_000);
  assert.equal(sockets.length, 1);
});

test("refused server_draining (a restart under way) is retried with backoff, the resume token kept", () => {
  const { clock, sockets, client, fatals } = setup();
  client.start();
  sockets[0]!.open();
  sockets[0]!.receive(welcome("tok1"));
  sockets[0]!.drop();
  clock.advance(1000);
  sockets[1]!.open();
  sockets[1]!.receive({ type: "refused", code: "server_draining", message: "This server is about to restart." });
  sockets[1]!.drop();
  assert.deepEqual(fatals, []);
  clock.advance(2000);
  assert.equal(sockets.length, 3, "tried again");
  sockets[2]!.open();
  assert.equal(sockets[2]!.sent[0]!.resume, "tok1");
});

test("closed: replaced is fatal, shutdown reconnects with the server's words", () => {
  {
    const { sockets, client, fatals, clock } = setup();
    client.start();
    sockets[0]!.open();
    sockets[0]!.receive(welcome("t"));
    sockets[0]!.receive({ type: "closed", reason: "replaced", message: "You joined elsewhere." });
    sockets[0]!.drop();
    clock.advance(30_000);
    assert.deepEqual(fatals, [["replaced", "You joined elsewhere."]]);
    assert.equal(sockets.length, 1);
  }
  {
    // Closed for flooding: the protocol says not to come back (and a
    // client that did would only be slowed down as a guesser).
    const { sockets, client, fatals, clock } = setup();
    client.start();
    sockets[0]!.open();
    sockets[0]!.receive(welcome("t"));
    sockets[0]!.receive({ type: "closed", reason: "flooding", message: "Too many messages." });
    sockets[0]!.drop();
    clock.advance(30_000);
    assert.deepEqual(fatals, [["flooding", "Too many messages."]]);
    assert.equal(sockets.length, 1);
  }
  {
    const { sockets, client, lost } = setup();
    client.start();
    sockets[0]!.open();
    sockets[0]!.receive(welcome("t"));
    sockets[0]!.receive({ type: "closed", reason: "shutdown", message: "The server is restarting." });
    sockets[0]!.drop();
    assert.deepEqual(lost, [{ retryInMs: 1000, joined: true, message: "The server is restarting." }]);
  }
});

test("pings every 10 s and treats 10 s of silence after a ping as a loss", () => {
  const { clock, sockets, client, lost } = setup();
  client.start();
  sockets[0]!.open();
  sockets[0]!.receive(welcome("t"));
  clock.advance(10_000);
  assert.deepEqual(sockets[0]!.types(), ["hello", "ping"]);
  sockets[0]!.receive({ type: "pong" });
  clock.advance(10_000);
  assert.deepEqual(sockets[0]!.types(), ["hello", "ping", "ping"]);
  assert.equal(lost.length, 0);
  // No answer to the second ping.
  clock.advance(10_000);
  assert.equal(lost.length, 1);
  assert.equal(sockets[0]!.closedWith, 4000);
});

test("any server message counts as a sign of life", () => {
  const { clock, sockets, client, lost } = setup();
  client.start();
  sockets[0]!.open();
  sockets[0]!.receive(welcome("t"));
  clock.advance(10_000);
  sockets[0]!.receive({ type: "participant_left", id: "x", reason: "left" });
  clock.advance(10_000);
  assert.equal(lost.length, 0);
});

test("a socket that never brings a welcome is given up after the join timeout", () => {
  const { clock, sockets, client, lost } = setup();
  client.start();
  sockets[0]!.open();
  clock.advance(10_000);
  assert.deepEqual(lost, [{ retryInMs: 1000, joined: false }]);
});

test("leave sends leave and never reconnects", () => {
  const { clock, sockets, client, lost } = setup();
  client.start();
  sockets[0]!.open();
  sockets[0]!.receive(welcome("t"));
  client.leave();
  assert.deepEqual(sockets[0]!.types(), ["hello", "leave"]);
  sockets[0]!.drop();
  clock.advance(60_000);
  assert.equal(lost.length, 0);
  assert.equal(sockets.length, 1);
  assert.equal(sockets[0]!.closedWith, 1000, "closed by us if the server does not");
});

test("server messages after welcome are passed on, invalid ones dropped", () => {
  const { sockets, client, events } = setup();
  client.start();
  sockets[0]!.open();
  sockets[0]!.receive({ type: "participant_joined", participant }); // before welcome: dropped
  sockets[0]!.receive(welcome("t"));
  sockets[0]!.receive({ type: "participant_joined", participant });
  sockets[0]!.receive({ type: "participant_joined", participant: { id: 1 } });
  sockets[0]!.receive({ type: "pong" });
  sockets[0]!.receive({ type: "error", code: "bad_sdp", message: "m", ref: 3 });
  assert.deepEqual(events, ["welcome", "participant_joined", "error"]);
});

test("reconnect() drops the socket and resumes like after a loss", () => {
  const { clock, sockets, client, lost } = setup();
  client.start();
  sockets[0]!.open();
  sockets[0]!.receive(welcome("tok1"));
  client.reconnect();
  assert.equal(sockets[0]!.closedWith, 4000);
  assert.deepEqual(lost, [{ retryInMs: 1000, joined: true }]);
  clock.advance(1000);
  sockets[1]!.open();
  assert.equal(sockets[1]!.sent[0]!.resume, "tok1");
});

test("the socket URL follows the page's scheme and host", () => {
  assert.equal(signalUrl({ protocol: "https:", host: "kaigi.example" }), "wss://kaigi.example/ws");
  assert.equal(signalUrl({ protocol: "http:", host: "127.0.0.1:8080" }), "ws://127.0.0.1:8080/ws");
});

test("waiting: no join timeout, pings continue, and welcome follows when let in", () => {
  const { clock, sockets, client, events, waits, lost } = setup();
  client.start();
  sockets[0]!.open();
  sockets[0]!.receive({ type: "waiting", reason: "host_absent" });
  assert.equal(client.connected, false, "not joined while waiting");
  assert.equal(client.send({ type: "media", audio: true, video: true, screen: false }), null, "nothing but ping and leave while waiting");
  clock.advance(10_000);
  assert.deepEqual(sockets[0]!.types(), ["hello", "ping"], "keeps the socket alive instead of timing out");
  sockets[0]!.receive({ type: "pong" });
  sockets[0]!.receive({ type: "waiting", reason: "waiting_room" });
  for (let i = 0; i < 3; i++) {
    clock.advance(10_000);
    sockets[0]!.receive({ type: "pong" });
  }
  sockets[0]!.receive(welcome("tok"));
  assert.deepEqual(waits, ["host_absent", "waiting_room"]);
  assert.deepEqual(events, ["waiting", "waiting", "welcome"]);
  assert.equal(lost.length, 0);
  assert.equal(client.connected, true);
});

test("leave from the waiting room tells the server", () => {
  const { sockets, client } = setup();
  client.start();
  sockets[0]!.open();
  sockets[0]!.receive({ type: "waiting", reason: "waiting_room" });
  client.leave();
  assert.deepEqual(sockets[0]!.types(), ["hello", "leave"]);
});

test("denied after waiting is final", () => {
  const { clock, sockets, client, fatals } = setup();
  client.start();
  sockets[0]!.open();
  sockets[0]!.receive({ type: "waiting", reason: "waiting_room" });
  sockets[0]!.receive({ type: "refused", code: "denied", message: "The host did not let you into this meeting." });
  sockets[0]!.drop();
  clock.advance(60_000);
  assert.deepEqual(fatals, [["denied", "The host did not let you into this meeting."]]);
  assert.equal(sockets.length, 1);
});

test("closed: removed and ended are final, with the server's words", () => {
  for (const reason of ["removed", "ended"]) {
    const { clock, sockets, client, fatals, lost } = setup();
    client.start();
    sockets[0]!.open();
    sockets[0]!.receive(welcome("t"));
    sockets[0]!.receive({ type: "closed", reason, message: `words for ${reason}` });
    sockets[0]!.drop();
    clock.advance(60_000);
    assert.deepEqual(fatals, [[reason, `words for ${reason}`]]);
    assert.equal(lost.length, 0);
    assert.equal(sockets.length, 1, "no reconnect");
  }
});

test("hello carries the passcode and device the session gives it", () => {
  const sockets: FakeSocket[] = [];
  const client = new SignalClient({
    url: "ws://test/ws",
    hello: () => ({ meeting: "m", name: "Ada", passcode: "123456789", device: "d".repeat(32) }),
    connect: () => {
      const s = new FakeSocket();
      sockets.push(s);
      return s;
    },
    clock: new FakeClock(),
    events: { welcome: () => {}, waiting: () => {}, message: () => {}, lost: () => {}, fatal: () => {} },
  });
  client.start();
  sockets[0]!.open();
  assert.equal(sockets[0]!.sent[0]!.passcode, "123456789");
  assert.equal(sockets[0]!.sent[0]!.device, "d".repeat(32));
});
