import assert from "node:assert/strict";
import { test } from "node:test";
import { parseServerMessage } from "../src/meeting/protocol.js";
import { galleryCells } from "../src/recording/recorder.js";

test("a recording message is parsed, its name cleaned of control and invisible characters", () => {
  const r = parseServerMessage(JSON.stringify({ type: "recording", on: true, recording: "rec_x", by: "p1", name: "Ada\u202e\u0007 L", since: "2026-12-06T19:30:00Z" }));
  assert.ok(r.ok);
  assert.deepEqual(r.message, { type: "recording", on: true, recording: "rec_x", by: "p1", name: "Ada L", since: "2026-12-06T19:30:00Z" });
  const off = parseServerMessage(JSON.stringify({ type: "recording", on: false, recording: "", by: "", name: "", since: "" }));
  assert.ok(off.ok && off.message.type === "recording" && !off.message.on);
  assert.equal(parseServerMessage(JSON.stringify({ type: "recording", on: true })).ok, false);
});

test("the gallery puts n videos in a grid that fills the canvas", () => {
  assert.deepEqual(galleryCells(0), []);
  assert.deepEqual(galleryCells(1), [{ x: 0, y: 0, w: 1280, h: 720 }]);
  const three = galleryCells(3);
  assert.equal(three.length, 3);
  assert.deepEqual(three.map((c) => [c.x, c.y]), [[0, 0], [640, 0], [0, 360]]);
  for (const n of [2, 5, 9, 10]) {
    const cells = galleryCells(n);
    for (const c of cells) assert.ok(c.x + c.w <= 1280 && c.y + c.h <= 720, `cell ${JSON.stringify(c)} of ${n} off the canvas`);
  }
});
