import assert from "node:assert/strict";
import { test } from "node:test";
import { COUNTRY_REFUSAL_MAX, parseAdmission } from "../src/api/admission.js";
import { ApiError } from "../src/api/http.js";

const noRegions = { regions: null, regionNotAllowed: null, regionRedirect: null };
const sentence = "This meeting does not admit participants connecting from DE (this meeting's rule, set by its host).";

test("the admission check's country refusal is read with the server's sentence", () => {
  assert.deepEqual(parseAdmission({ banned: false, countryNotAllowed: sentence }), { banned: false, countryNotAllowed: sentence, ...noRegions });
  assert.deepEqual(parseAdmission({ banned: true, countryNotAllowed: sentence }), { banned: true, countryNotAllowed: sentence, ...noRegions });
  // Absent (no rule refuses, or no GeoIP database): nothing against this address.
  assert.deepEqual(parseAdmission({ banned: false }), { banned: false, countryNotAllowed: null, ...noRegions });
  assert.deepEqual(parseAdmission({ banned: true }), { banned: true, countryNotAllowed: null, ...noRegions });
});

test("a country refusal that is no sentence of bounded length is ignored", () => {
  const longest = "x".repeat(COUNTRY_REFUSAL_MAX);
  assert.equal(parseAdmission({ banned: false, countryNotAllowed: longest }).countryNotAllowed, longest);
  // Counted in characters, not UTF-16 units.
  const emoji = "🌍".repeat(COUNTRY_REFUSAL_MAX);
  assert.equal(parseAdmission({ banned: false, countryNotAllowed: emoji }).countryNotAllowed, emoji);
  for (const bad of ["x".repeat(COUNTRY_REFUSAL_MAX + 1), "", "   ", 1, true, null, ["DE"], { message: sentence }]) {
    assert.deepEqual(parseAdmission({ banned: false, countryNotAllowed: bad }), { banned: false, countryNotAllowed: null, ...noRegions }, JSON.stringify(bad));
  }
  // A ban is still read next to a refusal that is ignored.
  assert.equal(parseAdmission({ banned: true, countryNotAllowed: 7 }).banned, true);
});

test("an admission answer without a boolean banned is not understood", () => {
  for (const bad of [null, "banned", [], {}, { banned: "false" }, { countryNotAllowed: sentence }]) {
    assert.throws(() => parseAdmission(bad), (e: unknown) => e instanceof ApiError && e.code === "unavailable", JSON.stringify(bad));
  }
});

test("where the meeting may be held, and this server's refusal, are read; anything else about regions is ignored", () => {
  const refusal = "This meeting may be held only in us-east, and this is a server in eu-central, so it cannot be held here.";
  assert.deepEqual(parseAdmission({ banned: false, regions: ["us-east"], regionNotAllowed: refusal }), { banned: false, countryNotAllowed: null, regions: ["us-east"], regionNotAllowed: refusal, regionRedirect: null });
  assert.deepEqual(parseAdmission({ banned: false, regions: [] }).regions, [], "nothing in common: held nowhere");
  for (const bad of [["US-East"], ["eu central"], [""], [1], "eu-central", Array(17).fill("eu"), { eu: true }]) {
    assert.equal(parseAdmission({ banned: false, regions: bad }).regions, null, JSON.stringify(bad));
  }
  for (const bad of ["", "x".repeat(COUNTRY_REFUSAL_MAX + 1), 3, ["no"]]) {
    assert.equal(parseAdmission({ banned: false, regionNotAllowed: bad }).regionNotAllowed, null, JSON.stringify(bad));
  }
});
