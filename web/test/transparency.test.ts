import assert from "node:assert/strict";
import { test } from "node:test";

import { parseTransparency } from "../src/api/transparency.js";

const good = {
  organisation: "Acme",
  generatedAt: "2026-12-06T10:00:00Z",
  verified: true,
  head: "3:ab",
  entries: 3,
  categories: [{ action: "meeting.ended", description: "Meetings ended", total: 1 }],
  months: [{ month: "2026-12", counts: { "meeting.ended": 1 }, legal: { "user_data/refused": 2 } }],
};

test("the transparency report is read whole", () => {
  const t = parseTransparency(good);
  assert.equal(t.verified, true);
  assert.equal(t.categories[0]?.total, 1);
  assert.deepEqual(t.months[0]?.legal, { "user_data/refused": 2 });
  assert.equal(parseTransparency({ ...good, verified: false, head: undefined, broken: { seq: 7 } }).brokenAt, 7);
});

test("a malformed report is refused, not drawn half", () => {
  for (const bad of [
    { ...good, entries: "3" },
    { ...good, categories: [{ action: "x", description: "y" }] },
    { ...good, months: [{ month: "2026-12", counts: { x: -1 } }] },
    { ...good, months: [{ month: "2026-12", counts: { x: "1" } }] },
    { ...good, months: [{ month: "2026-12", counts: [] }] },
    { ...good, categories: undefined },
  ]) {
    assert.throws(() => parseTransparency(bad), JSON.stringify(bad));
  }
});
