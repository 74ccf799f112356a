import assert from "node:assert/strict";
import { test } from "node:test";
import { decideSending, SendPolicy, type E2eeMemory, type Known, type Sending } from "../src/meeting/send-policy.js";

/** A device's memory of E2EE meetings, in a Set. */
function memory(...known: string[]): E2eeMemory & { ids: Set<string> } {
  const ids = new Set(known);
  return { ids, remember: (id) => void ids.add(id), remembers: (id) => ids.has(id) };
}

const ID = "7k3m-q9xd-2hfa-b8rn";
const nothingKnown: Known = { link: null, announced: false };

test("the decision: what the server says decides nothing alone", () => {
  const cases: [string, Parameters<typeof decideSending>[0], Sending][] = [
    ["expected, the server says E2EE", { expectE2ee: true, serverE2ee: true, canEncrypt: true, consented: false }, "encrypted"],
    ["expected, the server says not", { expectE2ee: true, serverE2ee: false, canEncrypt: true, consented: false }, "refuse"],
    ["expected, the server says not, even after agreeing to clear", { expectE2ee: true, serverE2ee: false, canEncrypt: true, consented: true }, "refuse"],
    ["not expected, the server says not", { expectE2ee: false, serverE2ee: false, canEncrypt: true, consented: false }, "ask"],
    ["not expected, the server says not, the person agreed", { expectE2ee: false, serverE2ee: false, canEncrypt: true, consented: true }, "clear"],
    ["not expected, the server says E2EE", { expectE2ee: false, serverE2ee: true, canEncrypt: true, consented: false }, "encrypted"],
    ["the server says E2EE, this browser cannot encrypt", { expectE2ee: false, serverE2ee: true, canEncrypt: false, consented: true }, "refuse"],
    ["not expected, no E2EE in this browser, the server says not", { expectE2ee: false, serverE2ee: false, canEncrypt: false, consented: false }, "ask"],
  ];
  for (const [name, facts, want] of cases) assert.equal(decideSending(facts), want, name);
});

test("an e2ee=1 link: the server says E2EE on first join, media go out encrypted", () => {
  const policy = new SendPolicy(ID, { link: true, announced: true }, memory());
  assert.equal(policy.welcomed(true, true), "encrypted");
});

test("an e2ee=1 link: a server that says not encrypted on first join gets nothing", () => {
  const mem = memory();
  const policy = new SendPolicy(ID, { link: true, announced: false }, mem);
  assert.equal(policy.welcomed(false, true), "refuse");
  policy.consent(); // nothing the person clicks changes that
  assert.equal(policy.decide(false, true), "refuse");
  assert.ok(mem.ids.has(ID), "the link's word is remembered on the device");
});

test("in the meeting with E2EE on, a resume where the server says not encrypted gets nothing", () => {
  // A bare link, nothing remembered: the first welcome says E2EE.
  const mem = memory();
  const policy = new SendPolicy(ID, nothingKnown, mem);
  assert.equal(policy.expectsE2ee, false);
  assert.equal(policy.welcomed(true, true), "encrypted");
  assert.equal(policy.expectsE2ee, true);
  assert.ok(mem.ids.has(ID), "having been in it with E2EE on is remembered");
  // The reconnect's welcome (resumed or not) says otherwise.
  assert.equal(policy.welcomed(false, true), "refuse");
  // So does a later visit on this device, with a bare link.
  assert.equal(new SendPolicy(ID, nothingKnown, mem).welcomed(false, true), "refuse");
});

test("the memory is kept for the session when the device cannot store it", () => {
  const forgetful: E2eeMemory = { remember: () => {}, remembers: () => false };
  const policy = new SendPolicy(ID, nothingKnown, forgetful);
  policy.welcomed(true, true);
  assert.equal(policy.welcomed(false, true), "refuse");
});

test("an e2ee=0 link, not E2EE: ask before the first thing is sent, then send", () => {
  const policy = new SendPolicy(ID, { link: false, announced: false }, memory());
  assert.equal(policy.welcomed(false, true), "ask");
  policy.consent();
  assert.equal(policy.decide(false, true), "clear");
  assert.equal(policy.welcomed(false, true), "clear", "a reconnect does not ask again");
});

test("nothing known (no fragment, nothing remembered), the server says not: ask first", () => {
  const mem = memory();
  const policy = new SendPolicy(ID, nothingKnown, mem);
  assert.equal(policy.welcomed(false, true), "ask");
  assert.equal(mem.ids.size, 0, "a meeting without E2EE is not remembered as one");
});

test("never downgraded: an e2ee=0 link does not undo what the device remembers", () => {
  const mem = memory(ID);
  const policy = new SendPolicy(ID, { link: false, announced: false }, mem);
  assert.equal(policy.expectsE2ee, true);
  assert.equal(policy.welcomed(false, true), "refuse");
  assert.ok(mem.ids.has(ID));
  // Nor does the server saying "not encrypted" any number of times.
  for (let i = 0; i < 3; i++) policy.welcomed(false, true);
  assert.equal(policy.expectsE2ee, true);
  assert.ok(mem.ids.has(ID));
});

test("the meeting's page saying E2EE is expected for the session, but not remembered", () => {
  const mem = memory();
  const policy = new SendPolicy(ID, { link: null, announced: true }, mem);
  assert.equal(policy.expectsE2ee, true);
  assert.equal(policy.welcomed(false, true), "refuse");
  assert.equal(mem.ids.size, 0);
});

test("other meetings are not affected", () => {
  const mem = memory("aaaa-bbbb-cccc-dddd");
  assert.equal(new SendPolicy(ID, nothingKnown, mem).welcomed(false, true), "ask");
});
