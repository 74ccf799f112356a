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

// ---- a group created again, and the sending counter ----------------------------------------

test("keys of a new group replace the old ones, even at a lower epoch; its own epochs then only go forward", async () => {
  const store = new MediaKeyStore();
  store.setKeys(keys(5n, 0, { groupInstance: "a" }));
  store.setKeys(keys(6n, 0, { groupInstance: "a" }));
  assert.throws(() => store.setKeys(keys(4n, 0, { groupInstance: "a" })), "an older epoch of the same group");
  // The server restarted: the meeting's group is created again at epoch 0.
  assert.equal(store.setKeys(keys(0n, 2, { groupInstance: "b" })), true);
  assert.equal(store.currentEpoch, 0n);
  assert.equal((await store.sender())!.key.kid, kidFor(2, 0n));
  // The old group's keys are gone, previous epochs too.
  assert.equal(await store.receiverKey(kidFor(1, 5n)), "unknown-epoch");
  assert.equal(await store.receiverKey(kidFor(1, 6n)), "unknown-epoch");

  store.setKeys(keys(1n, 2, { groupInstance: "b" }));
  assert.throws(() => store.setKeys(keys(0n, 2, { groupInstance: "b" })), "an older epoch of the new group");
  assert.throws(() => store.setKeys({ ...keys(1n, 2, { groupInstance: "b" }), epochSecret: secret(99) }), "same epoch, another secret");
  assert.throws(() => store.setKeys(keys(0n, 2)), "no group named: the current group");
  assert.equal(store.currentEpoch, 1n);
  assert.equal(store.setKeys(keys(1n, 2, { groupInstance: "b" })), false, "the same keys again");
});

test("no CTR is handed out twice, even when the same keys come back after clear() or under a new group name", async () => {
  const store = new MediaKeyStore();
  store.setKeys(keys(3n, 0));
  const first = (await store.sender())!;
  await first.encrypt(new Uint8Array(1));
  await first.encrypt(new Uint8Array(1));
  store.clear();
  store.setKeys(keys(3n, 0));
  const again = (await store.sender())!;
  assert.notEqual(again, first);
  assert.equal(again.key.kid, first.key.kid);
  assert.equal(again.counter, 2n, "the counter went on");
  // A page that names a new group but hands the same keys: still the same sender.
  assert.equal(store.setKeys(keys(3n, 0, { groupInstance: "x" })), false);
  assert.equal(await store.sender(), again);
});

test("one replay window per sender and epoch, shared by every lookup; a new group starts afresh", async () => {
  const store = new MediaKeyStore();
  store.setKeys(keys(2n, 0, { groupInstance: "a" }));
  const a1 = (await store.receiverKey(kidFor(1, 2n))) as ReceiverKey;
  const a1again = (await store.receiverKey(kidFor(1, 2n))) as ReceiverKey;
  const a3 = (await store.receiverKey(kidFor(3, 2n))) as ReceiverKey;
  assert.equal(a1.window, a1again.window, "all of leaf 1's streams share its window");
  assert.notEqual(a1.window, a3.window);
  assert.ok(a1.window.accept(7n));
  assert.equal(a1again.window.check(7n), false);
  assert.ok(a3.window.check(7n));

  store.setKeys(keys(2n, 0, { groupInstance: "b", epochSecret: secret(50) }));
  const b1 = (await store.receiverKey(kidFor(1, 2n))) as ReceiverKey;
  assert.notEqual(b1.window, a1.window);
  assert.ok(b1.window.check(7n), "the new group's sender counts from wherever it starts");
});
