import assert from "node:assert/strict";
import { test } from "node:test";
import { IN_MEETING_FIELDS, PRODUCT_DEFAULTS, SETTING_FIELDS, applyForm, parseSettings, sameSettings, settingFieldId, summary, type Settings, parseRegionLabels, parseRegions } from "../src/meeting/settings.js";

const open: Settings = {
  passcode: false,
  waitingRoom: false,
  requireSignIn: false,
  joinBeforeHost: true,
  screenShare: "everyone",
  unmute: "everyone",
  chat: "everyone",
  rename: "everyone",
  locked: false,
};

test("settings from the server are read field by field", () => {
  assert.deepEqual(parseSettings({ ...open, extra: { nested: true } }), open);
  assert.deepEqual(parseSettings(PRODUCT_DEFAULTS), PRODUCT_DEFAULTS);
  assert.equal(parseSettings(null), null);
  assert.equal(parseSettings([1]), null);
});

test("unknown permissions read as hosts-only, missing flags as off", () => {
  const s = parseSettings({ screenShare: "moderators", unmute: "everyone" })!;
  assert.equal(s.screenShare, "hosts");
  assert.equal(s.unmute, "everyone");
  assert.equal(s.chat, "hosts");
  assert.equal(s.waitingRoom, false);
  assert.equal(s.locked, false);
});

test("a form changes only the settings it has, with valid values", () => {
  const locked = { ...PRODUCT_DEFAULTS, locked: true };
  const got = applyForm(locked, { waitingRoom: false, screenShare: "everyone", chat: "nobody", unmute: true });
  assert.equal(got.waitingRoom, false);
  assert.equal(got.screenShare, "everyone");
  assert.equal(got.chat, "everyone", "an invalid choice leaves the old value");
  assert.equal(got.unmute, "everyone", "a checkbox value for a choice is ignored");
  assert.equal(got.passcode, true, "untouched");
  assert.equal(got.locked, true, "locked is never a form field");
  assert.equal(locked.waitingRoom, true, "the base is not changed");
});

test("the in-meeting form leaves the passcode and join-before-host alone", () => {
  assert.ok(!IN_MEETING_FIELDS.includes("passcode"));
  assert.ok(!IN_MEETING_FIELDS.includes("joinBeforeHost"));
  for (const k of IN_MEETING_FIELDS) assert.ok(SETTING_FIELDS.some((f) => f.key === k), k);
});

test("field ids are kebab case with a prefix", () => {
  assert.equal(settingFieldId("new", "waitingRoom"), "new-waiting-room");
  assert.equal(settingFieldId("live", "screenShare"), "live-screen-share");
  assert.equal(settingFieldId("edit", "passcode"), "edit-passcode");
});

test("equality and summary", () => {
  assert.ok(sameSettings(PRODUCT_DEFAULTS, { ...PRODUCT_DEFAULTS }));
  assert.ok(!sameSettings(PRODUCT_DEFAULTS, { ...PRODUCT_DEFAULTS, locked: true }));
  assert.equal(summary(PRODUCT_DEFAULTS), "Passcode · Waiting room");
  assert.equal(summary({ ...open, joinBeforeHost: false, screenShare: "hosts" }), "Open to anyone with the link");
});

test("settings this client does not know travel along unchanged", () => {
  const s = parseSettings({ ...open, e2ee: true, region: "eu", nested: { a: 1 } })!;
  const edited = applyForm(s, { waitingRoom: true });
  const sent = JSON.parse(JSON.stringify(edited)) as Record<string, unknown>;
  assert.equal(sent.e2ee, true, "a newer server's flag is sent back as it was");
  assert.equal(sent.region, "eu");
  assert.equal("nested" in sent, false, "only plain values are carried");
  assert.equal(sent.waitingRoom, true);
  assert.ok(sameSettings(s, { ...open }), "comparisons look at the known settings only");
});

test("region labels typed as text are lower-cased, sorted and de-duplicated; anything else is named", () => {
  assert.deepEqual(parseRegionLabels(" EU-Central, eu-west  eu-central;us-east-2 "), { regions: ["eu-central", "eu-west", "us-east-2"] });
  assert.deepEqual(parseRegionLabels(""), { regions: [] }, "empty: anywhere");
  assert.deepEqual(parseRegionLabels("eu-central -west"), { bad: "-west" });
  assert.deepEqual(parseRegionLabels("eu_central"), { bad: "eu_central" });
  assert.deepEqual(parseRegionLabels("a".repeat(33)), { bad: "a".repeat(33) });
  assert.ok("bad" in parseRegionLabels(Array.from({ length: 17 }, (_, i) => `r${i}`).join(" ")), "at most 16");
  assert.deepEqual(parseRegions(["eu-central"]), ["eu-central"]);
  for (const bad of [null, "eu-central", ["EU"], [3], Array(17).fill("eu")]) assert.deepEqual(parseRegions(bad), [], JSON.stringify(bad));
});

test("a meeting's regions are read when they are labels, and count in whether settings changed", () => {
  const s = parseSettings({ ...open, regions: ["eu-central", "eu-west"] });
  assert.deepEqual(s?.regions, ["eu-central", "eu-west"]);
  assert.equal(parseSettings({ ...open, regions: [] })?.regions, undefined, "none named: absent");
  assert.equal(parseSettings({ ...open, regions: ["EU"] })?.regions, undefined, "not labels: absent (the server keeps what it has)");
  assert.ok(!sameSettings({ ...open, regions: ["eu-west"] }, open));
  assert.ok(sameSettings({ ...open, regions: [] }, open), "[] and absent both name none");
});
