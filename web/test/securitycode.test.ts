import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { fingerprint, securityCode } from "../src/e2ee/securitycode.js";

function sha256(...parts: (string | Uint8Array)[]): Buffer {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest();
}

test("security code: SHA-256 of label, 0, authenticator; first 128 bits mod 10^30, in six groups of five", async () => {
  const auth = new Uint8Array(32).map((_, i) => i);
  const h = sha256("Kaigi security code v2", new Uint8Array([0]), auth);
  const first128 = (h.readBigUInt64BE(0) << 64n) | h.readBigUInt64BE(8);
  const expected = (first128 % 10n ** 30n).toString().padStart(30, "0");
  const code = await securityCode(auth);
  assert.match(code, /^\d{5}( \d{5}){5}$/);
  assert.equal(code.replaceAll(" ", ""), expected);
  assert.equal(await securityCode(auth), code, "deterministic");
  const other = auth.slice();
  other[0] = 1;
  assert.notEqual(await securityCode(other), code);
});

test("security code: at least 80 bits, so a split group cannot be ground to match (2^40+ commits per half)", async () => {
  const code = await securityCode(new Uint8Array(32));
  const digits = code.replaceAll(" ", "").length;
  assert.ok(digits * Math.log2(10) >= 80, `${digits} digits carry only ${(digits * Math.log2(10)).toFixed(1)} bits`);
  // Codes of many authenticators spread over the whole range (no stuck digits).
  const firsts = new Set<string>();
  for (let i = 0; i < 64; i++) firsts.add((await securityCode(new Uint8Array(32).fill(i))).slice(0, 1));
  assert.ok(firsts.size >= 6);
});

test("fingerprint: first 80 bits of SHA-256 of label, 0, key, as five groups of four hex digits", async () => {
  const key = new Uint8Array(32).fill(9);
  const expected = sha256("Kaigi fingerprint v1", new Uint8Array([0]), key).subarray(0, 10).toString("hex");
  const fp = await fingerprint(key);
  assert.match(fp, /^[0-9a-f]{4}( [0-9a-f]{4}){4}$/);
  assert.equal(fp.replaceAll(" ", ""), expected);
  assert.notEqual(await fingerprint(new Uint8Array(32).fill(8)), fp);
});
