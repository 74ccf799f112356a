import assert from "node:assert/strict";
import { test } from "node:test";
import { isModerator, mayRenameSelf, mayShareScreen, mayUnmute, menuActions } from "../src/meeting/permissions.js";
import { PRODUCT_DEFAULTS, type Settings } from "../src/meeting/settings.js";

const hostsOnly: Settings = { ...PRODUCT_DEFAULTS, screenShare: "hosts", unmute: "hosts", rename: "hosts" };
const everyone: Settings = { ...PRODUCT_DEFAULTS, screenShare: "everyone", unmute: "everyone", rename: "everyone" };
const talking = { role: "participant", audio: true, video: true, screen: false };

test("moderators are hosts and co-hosts", () => {
  assert.ok(isModerator("host"));
  assert.ok(isModerator("cohost"));
  assert.ok(!isModerator("participant"));
  assert.ok(!isModerator(undefined));
  assert.ok(!isModerator("admin"));
});

test("screen sharing follows the setting for participants only", () => {
  assert.ok(!mayShareScreen("participant", hostsOnly));
  assert.ok(mayShareScreen("cohost", hostsOnly));
  assert.ok(mayShareScreen("participant", everyone));
  assert.ok(mayShareScreen("participant", null), "before settings arrive the server decides");
});

test("unmuting is blocked only after a host's mute, when only hosts may undo it", () => {
  assert.ok(mayUnmute("participant", hostsOnly, false));
  assert.ok(!mayUnmute("participant", hostsOnly, true));
  assert.ok(mayUnmute("participant", everyone, true));
  assert.ok(mayUnmute("cohost", hostsOnly, true));
});

test("renaming oneself follows the setting", () => {
  assert.ok(!mayRenameSelf("participant", hostsOnly));
  assert.ok(mayRenameSelf("host", hostsOnly));
  assert.ok(mayRenameSelf("participant", everyone));
});

test("a host's menu for a participant offers what applies", () => {
  assert.deepEqual(menuActions("host", talking, false, hostsOnly), ["mute", "stop-video", "rename", "make-cohost", "remove"]);
  assert.deepEqual(menuActions("host", { role: "cohost", audio: false, video: false, screen: true }, false, hostsOnly), [
    "stop-screen",
    "rename",
    "remove-cohost",
    "remove",
  ]);
});

test("co-hosts moderate but do not hand out roles; nobody acts on the host", () => {
  assert.deepEqual(menuActions("cohost", talking, false, hostsOnly), ["mute", "stop-video", "rename", "remove"]);
  assert.deepEqual(menuActions("cohost", { ...talking, role: "host" }, false, hostsOnly), []);
  assert.deepEqual(menuActions("participant", talking, false, everyone), []);
});

test("one's own menu is renaming, when allowed", () => {
  assert.deepEqual(menuActions("participant", talking, true, everyone), ["rename"]);
  assert.deepEqual(menuActions("participant", talking, true, hostsOnly), []);
  assert.deepEqual(menuActions("host", { ...talking, role: "host" }, true, hostsOnly), ["rename"]);
});
