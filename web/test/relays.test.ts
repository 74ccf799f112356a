// TURN relays only when a direct path fails (src/meeting/relays.ts): a call
// starts without the welcome's TURN URLs; the first failure (or the short
// first timeout) adds them once and restarts ICE; the tab remembers it for
// every later call; a fallback long after the welcome reconnects for fresh
// credentials instead of using stale ones.

import assert from "node:assert/strict";
import { test } from "node:test";
import { RELAY_CREDENTIALS_MAX_AGE_MS, RelayPolicy, hasRelays, withoutRelays } from "../src/meeting/relays.js";
import { MemoryRelays, participant, setup, welcome } from "./session-harness.js";

const ada = participant("p-ada", { name: "Ada" });
const stun = { urls: "stun:203.0.113.5:3478" };
const turn = { urls: ["turn:203.0.113.5:3478?transport=udp", "turn:203.0.113.5:3478?transport=tcp"], username: "1765000000:p-ada", credential: "secret" };
const turns = { urls: "turns:relay.example.org:443?transport=tcp", username: "u", credential: "c" };
const servers = [stun, turn, turns];

const restarts = (log: string[]) => log.filter((e) => e === "restartIce").length;

/** Lets time pass in a meeting whose signalling stays up: the server answers every ping. */
function inMeetingFor(h: ReturnType<typeof setup>, ms: number): void {
  for (let left = ms; left > 0; left -= 1000) {
    h.clock.advance(Math.min(1000, left));
    h.server.receive({ type: "pong" });
  }
}

test("withoutRelays: STUN stays, TURN and TURNS go with their credentials; a mixed entry keeps its STUN URL", () => {
  assert.deepEqual(withoutRelays(servers), [{ urls: ["stun:203.0.113.5:3478"] }]);
  assert.deepEqual(withoutRelays([{ urls: ["stun:a.example:3478", "TURN:a.example:3478"], username: "u", credential: "c" }]), [{ urls: ["stun:a.example:3478"] }]);
  assert.deepEqual(withoutRelays([turn, turns]), []);
  assert.equal(hasRelays(servers), true);
  assert.equal(hasRelays([stun]), false);
  assert.equal(hasRelays([]), false);
});

test("RelayPolicy: holds the relays back until needed, then never again; old credentials mean a reconnect", () => {
  let now = 1000;
  const memory = new MemoryRelays();
  const p = new RelayPolicy(memory, () => now);
  assert.deepEqual(p.welcomed([stun]), { start: [stun], held: null }, "nothing to hold back without TURN");
  const first = p.welcomed(servers);
  assert.deepEqual(first.start, [{ urls: ["stun:203.0.113.5:3478"] }]);
  assert.deepEqual(first.held, servers);
  now += RELAY_CREDENTIALS_MAX_AGE_MS;
  assert.equal(p.needed(), "add");
  assert.equal(memory.kept, true);
  assert.deepEqual(p.welcomed(servers), { start: servers, held: null }, "remembered: the next call starts with relays");
  now += RELAY_CREDENTIALS_MAX_AGE_MS + 1;
  assert.equal(p.needed(), "reconnect");
});

test("a call starts without TURN (STUN kept); the first failure adds the relays once and restarts ICE, showing nothing", () => {
  const h = setup();
  h.join(welcome(ada, [], { iceServers: servers }));
  const call = h.call;
  assert.deepEqual(call.options.iceServers, [{ urls: ["stun:203.0.113.5:3478"] }]);
  assert.deepEqual(call.options.relays, servers);
  assert.equal(call.holdsRelays, true);

  call.options.iceFailed(); // the direct attempt's timeout, or "failed"
  assert.equal(call.configurations.length, 1, "the relays went into the peer connection");
  assert.deepEqual(call.configurations[0]!.iceServers, servers);
  assert.equal(call.configurations[0]!.bundlePolicy, "max-bundle", "setConfiguration may not change the bundle policy");
  assert.equal(restarts(call.log), 1);
  assert.equal(call.holdsRelays, false);
  assert.equal(h.session.mediaHealth.problem, null, "the expected fallback is not a media problem");
  assert.equal(h.view.count("mediaHealth"), 0);
  assert.equal(h.relays.kept, true, "remembered for the tab");
  assert.equal(h.sockets.length, 1, "no reconnect");

  // The relay attempt fails too: the usual path, and the relay was tried now.
  call.options.iceFailed();
  assert.equal(call.configurations.length, 1, "added once only");
  assert.match(h.session.mediaHealth.problem!.advice, /directly and through its relay/);
});

test("once relays were needed, a reconnect's call and a reload's start with them at once", () => {
  const h = setup();
  h.join(welcome(ada, [], { iceServers: servers }));
  h.call.options.iceFailed();
  h.server.drop();
  h.clock.advance(1000); // the first reconnect's backoff
  h.server.open();
  h.server.receive(welcome(ada, [], { iceServers: servers, resumed: true }));
  assert.equal(h.calls.length, 2);
  assert.deepEqual(h.call.options.iceServers, servers);
  assert.equal(h.call.options.relays, undefined);
  assert.equal(h.call.holdsRelays, false);

  // The reloaded page: a new session in the same tab (sessionStorage).
  const reloaded = setup({ relays: h.relays });
  reloaded.join(welcome(ada, [], { iceServers: servers }));
  assert.deepEqual(reloaded.call.options.iceServers, servers);
  assert.equal(reloaded.call.holdsRelays, false);
  // Another tab (its own sessionStorage) starts without.
  const other = setup();
  other.join(welcome(ada, [], { iceServers: servers }));
  assert.equal(other.call.holdsRelays, true);
});

test("a call that connected directly and lost it restarts directly first; relays only if that fails too", () => {
  const h = setup();
  h.join(welcome(ada, [], { iceServers: servers }));
  const call = h.call;
  call.ice("connected");
  call.ice("disconnected");
  call.options.iceFailed(); // a network change: the usual timeout passed
  assert.equal(restarts(call.log), 1, "a direct ICE restart");
  assert.equal(call.configurations.length, 0, "no relays yet");
  assert.equal(h.relays.kept, false);
  assert.match(h.session.mediaHealth.problem!.text, /was lost/);
  assert.doesNotMatch(h.session.mediaHealth.problem!.advice, /relay/);
  call.options.iceFailed(); // the direct restart did not connect either
  assert.equal(call.configurations.length, 1, "now the relays");
  assert.equal(restarts(call.log), 2);
  assert.equal(h.relays.kept, true);
  assert.match(h.session.mediaHealth.problem!.advice, /directly and through its relay/);
  assert.equal(h.view.count("mediaHealth"), 2, "shown at the loss, and again when the advice changed");
});

test("a direct restart that connects again keeps the relays held back", () => {
  const h = setup();
  h.join(welcome(ada, [], { iceServers: servers }));
  const call = h.call;
  call.ice("connected");
  call.options.iceFailed();
  assert.equal(restarts(call.log), 1);
  call.ice("connected");
  call.options.iceFailed(); // another loss, later: again the usual path, not the relays
  assert.equal(call.configurations.length, 0);
  assert.equal(call.holdsRelays, true);
  assert.equal(h.relays.kept, false);
});

test("a fallback long after the welcome does not use its stale credentials: it reconnects, and the new call starts with relays", () => {
  const h = setup();
  h.join(welcome(ada, [], { iceServers: servers }));
  const old = h.server;
  const call = h.call;
  // Connected directly for a while, then the network changes to one that blocks the SFU's ports.
  call.ice("connected");
  inMeetingFor(h, RELAY_CREDENTIALS_MAX_AGE_MS + 1);
  assert.equal(h.sockets.length, 1);
  call.ice("disconnected");
  call.options.iceFailed();
  assert.equal(restarts(call.log), 1, "a direct restart first");
  call.options.iceFailed();
  assert.equal(call.configurations.length, 0, "the old credentials were not used");
  assert.equal(restarts(call.log), 1);
  assert.equal(old.closedWith, 4000, "the session reconnects");
  assert.equal(h.relays.kept, true);
  h.clock.advance(1000); // the first reconnect's backoff
  assert.equal(h.sockets.length, 2);
  h.server.open();
  h.server.receive(welcome(ada, [], { iceServers: [stun, { ...turn, username: "1765000600:p-ada" }], resumed: true }));
  assert.deepEqual(h.call.options.iceServers, [stun, { ...turn, username: "1765000600:p-ada" }], "fresh credentials, at once");
  assert.equal(h.call.holdsRelays, false);
});

test("any fallback more than five minutes after the welcome reconnects, whether or not the call ever connected", () => {
  const h = setup();
  h.join(welcome(ada, [], { iceServers: servers }));
  inMeetingFor(h, RELAY_CREDENTIALS_MAX_AGE_MS + 1);
  const old = h.server;
  h.call.options.iceFailed();
  assert.equal(h.call.configurations.length, 0);
  assert.equal(old.closedWith, 4000);
});

test("a browser that cannot change a peer connection's ICE servers reconnects instead", () => {
  const h = setup({ noSetConfiguration: true });
  h.join(welcome(ada, [], { iceServers: servers }));
  const old = h.server;
  h.call.options.iceFailed();
  assert.equal(restarts(h.call.log), 0);
  assert.equal(old.closedWith, 4000);
  h.clock.advance(1000); // the first reconnect's backoff
  h.server.open();
  h.server.receive(welcome(ada, [], { iceServers: servers, resumed: true }));
  assert.deepEqual(h.call.options.iceServers, servers);
});

test("ICE that failed outright (Firefox, with no usable candidate) falls back by reconnecting: the new call starts with relays", () => {
  const h = setup();
  h.join(welcome(ada, [], { iceServers: servers }));
  const old = h.server;
  const call = h.call;
  call.ice("failed"); // the call tells the session
  assert.equal(call.configurations.length, 0, "no ICE restart from the failed state");
  assert.equal(restarts(call.log), 0);
  assert.equal(old.closedWith, 4000, "a reconnect, for a new peer connection");
  assert.equal(h.relays.kept, true);
  assert.equal(h.session.mediaHealth.problem, null, "the expected fallback is not a media problem");
  h.clock.advance(1000); // the first reconnect's backoff
  h.server.open();
  h.server.receive(welcome(ada, [], { iceServers: servers, resumed: true }));
  assert.deepEqual(h.call.options.iceServers, servers);
  assert.equal(h.call.holdsRelays, false);
});

test("nothing held back and nothing added when the welcome has no TURN: a failure takes the usual path", () => {
  const h = setup();
  h.join(welcome(ada, [], { iceServers: [stun] }));
  assert.deepEqual(h.call.options.iceServers, [stun]);
  assert.equal(h.call.options.relays, undefined);
  h.call.options.iceFailed();
  assert.equal(h.call.configurations.length, 0);
  assert.equal(restarts(h.call.log), 1);
  assert.equal(h.relays.kept, false, "no relays, nothing to remember");
  assert.doesNotMatch(h.session.mediaHealth.problem!.advice, /relay/);
});

test("a hostile server cannot make the fallback loop: after it, failures are bounded by the restart interval and reconnects", () => {
  const h = setup();
  h.join(welcome(ada, [], { iceServers: servers }));
  const call = h.call;
  call.options.iceFailed();
  for (let i = 0; i < 20; i++) {
    call.options.iceFailed();
    h.server.receive({ type: "ice_restart" });
  }
  assert.equal(call.configurations.length, 1);
  assert.equal(restarts(call.log), 1, "the fallback's restart counts in the interval");
});
