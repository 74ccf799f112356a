import assert from "node:assert/strict";
import { test } from "node:test";
import { IdentityStore, MemoryStore, personKey, type KeyValueStore } from "../src/e2ee/identity-store.js";
import { fingerprint } from "../src/e2ee/securitycode.js";
import { generateSigningIdentity, sign, verify } from "../src/e2ee/signing.js";

test("the identity is created once, then the same one comes back", async () => {
  const kv = new MemoryStore();
  const first = await new IdentityStore(kv).identity();
  const again = await new IdentityStore(kv).identity();
  assert.deepEqual(again.publicKey, first.publicKey);
  assert.equal(again.privateKey, first.privateKey);
  assert.ok(first.privateKey instanceof CryptoKey);
  assert.equal((first.privateKey as CryptoKey).extractable, false);
  const msg = new Uint8Array([1, 2, 3]);
  assert.ok(await verify(first.publicKey, msg, await sign(again.privateKey, msg)));
});

test("two tabs creating an identity at once end up with the same one", async () => {
  const kv = new MemoryStore();
  const [a, b] = await Promise.all([new IdentityStore(kv).identity(), new IdentityStore(kv).identity()]);
  assert.deepEqual(a.publicKey, b.publicKey);
});

test("a damaged or mismatched stored identity is replaced", async () => {
  const kv = new MemoryStore();
  const x = await generateSigningIdentity();
  const y = await generateSigningIdentity();
  await kv.put("identity", { publicKey: x.publicKey, privateKey: y.privateKey, createdAt: 1 });
  const id = await new IdentityStore(kv).identity();
  assert.notDeepEqual(id.publicKey, x.publicKey);
  assert.deepEqual(await new IdentityStore(kv).identity(), id);
  await kv.put("identity", "garbage");
  assert.notDeepEqual((await new IdentityStore(kv).identity()).publicKey, id.publicKey);
});

test("a seed identity (no WebCrypto Ed25519) is stored and loaded too", async () => {
  const kv = new MemoryStore();
  const seed = await generateSigningIdentity({ webCrypto: false });
  await kv.put("identity", { ...seed, createdAt: 1 });
  assert.deepEqual((await new IdentityStore(kv).identity()).publicKey, seed.publicKey);
});

test("verified people: verified, unverified, key changed, forgotten", async () => {
  let now = 1000;
  const store = new IdentityStore(new MemoryStore(), () => now);
  const bob = await generateSigningIdentity();
  const impostor = await generateSigningIdentity();
  assert.deepEqual(await store.check("Bob", bob.publicKey), { status: "unverified" });
  await store.markVerified("Bob", bob.publicKey);
  now = 2000;
  assert.deepEqual(await store.check("Bob", bob.publicKey), { status: "verified", verifiedAt: 1000 });
  // Case, width and surrounding space do not make another person.
  assert.deepEqual(await store.check("  ＢＯＢ ", bob.publicKey), { status: "verified", verifiedAt: 1000 });
  assert.deepEqual(await store.check("Bob", impostor.publicKey), {
    status: "key-changed",
    verifiedAt: 1000,
    previousFingerprint: await fingerprint(bob.publicKey),
  });
  assert.deepEqual(await store.check("Carol", bob.publicKey), { status: "unverified" });
  await store.forget("bob");
  assert.deepEqual(await store.check("Bob", bob.publicKey), { status: "unverified" });
});

test("what is stored: the key object, never private key bytes when WebCrypto has Ed25519", async () => {
  const values = new Map<string, unknown>();
  const kv: KeyValueStore = {
    get: async (k) => values.get(k),
    put: async (k, v) => void values.set(k, v),
    add: async (k, v) => (values.has(k) ? false : (values.set(k, v), true)),
    delete: async (k) => void values.delete(k),
  };
  const store = new IdentityStore(kv);
  await store.identity();
  const rec = values.get("identity") as { privateKey: unknown; publicKey: unknown };
  assert.ok(rec.privateKey instanceof CryptoKey);
  assert.ok(rec.publicKey instanceof Uint8Array);
  // Remembered by normalised name: "Ada" + combining acute is "adá".
  assert.equal(personKey(" Ada\u0301 "), "verified:ad\u00e1");
});
