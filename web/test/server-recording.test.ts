import assert from "node:assert/strict";
import { test } from "node:test";
import { actionText } from "../src/lib/audit-text.js";
import { parseServerMessage } from "../src/meeting/protocol.js";
import type { MeetingSession } from "../src/meeting/session.js";
import { SERVER_RECORDS, serverIndicatorText, serverRecordItem, serverStopItem } from "../src/recording/server-recording.js";

test("a recording message says the server records only when it says server: true", () => {
  const on = parseServerMessage(JSON.stringify({ type: "recording", on: true, recording: "rec_x", by: "p1", name: "Ada", since: "2026-12-07T03:00:00Z", server: true }));
  assert.ok(on.ok && on.message.type === "recording" && on.message.server === true);
  const odd = parseServerMessage(JSON.stringify({ type: "recording", on: true, recording: "rec_x", by: "p1", name: "Ada", since: "2026-12-07T03:00:00Z", server: "yes" }));
  assert.ok(odd.ok && odd.message.type === "recording" && odd.message.server === undefined);
});

test("only a host or co-host of a meeting without end-to-end encryption is offered a server recording", () => {
  const sent: unknown[] = [];
  const session = (role: string, e2ee: boolean) =>
    ({ role, e2ee, host: { recordOnServer: () => sent.push("server"), record: (on: boolean, id: string) => sent.push({ on, id }) } }) as unknown as MeetingSession;
  assert.deepEqual(serverRecordItem(session("host", true), () => {}), []);
  assert.deepEqual(serverRecordItem(session("participant", false), () => {}), []);
  for (const role of ["host", "cohost"]) {
    const items = serverRecordItem(session(role, false), () => {});
    assert.equal(items.length, 1);
    assert.equal(items[0]?.id, "menu-record-server");
    assert.match(items[0]?.title ?? "", /speaker's video and voice/);
  }
  const state = { type: "recording", on: true, recording: "rec_x", by: "p1", name: "Ada", since: "", server: true } as const;
  assert.deepEqual(serverStopItem(session("participant", false), state), []);
  assert.deepEqual(serverStopItem(session("host", false), { ...state, server: false }), []);
  const stop = serverStopItem(session("cohost", false), state);
  stop[0]?.run?.();
  assert.deepEqual(sent, [{ on: false, id: "" }]);
});

test("the indicator says the server records the speaker, and that it can play it", () => {
  const text = serverIndicatorText("Ada", false);
  assert.ok(text.includes(SERVER_RECORDS) && text.includes("Ada started it") && text.includes("not end-to-end encrypted"));
  assert.ok(serverIndicatorText("Ada", true).includes("You started it"));
});

test("the audit log says what a server recording's start and end are", () => {
  const started = actionText({ action: "recording.server_started", subjectId: "m1", details: { recording: "rec_1" } } as never, new Map(), true);
  assert.ok(started.includes("had the server record your meeting m1") && started.includes("not end-to-end encrypted"), started);
  const ended = actionText({ action: "recording.server_ended", subjectId: "m1", details: { recording: "rec_1", ended: "duration_limit", seconds: "14400" } } as never);
  assert.ok(ended.includes("at its length limit") && ended.includes("14400 s"), ended);
});
