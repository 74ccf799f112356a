import assert from "node:assert/strict";
import { test } from "node:test";
import type { RecordingState } from "../src/meeting/protocol.js";
import { showsServerRecording } from "../src/recording/server-recording.js";

// Attacker's review (session 21): a hostile server in an end-to-end
// encrypted meeting says the server records; the indicator must not then
// say the meeting is not end-to-end encrypted and that the server can
// play the recording.
test("the indicator speaks of a server recording only in a meeting without end-to-end encryption", () => {
  const state: RecordingState = { type: "recording", on: true, recording: "rec_x", by: "p1", name: "Ada", since: "", server: true };
  assert.equal(showsServerRecording(state, "server", false), true);
  assert.equal(showsServerRecording(state, "server", true), false);
  assert.equal(showsServerRecording({ ...state, server: false }, "server", false), false);
  assert.equal(showsServerRecording({ ...state, on: false }, "server", false), false);
  assert.equal(showsServerRecording(state, "both", false), false);
  assert.equal(showsServerRecording(null, "server", false), false);
});
