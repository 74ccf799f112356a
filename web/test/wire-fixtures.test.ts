// The web client against the Go side's canonical example of every
// signalling message (internal/wire/testdata, which the server's and the Go
// client's tests check their own types against): every server message is
// one the web client's parser accepts, carrying what the example carries;
// every client message has the fields the web client's types give it, and
// where the web client has a builder for one, the builder makes the example
// from the example's own values. A field renamed or dropped on either side
// fails here or in the Go tests.

import assert from "node:assert/strict";
import { test } from "node:test";
import { openMessage } from "../src/meeting/breakouts.js";
import { HostCommands } from "../src/meeting/host-commands.js";
import { parseServerMessage, type ClientMessage, type ServerMessage } from "../src/meeting/protocol.js";
import { parseSettings } from "../src/meeting/settings.js";
import { SignalClient } from "../src/meeting/signal.js";
import { FakeClock } from "./fake-clock.js";
import { FakeSocket, participant, settle, setup, welcome } from "./session-harness.js";
import { wireFixtures } from "./wire-fixtures.js";

const server = wireFixtures("server-to-client");
const client = wireFixtures("client-to-server");

/** A client fixture's value. */
function ex(type: string): Record<string, unknown> {
  const f = client.get(type);
  if (!f) throw new Error(`no client-to-server/${type}.json`);
  return f.value;
}

/** A message as sent, without the id the signalling client adds. */
function withoutId(m: Record<string, unknown>): Record<string, unknown> {
  const { id: _id, ...rest } = m;
  return rest;
}

/**
 * Whether what the parser made carries what the example says: the same
 * values, all the example's fields; a field the example leaves out may be
 * there only with the value the parser gives an absent one (false, null,
 * "", 0, []), as for `bannedNetwork` (omitted when false).
 */
function covers(parsed: unknown, example: unknown): boolean {
  if (Array.isArray(example)) {
    return Array.isArray(parsed) && parsed.length === example.length && example.every((x, i) => covers(parsed[i], x));
  }
  if (typeof example === "object" && example !== null) {
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return false;
    const p = parsed as Record<string, unknown>;
    const e = example as Record<string, unknown>;
    const absent = (v: unknown) => v === false || v === null || v === "" || v === 0 || (Array.isArray(v) && v.length === 0);
    return Object.keys(e).every((k) => covers(p[k], e[k])) && Object.keys(p).every((k) => k in e || absent(p[k]));
  }
  return parsed === example;
}

// Every server message type the web client's types name. A type missing
// here does not compile; one the Go side lacks fails the test below.
const SERVER_TYPES: { [K in ServerMessage["type"]]: true } = {
  welcome: true, refused: true, participant_joined: true, participant_updated: true, participant_left: true,
  offer: true, answer: true, candidate: true, renegotiate: true, pong: true, error: true, closed: true,
  waiting: true, waiting_room: true, settings: true, media_stopped: true, draining: true, breakout: true,
  breakout_return: true, breakouts: true, breakout_broadcast: true, admin_notice: true, e2ee_job: true,
  e2ee_commit: true, e2ee_commit_ok: true, e2ee_welcome: true, e2ee_message: true, recording: true,
  ice_restart: true,
};

type KeysOf<T> = T extends unknown ? keyof T : never;

// The fields of each client message, as the web client's types have them
// (the compiler holds each name to ClientMessage, and wants every type).
const CLIENT_FIELDS: { [K in ClientMessage["type"]]: readonly KeysOf<Extract<ClientMessage, { type: K }>>[] } = {
  hello: ["type", "v", "client", "meeting", "name", "passcode", "device", "resume", "keyPackage", "e2eeEpoch", "e2eeProof", "token", "breakout", "audio", "video"],
  offer: ["type", "sdp", "tracks"],
  answer: ["type", "sdp"],
  candidate: ["type", "candidate"],
  media: ["type", "audio", "video", "screen"],
  admit: ["type", "participant", "all"],
  deny: ["type", "participant", "all"],
  lock: ["type", "locked"],
  remove: ["type", "participant", "ban"],
  mute: ["type", "participant"],
  mute_all: ["type"],
  stop_video: ["type", "participant", "screen"],
  rename: ["type", "participant", "name"],
  set_role: ["type", "participant", "role"],
  settings: ["type", "settings"],
  end: ["type"],
  breakout_open: ["type", "rooms", "seconds"],
  breakout_move: ["type", "participant", "room"],
  breakout_close: ["type", "seconds"],
  breakout_broadcast: ["type", "payload", "text"],
  e2ee_commit: ["type", "epoch", "commit", "welcome", "reason", "remove", "skipped"],
  e2ee_message: ["type", "epoch", "kind", "data", "to"],
  record: ["type", "on", "recording"],
  video_size: ["type", "participant", "source", "width", "height"],
  ready: ["type"],
  ping: ["type"],
  leave: ["type"],
};

test("the web client knows exactly the message types the Go side has examples of", () => {
  assert.deepEqual(Object.keys(SERVER_TYPES).sort(), [...server.keys()].sort(), "server to client");
  assert.deepEqual(Object.keys(CLIENT_FIELDS).sort(), [...client.keys()].sort(), "client to server");
});

test("every server message's example is accepted by the web client's parser, with the fields it carries", () => {
  const problems: string[] = [];
  for (const [type, f] of server) {
    const r = parseServerMessage(f.text);
    if (!r.ok) {
      problems.push(`${type}: refused: ${r.reason}`);
      continue;
    }
    const parsed = r.message as unknown as Record<string, unknown>;
    if (parsed.type !== type) problems.push(`${type}: parsed as ${String(parsed.type)}`);
    for (const [k, v] of Object.entries(f.value)) {
      if (!covers(parsed[k], v)) problems.push(`${type}.${k}: parsed ${JSON.stringify(parsed[k])}, the example has ${JSON.stringify(v)}`);
    }
  }
  assert.deepEqual(problems, []);
});

test("every client message's example has only fields the web client's type has", () => {
  const problems: string[] = [];
  for (const [type, f] of client) {
    const known: readonly string[] = CLIENT_FIELDS[type as ClientMessage["type"]] ?? [];
    for (const k of Object.keys(f.value)) if (!known.includes(k)) problems.push(`${type}.${k}`);
  }
  assert.deepEqual(problems, []);
});

test("the host controls the web client builds are the examples", () => {
  const sent: ClientMessage[] = [];
  const host = new HostCommands((m) => sent.push(m));
  const str = (type: string, k: string) => ex(type)[k] as string;
  const built: [string, () => void][] = [
    ["admit", () => host.admit(str("admit", "participant"))],
    ["deny", () => (ex("deny").all === true ? host.denyAll() : host.deny(str("deny", "participant")))],
    ["lock", () => host.lock(ex("lock").locked as boolean)],
    ["remove", () => host.remove(str("remove", "participant"), ex("remove").ban as boolean)],
    ["mute", () => host.mute(str("mute", "participant"))],
    ["mute_all", () => host.muteAll()],
    ["stop_video", () => host.stopVideo(str("stop_video", "participant"), ex("stop_video").screen as boolean)],
    ["rename", () => host.rename(str("rename", "participant"), str("rename", "name"))],
    ["set_role", () => host.setCohost(str("set_role", "participant"), str("set_role", "role") === "cohost")],
    ["settings", () => host.updateSettings(parseSettings(ex("settings").settings)!)],
    ["end", () => host.endForAll()],
    ["breakout_open", () => host.openBreakouts(ex("breakout_open").rooms as { name: string; participants: string[] }[], ex("breakout_open").seconds as number)],
    ["breakout_move", () => host.moveToRoom(str("breakout_move", "participant"), ex("breakout_move").room as number)],
    ["breakout_close", () => host.closeBreakouts(ex("breakout_close").seconds as number)],
    ["record", () => host.record(ex("record").on as boolean, str("record", "recording"))],
  ];
  for (const [type, build] of built) {
    sent.length = 0;
    build();
    assert.deepEqual(sent, [ex(type)], type);
  }
  const open = ex("breakout_open");
  assert.deepEqual(openMessage(open.rooms as { name: string; participants: string[] }[], open.seconds as number), open);
});

test("hello, ping and leave as the signalling client sends them are the examples", () => {
  const clock = new FakeClock(0);
  let socket: FakeSocket | null = null;
  const h = ex("hello");
  const signal = new SignalClient({
    url: "wss://kaigi.test/ws",
    clock,
    connect: (url) => (socket = new FakeSocket(url)),
    hello: () => ({
      meeting: h.meeting as string,
      name: h.name as string,
      passcode: h.passcode as string,
      device: h.device as string,
      keyPackage: h.keyPackage as string,
      audio: h.audio as boolean,
      video: h.video as boolean,
    }),
    events: { welcome() {}, waiting() {}, message() {}, lost() {}, fatal() {} },
  });
  signal.start();
  const s = socket as FakeSocket | null;
  if (s === null) throw new Error("no socket");
  s.open();
  assert.deepEqual(s.sent, [h]);
  s.raw(server.get("welcome")!.text);
  assert.equal(signal.connected, true, "the welcome example admits");
  clock.advance(10_000);
  assert.deepEqual(s.sent.slice(1), [ex("ping")]);
  signal.leave();
  assert.deepEqual(s.sent.slice(2), [ex("leave")]);
});

test("media, video_size and breakout_broadcast as the meeting session sends them have the examples' fields", async () => {
  const h = setup({ mic: true });
  h.join(welcome(participant("p1"), [participant("p2")], { simulcast: true }));
  await settle();
  const media = h.server.ofType("media").at(-1);
  assert.ok(media, "the session tells the server its microphone is on");
  assert.deepEqual(Object.keys(withoutId(media)).sort(), Object.keys(ex("media")).sort());

  const v = ex("video_size");
  h.session.videoSize(v.participant as string, v.source as "camera" | "screen", v.width as number, v.height as number);
  assert.deepEqual(h.server.ofType("video_size").map(withoutId), [v]);

  const b = ex("breakout_broadcast");
  h.session.broadcastToRooms({ payload: b.payload as string });
  assert.deepEqual(h.server.ofType("breakout_broadcast").map(withoutId), [b]);
});
