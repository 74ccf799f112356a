import assert from "node:assert/strict";
import { test } from "node:test";
import { errorName, mediaProblem } from "../src/lib/media-errors.js";

test("a refusal is media_denied", () => {
  assert.equal(mediaProblem("NotAllowedError", "camera").code, "media_denied");
  assert.equal(mediaProblem("SecurityError", "microphone").code, "media_denied");
  assert.equal(mediaProblem(null, "camera", true).code, "media_denied");
});

test("a missing or busy device is no_device", () => {
  assert.equal(mediaProblem("NotFoundError", "camera").code, "no_device");
  assert.equal(mediaProblem("OverconstrainedError", "camera").code, "no_device");
  assert.equal(mediaProblem("NotReadableError", "microphone").code, "no_device");
});

test("messages name the device and say joining still works", () => {
  const m = mediaProblem("NotFoundError", "microphone").message;
  assert.match(m, /microphone/);
  assert.match(m, /still join/);
});

test("errorName reads DOMException-like values", () => {
  assert.equal(errorName({ name: "NotAllowedError" }), "NotAllowedError");
  assert.equal(errorName(new TypeError("x")), "TypeError");
  assert.equal(errorName("oops"), null);
  assert.equal(errorName(null), null);
});
