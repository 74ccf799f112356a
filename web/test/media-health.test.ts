import assert from "node:assert/strict";
import { test } from "node:test";
import { MediaHealth } from "../src/meeting/media-health.js";

const turn = [{ urls: ["turn:203.0.113.5:3478?transport=udp", "turn:203.0.113.5:3478?transport=tcp"], username: "u", credential: "c" }];

test("nothing to show until media fails; shown from the first failure until it connects", () => {
  const h = new MediaHealth();
  h.using(turn);
  assert.equal(h.problem, null);
  assert.equal(h.failed(), true, "the first failure changes what shows");
  assert.match(h.problem!.text, /cannot connect/);
  assert.equal(h.failed(), false, "later failures (ICE restart, reconnect) keep it as it is");
  assert.equal(h.failuresInARow, 2);
  assert.notEqual(h.problem, null);
  assert.equal(h.connected(), true);
  assert.equal(h.problem, null);
  assert.equal(h.connected(), false, "connected again: nothing changes");
});

test("a connection that worked and then fails is said to be lost", () => {
  const h = new MediaHealth();
  h.connected();
  h.failed();
  assert.match(h.problem!.text, /was lost/);
});

test("the advice names the relay only when the server offered one", () => {
  const withRelay = new MediaHealth();
  withRelay.using(turn);
  withRelay.failed();
  assert.match(withRelay.problem!.advice, /its relay/);
  assert.match(withRelay.problem!.advice, /another network|VPN/);
  const direct = new MediaHealth();
  direct.using([{ urls: "stun:203.0.113.5:3478" }]);
  direct.failed();
  assert.doesNotMatch(direct.problem!.advice, /relay/);
  // A later call (a reconnect) may start with a relay.
  direct.using([{ urls: "turns:relay.example.org:443" }]);
  assert.match(direct.problem!.advice, /its relay/);
});

test("the advice names the relay only once the call added it: a held-back relay was not tried", () => {
  const h = new MediaHealth();
  h.using([{ urls: "stun:203.0.113.5:3478" }]); // the relays are held back
  h.failed();
  assert.doesNotMatch(h.problem!.advice, /relay/);
  h.relaysAdded();
  assert.match(h.problem!.advice, /directly and through its relay/);
});
