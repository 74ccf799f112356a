import assert from "node:assert/strict";
import { test } from "node:test";
import { parseUser } from "../src/api/accounts.js";
import { ApiError } from "../src/api/http.js";
import { parseMeeting } from "../src/api/meetings.js";

const owner = {
  id: "7k3m-q9xd-2hfa-b8rn",
  kind: "instant",
  title: "Ada's meeting",
  host: "Ada",
  needsPasscode: true,
  requireSignIn: false,
  url: "https://meet.example.org/m/7k3m-q9xd-2hfa-b8rn",
  owner: true,
  settings: { passcode: true, waitingRoom: true, screenShare: "hosts", unmute: "everyone", chat: "everyone", rename: "everyone" },
  passcode: "123456789",
  inviteUrl: "https://meet.example.org/m/7k3m-q9xd-2hfa-b8rn#pwd=123456789",
};

test("a meeting's owner view is read whole", () => {
  const m = parseMeeting(owner);
  assert.equal(m.passcode, "123456789");
  assert.equal(m.inviteUrl, owner.inviteUrl);
  assert.equal(m.settings?.waitingRoom, true);
  assert.equal(m.kind, "instant");
});

test("the public view has no owner fields", () => {
  const m = parseMeeting({ id: owner.id, kind: "personal", title: "t", host: "Ada", needsPasscode: true, requireSignIn: true, url: owner.url, owner: false });
  assert.equal(m.kind, "personal");
  assert.equal(m.passcode, undefined);
  assert.equal(m.settings, undefined);
  assert.equal(m.requireSignIn, true);
});

test("links that are not web addresses are refused", () => {
  assert.throws(() => parseMeeting({ ...owner, url: "javascript:alert(1)" }), ApiError);
  assert.throws(() => parseMeeting({ ...owner, inviteUrl: "file:///etc/passwd" }), ApiError);
  assert.throws(() => parseMeeting({ ...owner, id: 7 }), ApiError);
});

test("users: unknown roles read as member", () => {
  assert.deepEqual(parseUser({ id: "u", email: "a@b", name: "A", role: "root", twoFactor: true, recoveryCodesLeft: 3 }), {
    id: "u",
    email: "a@b",
    name: "A",
    role: "member",
    twoFactor: true,
    recoveryCodesLeft: 3,
  });
});
