// An administrator's notice (admin_notice): parsed and cleaned as one
// paragraph, refused without a message, and shown by the session.

import assert from "node:assert/strict";
import { test } from "node:test";
import { ADMIN_NOTICE_MAX, parseServerMessage } from "../src/meeting/protocol.js";
import { participant, setup, welcome } from "./session-harness.js";

test("admin_notice is parsed, its message and reason cleaned of control and invisible characters", () => {
  const r = parseServerMessage(
    JSON.stringify({ type: "admin_notice", action: "locked", reason: "Abuse\u202e report 7", message: "An administrator locked this meeting (nobody new can join):\nAbuse\u202e report 7" }),
  );
  assert.deepEqual(r, {
    ok: true,
    message: { type: "admin_notice", action: "locked", reason: "Abuse report 7", message: "An administrator locked this meeting (nobody new can join): Abuse report 7" },
  });
  const long = parseServerMessage(JSON.stringify({ type: "admin_notice", action: "locked", reason: "", message: "a".repeat(5000) }));
  assert.ok(long.ok && long.message.type === "admin_notice" && long.message.message.length === ADMIN_NOTICE_MAX);
  for (const bad of [{ type: "admin_notice" }, { type: "admin_notice", message: 7 }, { type: "admin_notice", message: " \u200b\u0007 " }]) {
    assert.equal(parseServerMessage(JSON.stringify(bad)).ok, false, JSON.stringify(bad));
  }
  const bare = parseServerMessage(JSON.stringify({ type: "admin_notice", message: "m" }));
  assert.deepEqual(bare, { ok: true, message: { type: "admin_notice", action: "", reason: "", message: "m" } });
});

test("the session shows an administrator's notice", () => {
  const h = setup({ mic: true });
  h.session.start();
  h.server.open();
  h.server.receive(welcome(participant("p-ada", { name: "Ada" })));
  const before = h.view.notices.length;
  h.server.receive({ type: "admin_notice", action: "unlocked", reason: "withdrawn", message: "An administrator unlocked this meeting (people with the link can join again): withdrawn" });
  assert.deepEqual(h.view.notices.slice(before), ["An administrator unlocked this meeting (people with the link can join again): withdrawn"]);
});
