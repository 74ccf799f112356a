// The server's `ice_restart` (src/meeting/negotiation-route.ts): the call
// restarts ICE at once, no more often than its own restarts, and nothing
// shows as a media problem; a hostile server's stream of them costs one
// restart per interval.

import assert from "node:assert/strict";
import { test } from "node:test";
import { ICE_RESTART_MIN_INTERVAL_MS, IceRestarts } from "../src/meeting/negotiation-route.js";
import { participant, setup, welcome } from "./session-harness.js";

const ada = participant("p-ada", { name: "Ada" });

test("ice_restart: the call restarts ICE at once, once per interval however often the server asks", () => {
  const h = setup();
  h.join(welcome(ada));
  const restarts = () => h.call.log.filter((e) => e === "restartIce").length;
  assert.equal(restarts(), 0);
  h.server.receive({ type: "ice_restart" });
  assert.equal(restarts(), 1);
  for (let i = 0; i < 20; i++) h.server.receive({ type: "ice_restart" });
  assert.equal(restarts(), 1, "asks within the interval change nothing");
  assert.equal(h.session.mediaHealth.problem, null, "a restart the server asked for is not shown as a failure");
});

test("ice_restart before welcome: no call, nothing happens", () => {
  const h = setup();
  h.session.start();
  h.server.open();
  h.server.receive({ type: "ice_restart" });
  assert.equal(h.calls.length, 0);
});

test("IceRestarts: one per interval", () => {
  let now = 1000;
  const r = new IceRestarts(() => now);
  assert.equal(r.take(), true);
  now += ICE_RESTART_MIN_INTERVAL_MS - 1;
  assert.equal(r.take(), false);
  now += 1;
  assert.equal(r.take(), true);
  assert.equal(r.take(), false);
});
