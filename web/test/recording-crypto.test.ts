import assert from "node:assert/strict";
import { test } from "node:test";
import { MemoryStore } from "../src/e2ee/identity-store.js";
import {
  decryptChunk,
  decryptManifest,
  decryptRecording,
  encryptChunk,
  encryptManifest,
  generateRecordingKeyPair,
  newContentKey,
  RecordingCryptoError,
  unwrapContentKey,
  wrapContentKey,
} from "../src/recording/crypto.js";
import { exportBackup, importBackup, pinStatus, RecordingKeyStore, recordingKeyFingerprint } from "../src/recording/keys.js";

const ID = "rec_8Hx2cQmJ4nT0pV7aLw3sYb";
const OTHER = "rec_AAAAAAAAAAAAAAAAAAAAAA";
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

async function sealed(key: Uint8Array, id: string, parts: string[]): Promise<Uint8Array[]> {
  return Promise.all(parts.map((p, i) => encryptChunk(key, id, i, i === parts.length - 1, bytes(p))));
}

test("a content key wrapped for a reader unwraps with the reader's private key only, and only for its recording", async () => {
  const ada = await generateRecordingKeyPair();
  const bob = await generateRecordingKeyPair();
  const key = newContentKey();
  const wrapped = await wrapContentKey(ada.publicKey, key, ID);
  assert.equal(wrapped.length, 32 + 32 + 16);
  assert.deepEqual(await unwrapContentKey(ada.privateKey, wrapped, ID), key);
  await assert.rejects(unwrapContentKey(bob.privateKey, wrapped, ID), RecordingCryptoError);
  await assert.rejects(unwrapContentKey(ada.privateKey, wrapped, OTHER), RecordingCryptoError);
  const flipped = wrapped.slice();
  flipped[40]! ^= 1;
  await assert.rejects(unwrapContentKey(ada.privateKey, flipped, ID), RecordingCryptoError);
  // Each wrap is fresh: the same key wrapped twice looks different.
  assert.notDeepEqual(await wrapContentKey(ada.publicKey, key, ID), wrapped);
});

test("chunks decrypt in order; reordered, swapped between recordings, truncated or changed chunks fail", async () => {
  const key = newContentKey();
  const parts = ["first", "second", "third"];
  const chunks = await sealed(key, ID, parts);
  assert.deepEqual((await decryptRecording(key, ID, chunks, null)).map(text), parts);
  const manifest = { v: 1 as const, chunks: 3, mimeType: "video/webm", durationMs: 3000 };
  assert.deepEqual((await decryptRecording(key, ID, chunks, manifest)).map(text), parts);

  // Reordered: chunk 1 at index 0 does not open.
  await assert.rejects(decryptRecording(key, ID, [chunks[1]!, chunks[0]!, chunks[2]!], null), RecordingCryptoError);
  // Swapped in from another recording with the same key (a server's trick across recordings of one key): refused by the ID.
  const other = await sealed(key, OTHER, parts);
  await assert.rejects(decryptRecording(key, ID, [chunks[0]!, other[1]!, chunks[2]!], null), RecordingCryptoError);
  // Truncated: without the last chunk, the new end was not sealed as last.
  await assert.rejects(decryptRecording(key, ID, chunks.slice(0, 2), null), /cut off/);
  // Truncated against the manifest's count.
  await assert.rejects(decryptRecording(key, ID, chunks.slice(0, 2), manifest), /should have 3/);
  // A chunk sealed as last cannot be used in the middle.
  await assert.rejects(decryptChunk(key, ID, 2, false, chunks[2]!), RecordingCryptoError);
  // One bit changed.
  const changed = chunks.map((c) => c.slice());
  changed[1]![20]! ^= 0x80;
  await assert.rejects(decryptRecording(key, ID, changed, null), RecordingCryptoError);
  // Another key.
  await assert.rejects(decryptRecording(newContentKey(), ID, chunks, null), RecordingCryptoError);
});

test("a chunk's ciphertext carries nothing of its plaintext", async () => {
  const key = newContentKey();
  const webm = new Uint8Array(4096);
  webm.set([0x1a, 0x45, 0xdf, 0xa3]); // the EBML magic a WebM file starts with
  const c = await encryptChunk(key, ID, 0, false, webm);
  assert.equal(c.length, 1 + 12 + webm.length + 16);
  for (let i = 0; i + 4 <= c.length; i++) {
    assert.ok(!(c[i] === 0x1a && c[i + 1] === 0x45 && c[i + 2] === 0xdf && c[i + 3] === 0xa3), "EBML magic in the ciphertext");
  }
  let zeros = 0;
  for (const b of c.subarray(13)) if (b === 0) zeros++;
  assert.ok(zeros < 64, `${zeros} zero bytes where 4096 zeros were encrypted`);
});

test("the manifest opens with its recording's key and ID only", async () => {
  const key = newContentKey();
  const m = { v: 1 as const, chunks: 7, mimeType: "video/webm;codecs=vp8,opus", durationMs: 21000 };
  const s = await encryptManifest(key, ID, m);
  assert.deepEqual(await decryptManifest(key, ID, s), m);
  await assert.rejects(decryptManifest(key, OTHER, s), RecordingCryptoError);
  // A chunk is not a manifest, nor the other way round.
  const chunk = await encryptChunk(key, ID, 0, true, bytes(JSON.stringify(m)));
  await assert.rejects(decryptManifest(key, ID, chunk), RecordingCryptoError);
  await assert.rejects(decryptChunk(key, ID, 0, true, s), RecordingCryptoError);
});

test("the key store keeps one key pair and refuses a mismatched one", async () => {
  const kv = new MemoryStore();
  const store = new RecordingKeyStore(kv);
  assert.equal(await store.load(), null);
  const kp = await store.create();
  assert.deepEqual(await new RecordingKeyStore(kv).load(), kp);
  const other = await generateRecordingKeyPair();
  await assert.rejects(store.save({ publicKey: kp.publicKey, privateKey: other.privateKey }), RecordingCryptoError);
  await kv.put("key", { publicKey: kp.publicKey, privateKey: other.privateKey, createdAt: 1 });
  assert.equal(await store.load(), null);
});

test("a backup opens with its passphrase only and gives back the same key", async () => {
  const kp = await generateRecordingKeyPair();
  const cost = { N: 2 ** 10 };
  const file = await exportBackup(kp, "correct horse battery", cost);
  assert.ok(!file.includes(Buffer.from(kp.privateKey).toString("base64")), "the private key in clear");
  assert.deepEqual(await importBackup(file, "correct horse battery"), kp);
  await assert.rejects(importBackup(file, "wrong horse battery"), /passphrase is wrong/);
  const o = JSON.parse(file) as Record<string, unknown>;
  const other = await generateRecordingKeyPair();
  o.publicKey = Buffer.from(other.publicKey).toString("base64");
  await assert.rejects(importBackup(JSON.stringify(o), "correct horse battery"), RecordingCryptoError);
  await assert.rejects(importBackup("{}", "x"), /not a Kaigi/);
  await assert.rejects(exportBackup(kp, "short", cost), /at least 10/);
});

test("fingerprints tell keys apart and pins say when one changed", async () => {
  const a = await generateRecordingKeyPair();
  const b = await generateRecordingKeyPair();
  const fa = await recordingKeyFingerprint(a.publicKey);
  assert.match(fa, /^([0-9a-f]{4} ){4}[0-9a-f]{4}$/);
  assert.equal(await recordingKeyFingerprint(a.publicKey), fa);
  const fb = await recordingKeyFingerprint(b.publicKey);
  assert.notEqual(fa, fb);
  assert.equal(pinStatus({}, "ada", fa), "new");
  assert.equal(pinStatus({ ada: fa }, "ada", fa), "same");
  assert.equal(pinStatus({ ada: fa }, "ada", fb), "changed");
});
