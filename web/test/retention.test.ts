import assert from "node:assert/strict";
import { test } from "node:test";

import { MAX_RETENTION_DAYS, readDays } from "../src/ui/retention-form.js";

test("a retention limit is read as whole days, or forever", () => {
  assert.equal(readDays("365", false), 365);
  assert.equal(readDays(" 30 ", false), 30);
  assert.equal(readDays("", true), 0);
  assert.equal(readDays("not read", true), 0);
  assert.equal(readDays(String(MAX_RETENTION_DAYS), false), MAX_RETENTION_DAYS);
  for (const bad of ["", "0", "-1", "1.5", "1e3", "abc", String(MAX_RETENTION_DAYS + 1)]) {
    assert.equal(typeof readDays(bad, false), "string", bad);
  }
  assert.equal(typeof readDays("364", false, 365), "string");
  assert.equal(readDays("365", false, 365), 365);
});
