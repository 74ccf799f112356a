import assert from "node:assert/strict";
import { test } from "node:test";

import { deliveryText, parseDelivery, parseToken, parseWebhook, tokenExpired } from "../src/api/tokens.js";

const token = { id: "t1", kind: "personal", name: "CI", scopes: ["meetings:read"], createdAt: "2026-12-06T10:00:00Z" };

test("a token is read with its optional fields, and never carries a secret", () => {
  const t = parseToken({ ...token, expiresAt: "2026-12-07T10:00:00Z", lastUsed: "2026-12-06T11:00:00Z" });
  assert.deepEqual(t, { ...token, expiresAt: "2026-12-07T10:00:00Z", lastUsed: "2026-12-06T11:00:00Z" });
  const org = parseToken({ ...token, kind: "org", scopes: ["admin"], createdBy: { id: "u1", name: "Ada" } });
  assert.deepEqual(org.createdBy, { id: "u1", name: "Ada" });
  assert.equal("secret" in parseToken({ ...token, secret: "kaigi_pat_x" }), false);
});

test("malformed tokens, webhooks and deliveries are refused", () => {
  for (const bad of [{ ...token, kind: "team" }, { ...token, scopes: "meetings:read" }, { ...token, scopes: [1] }, { ...token, id: 5 }, null]) {
    assert.throws(() => parseToken(bad), JSON.stringify(bad));
  }
  const hook = { id: "w1", url: "https://hooks.example.org/k", events: ["meeting.started"], enabled: true, createdAt: "2026-12-06T10:00:00Z", createdBy: "u1" };
  assert.deepEqual(parseWebhook(hook), hook);
  assert.throws(() => parseWebhook({ ...hook, enabled: "yes" }));
  const d = { id: "d1", event: "meeting.started", status: "delivered", attempts: 1, lastCode: 204, createdAt: "2026-12-06T10:00:00Z", updatedAt: "2026-12-06T10:00:01Z" };
  assert.equal(parseDelivery(d).lastCode, 204);
  assert.throws(() => parseDelivery({ ...d, status: "lost" }));
  assert.throws(() => parseDelivery({ ...d, attempts: "1" }));
});

test("a token has expired from its expiry on", () => {
  const t = parseToken({ ...token, expiresAt: "2026-12-07T10:00:00Z" });
  assert.equal(tokenExpired(t, new Date("2026-12-07T09:59:59Z")), false);
  assert.equal(tokenExpired(t, new Date("2026-12-07T10:00:00Z")), true);
  assert.equal(tokenExpired(parseToken(token), new Date("2100-01-01T00:00:00Z")), false);
});

test("deliveries read as sentences", () => {
  const base = { id: "d1", event: "meeting.ended", createdAt: "2026-12-06T10:00:00Z", updatedAt: "2026-12-06T10:00:01Z" };
  assert.equal(deliveryText(parseDelivery({ ...base, status: "delivered", attempts: 3, lastCode: 200 })), "Delivered after 3 attempts (answered 200)");
  assert.equal(deliveryText(parseDelivery({ ...base, status: "pending", attempts: 0 })), "Waiting to be sent");
  assert.equal(deliveryText(parseDelivery({ ...base, status: "pending", attempts: 1, lastCode: 503, lastError: "the receiver answered 503" })), "Failed 1 attempt so far: the receiver answered 503; trying again");
  assert.equal(deliveryText(parseDelivery({ ...base, status: "failed", attempts: 6, lastError: "refused: the address is not public" })), "Given up after 6 attempts: refused: the address is not public");
});
