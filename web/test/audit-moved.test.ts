import assert from "node:assert/strict";
import { test } from "node:test";

import { parseAuditEntry } from "../src/api/audit.js";
import { actionText } from "../src/lib/audit-text.js";

const base = { seq: 4, time: "2026-12-07T04:30:00Z", actorKind: "user", actorId: "u1", subjectKind: "meeting", subjectId: "abcd-efgh" };

test("an administrator's move of a live meeting reads with the server it went to", () => {
  const moved = parseAuditEntry({ ...base, action: "meeting.moved", reason: "Maintenance of eu1", details: { node: "eu3" } });
  assert.equal(actionText(moved, new Map(), true), "moved your meeting abcd-efgh to the server eu3 (everyone in it reconnected there)");
  assert.equal(actionText(moved), "moved the meeting abcd-efgh to the server eu3 (everyone in it reconnected there)");
});
