// A call whose ICE failed outright (the "failed" state) is not restarted in
// place: Firefox ESR restarted from "failed" receives but sends nothing
// (e2e TestFirefoxRecoversAfterICEFailed), so the session reconnects for a
// new peer connection instead. ICE that is only slow to connect (the
// timeout, "disconnected", "checking") restarts in place as before, which is
// Chromium's path: its ICE does not say "failed" for a cut path.

import assert from "node:assert/strict";
import { test } from "node:test";
import { ICE_RESTART_MIN_INTERVAL_MS } from "../src/meeting/negotiation-route.js";
import { participant, setup, welcome } from "./session-harness.js";

const ada = participant("p-ada", { name: "Ada" });
const stun = { urls: "stun:203.0.113.5:3478" };
const turn = { urls: ["turn:203.0.113.5:3478?transport=udp"], username: "1765000000:p-ada", credential: "secret" };

const restarts = (log: string[]) => log.filter((e) => e === "restartIce").length;

/** Lets time pass in a meeting whose signalling stays up: the server answers every ping. */
function inMeetingFor(h: ReturnType<typeof setup>, ms: number): void {
  for (let left = ms; left > 0; left -= 1000) {
    h.clock.advance(Math.min(1000, left));
    h.server.receive({ type: "pong" });
  }
}

test("a connected call whose ICE fails outright reconnects, keeping the participant; no restart in place", () => {
  const h = setup();
  h.join(welcome(ada, [], { iceServers: [stun] }));
  const old = h.server;
  const call = h.call;
  call.ice("connected");
  call.ice("failed"); // the call tells the session at once
  assert.equal(restarts(call.log), 0, "no ICE restart from the failed state");
  assert.equal(old.closedWith, 4000, "a reconnect, for a new peer connection");
  assert.match(h.session.mediaHealth.problem!.text, /was lost/, "shown until media connects again");
  h.clock.advance(1000); // the first reconnect's backoff
  h.server.open();
  h.server.receive(welcome(ada, [], { iceServers: [stun], resumed: true }));
  assert.equal(h.calls.length, 2, "a fresh call");
  assert.equal(call.isClosed, true, "the failed one is closed");
  h.call.ice("connected");
  assert.equal(h.session.mediaHealth.problem, null);
});

test("with relays held back, a connected call's outright failure reconnects too; the new call tries directly first again", () => {
  const h = setup();
  h.join(welcome(ada, [], { iceServers: [stun, turn] }));
  const old = h.server;
  const call = h.call;
  call.ice("connected");
  call.ice("failed");
  assert.equal(restarts(call.log), 0);
  assert.equal(call.configurations.length, 0, "no relays added to the failed call");
  assert.equal(old.closedWith, 4000);
  assert.equal(h.relays.kept, false, "a direct path that worked and failed once does not make the tab need relays");
  h.clock.advance(1000);
  h.server.open();
  h.server.receive(welcome(ada, [], { iceServers: [stun, turn], resumed: true }));
  assert.equal(h.call.holdsRelays, true, "direct first, as any new call");
});

test("ICE that is only slow to connect restarts in place, as before (Chromium's path)", () => {
  const h = setup();
  h.join(welcome(ada, [], { iceServers: [stun] }));
  const call = h.call;
  call.ice("connected");
  call.ice("disconnected");
  call.options.iceFailed(); // the usual timeout passed
  assert.equal(restarts(call.log), 1);
  assert.equal(h.server.closedWith, undefined, "no reconnect");
  assert.equal(h.sockets.length, 1);
});

test("the server's ice_restart for a call whose ICE failed outright reconnects instead of restarting it", () => {
  const h = setup();
  h.join(welcome(ada, [], { iceServers: [stun] }));
  const call = h.call;
  call.ice("connected");
  // Disconnected and restarted once within the interval: the browser's own
  // "failed" then waits, and the server's ask is the next event.
  call.ice("disconnected");
  call.options.iceFailed();
  assert.equal(restarts(call.log), 1);
  call.ice("failed");
  assert.equal(h.server.closedWith, undefined, "within the restart interval: nothing yet");
  inMeetingFor(h, ICE_RESTART_MIN_INTERVAL_MS);
  assert.equal(h.sockets.length, 1, "signalling stayed up");
  h.server.receive({ type: "ice_restart" });
  assert.equal(restarts(call.log), 1, "no restart from the failed state");
  assert.equal(h.server.closedWith, 4000);
});

test("a hostile server's ice_restart stream cannot make a failed call reconnect more than once per interval", () => {
  const h = setup();
  h.join(welcome(ada, [], { iceServers: [stun] }));
  h.call.ice("connected");
  h.call.ice("failed");
  assert.equal(h.sockets.length, 1);
  const first = h.server;
  assert.equal(first.closedWith, 4000);
  for (let i = 0; i < 20; i++) first.receive({ type: "ice_restart" });
  h.clock.advance(1000);
  h.server.open();
  h.server.receive(welcome(ada, [], { iceServers: [stun], resumed: true }));
  h.call.ice("failed");
  for (let i = 0; i < 20; i++) h.server.receive({ type: "ice_restart" });
  assert.equal(h.server.closedWith, undefined, "the second failure came within the interval: it waits");
  assert.equal(h.sockets.length, 2);
});
