import assert from "node:assert/strict";
import { test } from "node:test";
import { applyForm, describeCountryRule, parseCountryCodes, parseCountryRule, parseSettings, sameSettings } from "../src/meeting/settings.js";

test("a meeting's country rule is read and carried along, so sending settings back keeps it", () => {
  const s = parseSettings({ passcode: true, waitingRoom: true, screenShare: "hosts", country: { mode: "deny", codes: ["DE"], private: "allow", unknown: "refuse" } });
  assert.ok(s);
  assert.deepEqual(s.country, { mode: "deny", codes: ["DE"], private: "allow", unknown: "refuse" });
  // A form that does not show the rule leaves it as it was.
  const changed = applyForm(s, { chat: "hosts" });
  assert.deepEqual(changed.country, s.country);
  assert.equal(JSON.parse(JSON.stringify(changed)).country.codes[0], "DE");
  // Absent is not off: no rule read, none sent.
  assert.equal(parseSettings({ passcode: true })?.country, undefined);
});

test("a country rule that is not one is not read", () => {
  for (const bad of [{ mode: "block" }, { mode: "deny", codes: ["de"] }, { mode: "deny", codes: ["DEU"] }, { mode: "allow", codes: "DE" }, "deny", null]) {
    assert.equal(parseCountryRule(bad), null, JSON.stringify(bad));
  }
  assert.deepEqual(parseCountryRule({ mode: "", codes: null }), { mode: "", codes: [], private: "allow", unknown: "allow" });
});

test("typed country codes are upper-cased, sorted and deduplicated; a word that is no code is named", () => {
  assert.deepEqual(parseCountryCodes(" fr, de;DE  nl "), { codes: ["DE", "FR", "NL"] });
  assert.deepEqual(parseCountryCodes(""), { codes: [] });
  assert.deepEqual(parseCountryCodes("DE Germany"), { bad: "Germany" });
  assert.deepEqual(parseCountryCodes("D1"), { bad: "D1" });
});

test("rules are described in one sentence and compared by what they say", () => {
  assert.equal(describeCountryRule({ mode: "allow", codes: ["DE", "FR"], private: "allow", unknown: "refuse" }), "Only from DE, FR. Not from addresses whose country is unknown.");
  assert.equal(describeCountryRule({ mode: "deny", codes: ["RU"], private: "refuse", unknown: "allow" }), "Not from RU. Not from private networks.");
  assert.equal(describeCountryRule({ mode: "", codes: [], private: "allow", unknown: "allow" }), "");
  const base = parseSettings({ passcode: true })!;
  const a = { ...base, country: { mode: "deny" as const, codes: ["FR", "DE"], private: "allow" as const, unknown: "allow" as const } };
  const b = { ...base, country: { mode: "deny" as const, codes: ["DE", "FR"], private: "allow" as const, unknown: "allow" as const } };
  assert.ok(sameSettings(a, b));
  assert.ok(sameSettings(base, { ...base, country: { mode: "", codes: [], private: "allow", unknown: "allow" } }));
  assert.ok(!sameSettings(base, a));
});
