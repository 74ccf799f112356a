import assert from "node:assert/strict";
import { test } from "node:test";
import { fromHex, toHex } from "../src/e2ee/bytes.js";
import {
  decodeHeader,
  decrypt,
  deriveKey,
  encodeHeader,
  encrypt,
  keyLabel,
  makeNonce,
  REPLAY_WINDOW,
  ReplayWindow,
  saltLabel,
  SFrameSender,
  type FrameCounter,
  type SFrameKey,
} from "../src/e2ee/sframe.js";
import { AES_128_GCM_SHA256_128, HEADER_VECTORS } from "./testdata/rfc9605.js";

/** Parses the RFC's "name: hex" blocks, continuation lines included. */
function fields(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let last = "";
  for (const line of text.split("\n")) {
    const m = /^([a-z_]+):\s*(.*)$/.exec(line.trim());
    if (m) {
      last = m[1]!;
      out[last] = m[2]!;
    } else if (line.trim() !== "" && last !== "") {
      out[last] += line.trim();
    }
  }
  return out;
}

const vector = fields(AES_128_GCM_SHA256_128);
const hex = (name: string): Uint8Array => fromHex(vector[name]!);
const big = (name: string): bigint => BigInt(vector[name]!);

test("RFC 9605 C.1: every header vector encodes and decodes", () => {
  const lines = HEADER_VECTORS.trim().split("\n");
  assert.equal(lines.length, 289);
  for (const line of lines) {
    const [kidHex, ctrHex, headerHex] = line.split(" ") as [string, string, string];
    const kid = BigInt(kidHex);
    const ctr = BigInt(ctrHex);
    assert.equal(toHex(encodeHeader(kid, ctr)), headerHex, `encode ${line}`);
    const header = fromHex(headerHex);
    assert.deepEqual(decodeHeader(header), { kid, ctr, length: header.length }, `decode ${line}`);
  }
});

test("decodeHeader finds a header after a clear prefix and ignores what follows", () => {
  const data = fromHex("aabbcc" + "9901234567" + "deadbeef");
  assert.deepEqual(decodeHeader(data, 3), { kid: 0x123n, ctr: 0x4567n, length: 5 });
});

test("decodeHeader rejects truncated and non-minimal headers", () => {
  for (const bad of [
    "", // nothing
    "80", // KID byte missing
    "0901", // CTR needs two bytes
    "8005", // KID 5 written in an extra byte
    "0807", // CTR 7 written in an extra byte
    "900012", // KID 0x12 with a leading zero byte
    "09000f", // CTR 0x0f with a leading zero byte
  ]) {
    assert.equal(decodeHeader(fromHex(bad)), null, bad);
  }
});

test("encodeHeader refuses values outside 64 bits", () => {
  assert.throws(() => encodeHeader(-1n, 0n), RangeError);
  assert.throws(() => encodeHeader(0n, 1n << 64n), RangeError);
});

test("RFC 9605 C.3 (AES_128_GCM_SHA256_128): labels, salt, nonce", async () => {
  assert.equal(vector.cipher_suite, "0x0004");
  const kid = big("kid");
  assert.equal(toHex(keyLabel(kid)), vector.sframe_key_label);
  assert.equal(toHex(saltLabel(kid)), vector.sframe_salt_label);
  const key = await deriveKey(hex("base_key"), kid, "encrypt");
  assert.equal(toHex(key.salt), vector.sframe_salt);
  assert.equal(toHex(makeNonce(key.salt, big("ctr"))), vector.nonce);
  assert.equal(key.key.extractable, false);
  assert.deepEqual(key.key.usages, ["encrypt"]);
});

test("RFC 9605 C.3: HKDF-Extract with an empty salt is the RFC's sframe_secret", async () => {
  // RFC 5869: no salt means HashLen zero bytes, which as an HMAC key equals
  // the empty string: the reason deriveKey may hand WebCrypto an empty salt.
  const subtle = globalThis.crypto.subtle;
  const hmacKey = await subtle.importKey("raw", new Uint8Array(32), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const prk = new Uint8Array(await subtle.sign("HMAC", hmacKey, hex("base_key") as Uint8Array<ArrayBuffer>));
  assert.equal(toHex(prk), vector.sframe_secret);
});

test("RFC 9605 C.3: encrypt gives the RFC ciphertext and decrypt the plaintext", async () => {
  const kid = big("kid");
  const sender = await deriveKey(hex("base_key"), kid, "encrypt");
  const ct = await encrypt(sender, big("ctr"), hex("pt"), hex("metadata"));
  assert.equal(toHex(ct), vector.ct);

  // The RFC's own sframe_key gives the same ciphertext.
  const rfcKey: SFrameKey = {
    kid,
    key: await globalThis.crypto.subtle.importKey("raw", hex("sframe_key") as Uint8Array<ArrayBuffer>, "AES-GCM", false, ["encrypt"]),
    salt: hex("sframe_salt"),
  };
  assert.equal(toHex(await encrypt(rfcKey, big("ctr"), hex("pt"), hex("metadata"))), vector.ct);

  const receiver = await deriveKey(hex("base_key"), kid, "decrypt");
  const pt = await decrypt(receiver, hex("ct"), hex("metadata"));
  assert.ok(pt);
  assert.equal(toHex(pt), vector.pt);
});

const plaintext = new TextEncoder().encode("a media frame, or anything else");

async function keyPair(base = new Uint8Array(16).fill(7), kid = 0x35n): Promise<[SFrameKey, SFrameKey]> {
  return [await deriveKey(base, kid, "encrypt"), await deriveKey(base, kid, "decrypt")];
}

test("round trip with and without metadata, empty plaintext too", async () => {
  const [enc, dec] = await keyPair();
  for (const [pt, md] of [
    [plaintext, undefined],
    [plaintext, new Uint8Array([1, 2, 3])],
    [new Uint8Array(0), undefined],
  ] as const) {
    const ct = await encrypt(enc, 9n, pt, md);
    assert.deepEqual(await decrypt(dec, ct, md), new Uint8Array(pt));
  }
});

test("a key is for encryption or decryption, never both", async () => {
  const [enc, dec] = await keyPair();
  const ct = await encrypt(enc, 1n, plaintext);
  assert.equal(await decrypt(enc, ct), null);
  await assert.rejects(encrypt(dec, 2n, plaintext));
});

test("the wrong key, another KID or other metadata do not decrypt", async () => {
  const [enc] = await keyPair();
  const ct = await encrypt(enc, 1n, plaintext, new Uint8Array([1]));
  const [, otherBase] = await keyPair(new Uint8Array(16).fill(8));
  assert.equal(await decrypt(otherBase, ct, new Uint8Array([1])), null);
  const [, otherKid] = await keyPair(undefined, 0x36n);
  assert.equal(await decrypt(otherKid, ct, new Uint8Array([1])), null);
  const [, dec] = await keyPair();
  assert.equal(await decrypt(dec, ct, new Uint8Array([2])), null);
  assert.equal(await decrypt(dec, ct), null);
});

test("any altered byte of header, ciphertext or tag is rejected", async () => {
  const [enc, dec] = await keyPair();
  const ct = await encrypt(enc, 300n, plaintext);
  assert.ok(await decrypt(dec, ct));
  for (let i = 0; i < ct.length; i++) {
    const bad = ct.slice();
    bad[i]! ^= 0x01;
    assert.equal(await decrypt(dec, bad), null, `byte ${i}`);
  }
  assert.equal(await decrypt(dec, ct.subarray(0, ct.length - 1)), null, "truncated tag");
  assert.equal(await decrypt(dec, ct.subarray(0, 3)), null, "header only");
});

test("a header re-encoded with another CTR is rejected (the nonce and AAD change)", async () => {
  const [enc, dec] = await keyPair();
  const ct = await encrypt(enc, 5n, plaintext);
  const header = decodeHeader(ct)!;
  const forged = new Uint8Array([...encodeHeader(header.kid, 6n), ...ct.subarray(header.length)]);
  assert.equal(await decrypt(dec, forged), null);
});

test("SFrameSender: the CTR starts at 0 and goes up by one per frame, also when concurrent", async () => {
  const [enc, dec] = await keyPair();
  const sender = new SFrameSender(enc);
  assert.equal(sender.counter, 0n);
  const frames = await Promise.all([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map(() => sender.encrypt(plaintext)));
  assert.deepEqual(
    frames.map((f) => decodeHeader(f)!.ctr),
    [0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n],
  );
  assert.equal(sender.counter, 10n);
  for (const f of frames) assert.deepEqual(await decrypt(dec, f), plaintext);
  // Same plaintext, different CTR: different ciphertexts.
  assert.equal(new Set(frames.map(toHex)).size, frames.length);
});

test("SFrameSenders sharing a FrameCounter never give out one CTR twice", async () => {
  const [enc] = await keyPair();
  const counter: FrameCounter = { next: 0n };
  const first = new SFrameSender(enc, counter);
  await first.encrypt(plaintext);
  await first.encrypt(plaintext);
  // The same key again (say, after the keys were forgotten and given back).
  const again = new SFrameSender(enc, counter);
  assert.equal(again.counter, 2n);
  assert.equal(decodeHeader(await again.encrypt(plaintext))!.ctr, 2n);
  assert.equal(first.counter, 3n);
});

// ---- ReplayWindow ----------------------------------------------------------------------------

test("ReplayWindow: each CTR once, in any order within the window; older ones never", () => {
  const w = new ReplayWindow();
  assert.ok(w.accept(10_000n));
  assert.equal(w.accept(10_000n), false, "again");
  assert.ok(w.accept(9_998n), "late, not seen yet");
  assert.ok(w.accept(10_005n), "ahead, with a gap");
  assert.ok(w.accept(9_999n) && w.accept(10_001n), "the gap fills in");
  assert.equal(w.accept(9_998n), false);
  assert.equal(w.accept(10_001n), false);

  const top = 10_005n;
  const oldest = top - BigInt(REPLAY_WINDOW) + 1n;
  assert.equal(w.check(oldest - 1n), false, "just outside the window");
  assert.equal(w.accept(oldest - 1n), false);
  assert.ok(w.check(oldest));
  assert.ok(w.accept(oldest), "just inside the window");
  assert.equal(w.check(oldest), false);
});

test("ReplayWindow: check() changes nothing; the first CTR may be anything", () => {
  const w = new ReplayWindow();
  assert.ok(w.check(7n));
  assert.ok(w.check(7n));
  assert.ok(w.accept(5_000_000n));
  assert.ok(w.accept(5_000_000n - 1n), "a frame just before the first one seen");
  assert.equal(w.accept(0n), false, "far below");
});

test("ReplayWindow: a jump past the whole window forgets what is now too old", () => {
  const w = new ReplayWindow();
  for (let c = 0n; c < 64n; c++) assert.ok(w.accept(c));
  const far = 64n + BigInt(REPLAY_WINDOW) * 3n + 17n;
  assert.ok(w.accept(far));
  // The ring slots CTRs 0..63 used now stand for CTRs of the new window:
  // none of those may look seen.
  for (let c = far - 40n; c < far; c++) assert.ok(w.check(c), `ctr ${c}`);
  assert.equal(w.accept(63n), false, "too old");
});

test("ReplayWindow: CTRs beyond 2^53 - 1 are refused", () => {
  const w = new ReplayWindow();
  assert.ok(w.accept(BigInt(Number.MAX_SAFE_INTEGER)));
  assert.equal(w.accept(BigInt(Number.MAX_SAFE_INTEGER) + 1n), false);
  assert.equal(w.accept(1n << 63n), false);
});

test("ReplayWindow agrees with a plain model over long random runs (reordering, gaps, jumps, ring wraps)", () => {
  // A deterministic generator, so a failure repeats.
  let seed = 0x9e3779b9;
  const rand = (n: number): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  for (let run = 0; run < 20; run++) {
    const w = new ReplayWindow();
    const seen = new Set<number>();
    let top = -1;
    let next = rand(1000);
    for (let i = 0; i < 5000; i++) {
      let ctr: number;
      const r = rand(100);
      if (r < 50) ctr = next++; // in order
      else if (r < 80) ctr = Math.max(0, next - 1 - rand(REPLAY_WINDOW + 64)); // late or repeated, around the edge
      else if (r < 95) ctr = next += rand(200); // a gap (simulcast layers we do not get)
      else ctr = next += rand(4 * REPLAY_WINDOW); // a long jump
      const expected = !seen.has(ctr) && (ctr > top || top - ctr < REPLAY_WINDOW);
      const checked = w.check(BigInt(ctr));
      assert.equal(w.accept(BigInt(ctr)), expected, `run ${run}, step ${i}: ctr ${ctr}, top ${top}`);
      assert.equal(checked, expected);
      if (expected) {
        seen.add(ctr);
        top = Math.max(top, ctr);
      }
    }
  }
});
