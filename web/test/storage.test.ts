import assert from "node:assert/strict";
import { test } from "node:test";
import { deviceId, newDeviceId } from "../src/storage.js";

test("device IDs are 32 hex characters from the random source", () => {
  assert.equal(newDeviceId((b) => b.fill(0xab)), "ab".repeat(16));
  const a = newDeviceId();
  assert.match(a, /^[0-9a-f]{32}$/);
  assert.notEqual(a, newDeviceId());
});

test("deviceId works without storage (a fresh one each time) and fits hello's limit", () => {
  const id = deviceId();
  assert.match(id, /^[0-9a-f]{32}$/);
  assert.ok(id.length <= 64);
});
