import assert from "node:assert/strict";
import { test } from "node:test";
import { nextFromQuery, safeNext, signInPath } from "../src/lib/navigation.js";

test("only paths on this site are followed after sign-in", () => {
  assert.equal(safeNext("/m/7k3m-q9xd-2hfa-b8rn"), "/m/7k3m-q9xd-2hfa-b8rn");
  assert.equal(safeNext("/account?x=1"), "/account?x=1");
  for (const bad of [null, undefined, "", "https://evil.example/", "//evil.example", "/\\evil.example", "javascript:alert(1)", "m/x", "/a\nb", "/a\\b"]) {
    assert.equal(safeNext(bad), "/", String(bad));
  }
});

test("the sign-in path carries where to return", () => {
  assert.equal(signInPath("/m/abcd"), "/signin?next=%2Fm%2Fabcd");
  assert.equal(signInPath("/"), "/signin");
  assert.equal(signInPath("//evil"), "/signin");
  assert.equal(nextFromQuery("?next=%2Fm%2Fabcd"), "/m/abcd");
  assert.equal(nextFromQuery("?next=https%3A%2F%2Fevil"), "/");
  assert.equal(nextFromQuery(""), "/");
});
