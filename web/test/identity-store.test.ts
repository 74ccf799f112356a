import assert from "node:assert/strict";
import { test } from "node:test";
import { accountKey, IdentityStore, MemoryStore, type KeyValueStore } from "../src/e2ee/identity-store.js";
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

test("verified accounts: verified, unverified, another device, guests, forgotten; never by name", async () => {
  let now = 1000;
  const store = new IdentityStore(new MemoryStore(), () => now);
  const laptop = await generateSigningIdentity();
  const phone = await generateSigningIdentity();
  const impostor = await generateSigningIdentity();
  assert.deepEqual(await store.check("acct-bob", laptop.publicKey), { status: "unverified" });
  await store.markVerified("acct-bob", "Bob", laptop.publicKey);
  now = 2000;
  assert.deepEqual(await store.check("acct-bob", laptop.publicKey), { status: "verified", verifiedAt: 1000, name: "Bob" });
  assert.deepEqual(await store.check("acct-bob", impostor.publicKey), {
    status: "key-changed",
    verifiedAt: 1000,
    previousFingerprint: await fingerprint(laptop.publicKey),
  });
  // A second device, verified too: both are Bob's.
  await store.markVerified("acct-bob", "Bob", phone.publicKey);
  assert.equal((await store.check("acct-bob", phone.publicKey)).status, "verified");
  assert.equal((await store.check("acct-bob", laptop.publicKey)).status, "verified");
  // Bob's verified key under another account (or a guest) is not verified there.
  assert.deepEqual(await store.check("acct-mallory", laptop.publicKey), { status: "unverified" });
  assert.deepEqual(await store.check(null, laptop.publicKey), { status: "guest" });
  await assert.rejects(store.markVerified("", "Guest", laptop.publicKey));
  await store.forget("acct-bob");
  assert.deepEqual(await store.check("acct-bob", laptop.publicKey), { status: "unverified" });
});

test("what is stored: the key object, never private key bytes when WebCrypto has Ed25519", async () => {
  const values = new Map<string, unknown>();
  const kv: KeyValueStore = {
    get: async (k) => values.get(k),
    put: async (k, v) => void values.set(k, v),
    add: async (k, v) => {
      if (values.has(k)) return false;
      values.set(k, v);
      return true;
    },
    delete: async (k) => void values.delete(k),
  };
  const store = new IdentityStore(kv);
  await store.identity();
  const rec = values.get("identity") as { privateKey: unknown; publicKey: unknown };
  assert.ok(rec.privateKey instanceof CryptoKey);
  assert.ok(rec.publicKey instanceof Uint8Array);
  assert.equal(accountKey("acct-1"), "verified-account:acct-1");
});
