import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { fingerprint, securityCode } from "../src/e2ee/securitycode.js";

function sha256(...parts: (string | Uint8Array)[]): Buffer {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest();
}

test("security code: SHA-256 of label, 0, authenticator; first 64 bits mod 10^12, in groups of four", async () => {
  const auth = new Uint8Array(32).map((_, i) => i);
  const expected = (sha256("Kaigi security code v1", new Uint8Array([0]), auth).readBigUInt64BE(0) % 10n ** 12n).toString().padStart(12, "0");
  const code = await securityCode(auth);
  assert.match(code, /^\d{4} \d{4} \d{4}$/);
  assert.equal(code.replaceAll(" ", ""), expected);
  assert.equal(await securityCode(auth), code, "deterministic");
  const other = auth.slice();
  other[0] = 1;
  assert.notEqual(await securityCode(other), code);
});

test("fingerprint: first 80 bits of SHA-256 of label, 0, key, as five groups of four hex digits", async () => {
  const key = new Uint8Array(32).fill(9);
  const expected = sha256("Kaigi fingerprint v1", new Uint8Array([0]), key).subarray(0, 10).toString("hex");
  const fp = await fingerprint(key);
  assert.match(fp, /^[0-9a-f]{4}( [0-9a-f]{4}){4}$/);
  assert.equal(fp.replaceAll(" ", ""), expected);
  assert.notEqual(await fingerprint(new Uint8Array(32).fill(8)), fp);
});
