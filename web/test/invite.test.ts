import assert from "node:assert/strict";
import { test } from "node:test";
import { parseMeeting } from "../src/api/meetings.js";
import {
  cleanPasscode,
  fragmentHasPasscode,
  fragmentWithoutPasscode,
  inviteFragment,
  inviteFragmentOf,
  inviteLink,
  meetingInviteLink,
  meetingStartLink,
  readInvite,
} from "../src/lib/invite.js";

test("the passcode is read from an invite link's fragment", () => {
  assert.equal(readInvite("#pwd=123456789").passcode, "123456789");
  assert.equal(readInvite("pwd=123456789").passcode, "123456789");
  assert.equal(readInvite("#x=1&pwd=42%2042").passcode, "4242", "decoded, spaces dropped");
  assert.equal(readInvite("#pwd=a+b").passcode, "ab", "+ is a space in a query-style fragment");
  assert.equal(readInvite("#pwd=123456789&e2ee=1").passcode, "123456789");
});

test("no passcode, an empty one or an absurdly long one is none", () => {
  assert.equal(readInvite("").passcode, null);
  assert.equal(readInvite("#").passcode, null);
  assert.equal(readInvite("#section-2").passcode, null);
  assert.equal(readInvite("#pwd=").passcode, null);
  assert.equal(readInvite(`#pwd=${"1".repeat(65)}`).passcode, null);
});

test("the fragment says whether the meeting is end-to-end encrypted: 1, 0, or nothing", () => {
  assert.equal(readInvite("#pwd=123456789&e2ee=1").e2ee, true);
  assert.equal(readInvite("#e2ee=1").e2ee, true);
  assert.equal(readInvite("#e2ee=0&pwd=1").e2ee, false);
  assert.equal(readInvite("#pwd=123456789").e2ee, null, "an older link says nothing");
  assert.equal(readInvite("").e2ee, null);
  for (const odd of ["#e2ee=", "#e2ee=yes", "#e2ee=true", "#e2ee=2", "#e2ee"]) assert.equal(readInvite(odd).e2ee, null, odd);
});

test("a fragment with pwd is one to take out of the address bar; the E2EE marker stays", () => {
  assert.ok(fragmentHasPasscode("#pwd=1"));
  assert.ok(fragmentHasPasscode("#pwd="));
  assert.ok(fragmentHasPasscode("#e2ee=1&pwd=1"));
  assert.ok(!fragmentHasPasscode("#other=1"));
  assert.ok(!fragmentHasPasscode("#e2ee=1"));
  assert.ok(!fragmentHasPasscode(""));
  assert.equal(fragmentWithoutPasscode("#pwd=123456789&e2ee=1"), "#e2ee=1");
  assert.equal(fragmentWithoutPasscode("#pwd=123456789&e2ee=0"), "#e2ee=0");
  assert.equal(fragmentWithoutPasscode("#pwd=123456789"), "");
});

test("typed passcodes lose their spaces", () => {
  assert.equal(cleanPasscode(" 123 456 789 "), "123456789");
  assert.equal(cleanPasscode("\t1\n2"), "12");
});

test("invite links carry the passcode, if any, and say whether the meeting is end-to-end encrypted", () => {
  const url = "https://meet.example.org/m/7k3m-q9xd-2hfa-b8rn";
  assert.equal(inviteLink(url, { passcode: "123456789", e2ee: true }), `${url}#pwd=123456789&e2ee=1`);
  assert.equal(inviteLink(url, { passcode: null, e2ee: true }), `${url}#e2ee=1`);
  assert.equal(inviteLink(url, { passcode: null, e2ee: false }), `${url}#e2ee=0`);
  assert.equal(inviteLink(`${url}#pwd=9`, { passcode: "1 2", e2ee: false }), `${url}#pwd=1+2&e2ee=0`, "the old fragment is replaced");
  assert.equal(inviteLink(url, { passcode: null, e2ee: null }), url);
  assert.equal(inviteFragment({ passcode: "123456789", e2ee: null }), "#pwd=123456789");
  // What is built reads back the same.
  for (const invite of [
    { passcode: "123456789", e2ee: true },
    { passcode: null, e2ee: false },
    { passcode: "42", e2ee: null },
  ]) {
    assert.deepEqual(readInvite(new URL(inviteLink(url, invite)).hash), invite);
  }
});

test("a pasted link keeps what its fragment says, and nothing else", () => {
  assert.equal(inviteFragmentOf("https://x.example/m/7k3m-q9xd-2hfa-b8rn#pwd=123456789&e2ee=1"), "#pwd=123456789&e2ee=1");
  assert.equal(inviteFragmentOf("https://x.example/m/7k3m-q9xd-2hfa-b8rn#e2ee=1"), "#e2ee=1");
  assert.equal(inviteFragmentOf("https://x.example/m/7k3m-q9xd-2hfa-b8rn#pwd=1&evil=2"), "#pwd=1");
  assert.equal(inviteFragmentOf("https://x.example/m/7k3m-q9xd-2hfa-b8rn#section"), "");
  assert.equal(inviteFragmentOf("7k3m-q9xd-2hfa-b8rn"), "");
});

test("an owner's links: the invite with the passcode only if the meeting needs one; Start without it; both with the marker", () => {
  const base = {
    id: "7k3m-q9xd-2hfa-b8rn",
    kind: "instant",
    title: "t",
    host: "Ada",
    requireSignIn: false,
    url: "https://meet.example.org/m/7k3m-q9xd-2hfa-b8rn",
    owner: true,
    passcode: "123456789",
  };
  const e2ee = parseMeeting({ ...base, e2ee: true, needsPasscode: true });
  assert.equal(meetingInviteLink(e2ee), `${base.url}#pwd=123456789&e2ee=1`);
  assert.equal(meetingStartLink(e2ee), `${base.url}#e2ee=1`);
  const open = parseMeeting({ ...base, e2ee: false, needsPasscode: false });
  assert.equal(meetingInviteLink(open), `${base.url}#e2ee=0`);
  assert.equal(meetingStartLink(open), `${base.url}#e2ee=0`);
});
