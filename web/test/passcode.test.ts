import assert from "node:assert/strict";
import { test } from "node:test";
import { cleanPasscode, fragmentHasPasscode, passcodeFromFragment } from "../src/passcode.js";

test("the passcode is read from an invite link's fragment", () => {
  assert.equal(passcodeFromFragment("#pwd=123456789"), "123456789");
  assert.equal(passcodeFromFragment("pwd=123456789"), "123456789");
  assert.equal(passcodeFromFragment("#x=1&pwd=42%2042"), "4242", "decoded, spaces dropped");
  assert.equal(passcodeFromFragment("#pwd=a+b"), "ab", "+ is a space in a query-style fragment");
});

test("no passcode, an empty one or an absurdly long one is none", () => {
  assert.equal(passcodeFromFragment(""), null);
  assert.equal(passcodeFromFragment("#"), null);
  assert.equal(passcodeFromFragment("#section-2"), null);
  assert.equal(passcodeFromFragment("#pwd="), null);
  assert.equal(passcodeFromFragment("#pwd=" + "1".repeat(65)), null);
});

test("a fragment with pwd is one to remove from the address bar", () => {
  assert.ok(fragmentHasPasscode("#pwd=1"));
  assert.ok(fragmentHasPasscode("#pwd="));
  assert.ok(!fragmentHasPasscode("#other=1"));
  assert.ok(!fragmentHasPasscode(""));
});

test("typed passcodes lose their spaces", () => {
  assert.equal(cleanPasscode(" 123 456 789 "), "123456789");
  assert.equal(cleanPasscode("\t1\n2"), "12");
});
