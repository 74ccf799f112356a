import assert from "node:assert/strict";
import { test } from "node:test";
import { EPOCH_BITS, kidFor, MediaKeyStore, parseKid, type EpochKeys, type ReceiverKey } from "../src/e2ee/media-keys.js";
import { decodeHeader, decrypt, deriveKey, encrypt } from "../src/e2ee/sframe.js";

const secret = (n: number): Uint8Array => new Uint8Array(16).fill(n);
const keys = (epoch: bigint, own: number, extra: Partial<EpochKeys> = {}): EpochKeys => ({
  epoch,
  epochSecret: secret(Number(epoch) + 1),
  ownLeafIndex: own,
  ...extra,
});

test("KID = leaf index << E | epoch mod 2^E, as in RFC 9605 Figure 9 (E = 4)", () => {
  assert.equal(EPOCH_BITS, 4);
  assert.equal(kidFor(3, 14n), 0x3en);
  assert.equal(kidFor(7, 14n), 0x7en);
  assert.equal(kidFor(20, 14n), 0x14en);
  assert.equal(kidFor(3, 15n), 0x3fn);
  assert.equal(kidFor(33, 17n), 0x211n);
  assert.equal(kidFor(51, 17n), 0x331n);
  assert.deepEqual(parseKid(0x331n), { leafIndex: 51, epochBits: 1 });
  assert.equal(parseKid(1n << 40n), null, "context bits or absurd leaf index");
  assert.throws(() => kidFor(-1, 0n), RangeError);
});

test("each sender in an epoch has its own key, the same on every member", async () => {
  // Alice (leaf 0) and Bob (leaf 1) share the epoch secret.
  const alice = new MediaKeyStore();
  const bob = new MediaKeyStore();
  alice.setKeys(keys(5n, 0));
  bob.setKeys(keys(5n, 1));
  const aliceSender = (await alice.sender())!;
  const bobSender = (await bob.sender())!;
  assert.equal(aliceSender.key.kid, kidFor(0, 5n));
  assert.equal(bobSender.key.kid, kidFor(1, 5n));
  assert.notDeepEqual(aliceSender.key.salt, bobSender.key.salt);

  const frame = await aliceSender.encrypt(new Uint8Array([1, 2, 3]));
  const found = (await bob.receiverKey(decodeHeader(frame)!.kid)) as ReceiverKey;
  assert.equal(found.leafIndex, 0);
  assert.equal(found.epoch, 5n);
  assert.deepEqual(await decrypt(found.key, frame), new Uint8Array([1, 2, 3]));

  // The key Bob derived for Alice is RFC 9605's derive_key_salt(KID, epoch secret).
  const direct = await deriveKey(secret(6), kidFor(0, 5n), "decrypt");
  assert.deepEqual(direct.salt, found.key.salt);
  assert.deepEqual(await decrypt(direct, frame), new Uint8Array([1, 2, 3]));
});

test("one sender per epoch: every stream shares its counter", async () => {
  const store = new MediaKeyStore();
  store.setKeys(keys(1n, 2));
  assert.equal(store.sender(), store.sender());
  // The same keys again keep the counter going.
  const s = (await store.sender())!;
  await s.encrypt(new Uint8Array(1));
  store.setKeys(keys(1n, 2));
  assert.equal(await store.sender(), s);
  assert.equal(s.counter, 1n);
});

test("no sender and no keys before the first epoch", async () => {
  const store = new MediaKeyStore();
  assert.equal(store.sender(), null);
  assert.equal(store.currentEpoch, null);
  assert.equal(await store.receiverKey(kidFor(1, 0n)), "unknown-epoch");
});

test("own KID, non-members and bad KIDs find no key", async () => {
  const store = new MediaKeyStore();
  store.setKeys(keys(3n, 1, { memberLeafIndices: [0, 1, 4] }));
  assert.equal(await store.receiverKey(kidFor(1, 3n)), "own-kid");
  assert.equal(await store.receiverKey(kidFor(2, 3n)), "not-member");
  assert.equal(((await store.receiverKey(kidFor(4, 3n))) as ReceiverKey).leafIndex, 4);
  assert.equal(await store.receiverKey(1n << 30n), "bad-kid");
  assert.equal(await store.receiverKey(kidFor(0, 4n)), "unknown-epoch");
});

test("previous epochs decrypt late frames until retireAfterMs, then are forgotten", async () => {
  let now = 1000;
  const sender = new MediaKeyStore();
  const receiver = new MediaKeyStore({ now: () => now, retireAfterMs: 5000 });
  sender.setKeys(keys(7n, 0));
  receiver.setKeys(keys(7n, 1));
  const late = await (await sender.sender())!.encrypt(new Uint8Array([7]));

  sender.setKeys(keys(8n, 0));
  receiver.setKeys(keys(8n, 1));
  now += 4000;
  const k = (await receiver.receiverKey(decodeHeader(late)!.kid)) as ReceiverKey;
  assert.equal(k.epoch, 7n);
  assert.deepEqual(await decrypt(k.key, late), new Uint8Array([7]));
  const fresh = await (await sender.sender())!.encrypt(new Uint8Array([8]));
  assert.equal(((await receiver.receiverKey(decodeHeader(fresh)!.kid)) as ReceiverKey).epoch, 8n);

  now += 1001;
  assert.equal(await receiver.receiverKey(decodeHeader(late)!.kid), "unknown-epoch");
  assert.equal(((await receiver.receiverKey(decodeHeader(fresh)!.kid)) as ReceiverKey).epoch, 8n);
});

test("only `previousEpochs` old epochs are kept, and a wrapped epoch replaces its namesake", async () => {
  const store = new MediaKeyStore({ previousEpochs: 2, now: () => 0 });
  for (const e of [1n, 2n, 3n, 4n]) store.setKeys(keys(e, 0));
  assert.equal(await store.receiverKey(kidFor(1, 1n)), "unknown-epoch");
  assert.equal(((await store.receiverKey(kidFor(1, 2n))) as ReceiverKey).epoch, 2n);
  assert.equal(((await store.receiverKey(kidFor(1, 3n))) as ReceiverKey).epoch, 3n);

  // Epoch 18 has the same low 4 bits as epoch 2: epoch 2 must go (RFC 9605 §5.2).
  store.setKeys(keys(18n, 0));
  assert.equal(((await store.receiverKey(kidFor(1, 2n))) as ReceiverKey).epoch, 18n);
});

test("epochs only go forward; clear() starts afresh", async () => {
  const store = new MediaKeyStore();
  store.setKeys(keys(5n, 0));
  assert.throws(() => store.setKeys(keys(4n, 0)));
  assert.throws(() => store.setKeys({ ...keys(5n, 0), epochSecret: secret(99) }));
  store.clear();
  assert.equal(store.currentEpoch, null);
  store.setKeys(keys(1n, 0));
  assert.equal(store.currentEpoch, 1n);
});

test("a frame from a removed member's old epoch key is refused once the window closed", async () => {
  let now = 0;
  const store = new MediaKeyStore({ now: () => now, retireAfterMs: 2000 });
  store.setKeys(keys(2n, 0));
  store.setKeys(keys(3n, 0, { memberLeafIndices: [0, 1] })); // leaf 2 removed
  // The removed member still knows epoch 2's secret and forges a frame.
  const forged = await encrypt(await deriveKey(secret(3), kidFor(2, 2n), "encrypt"), 0n, new Uint8Array([6]));
  now = 2001;
  assert.equal(await store.receiverKey(decodeHeader(forged)!.kid), "unknown-epoch");
  // In the new epoch it is no member, and it does not know the secret anyway.
  assert.equal(await store.receiverKey(kidFor(2, 3n)), "not-member");
});
