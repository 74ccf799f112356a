// The meeting's group outlives the server that relayed for it (e2ee/resume.ts,
// internal/e2ee resume.go): when the meeting's node is lost, the members'
// pages keep their MLS state and the node that takes over continues the
// group from the epoch they prove. Real MLS against the fake delivery
// service, which plays the new node, honest or hostile.

import assert from "node:assert/strict";
import { test } from "node:test";
import { createKeyPackage } from "../src/e2ee/mls.js";
import { toBase64 } from "../src/e2ee/base64.js";
import { generateSigningIdentity } from "../src/e2ee/signing.js";
import { FakeDeliveryService, settle, tick, type Client } from "./e2ee-fake-ds.js";

/**
 * The meeting's node dies; another takes it over. It knows nothing of the
 * group but what the returning members' hellos prove: those in `continuing`
 * go on at their epoch (welcome's e2eeEpoch), nobody else is a member yet.
 */
async function nodeLost(ds: FakeDeliveryService, continuing: Client[]): Promise<void> {
  const epoch = Number(continuing[0]!.member.resumeClaim()!.epoch);
  ds.members = continuing.map((c) => c.id);
  ds.epoch = epoch;
  ds.job = null;
  for (const c of continuing) await c.member.continued(epoch);
}

function claims(cs: Client[]): string[] {
  return cs.map((c) => {
    const k = c.member.resumeClaim();
    return k === null ? "none" : `${k.epoch}:${k.proof}`;
  });
}

test("the group goes on after the meeting's node is lost: same epoch, keys and code; commits and joiners follow; a member who never came back is removed", async () => {
  const ds = new FakeDeliveryService();
  const ada = await ds.join("ada");
  const bob = await ds.join("bob");
  const cy = await ds.join("cy");
  await settle(ds);
  const [a, b, c] = claims([ada, bob, cy]);
  assert.equal(a, b);
  assert.equal(a, c);
  assert.match(a!, /^2:[A-Za-z0-9+/]{43}=$/, "epoch 2 and a 32-byte proof");
  const code = ada.member.securityCode;
  const keys = ada.keys.length;

  await nodeLost(ds, [ada, bob]); // cy's page is gone; she is shown reconnecting until her grace ends
  await settle(ds);
  for (const x of [ada, bob]) {
    assert.equal(x.member.epoch, 2n, x.id);
    assert.equal(x.member.securityCode, code, `${x.id}: the code did not change`);
    assert.deepEqual(x.member.warnings(), [], `${x.id} warned`);
  }
  assert.equal(ada.keys.length, keys, "no new media keys: nothing changed");

  // A joiner is added by a member's commit, as ever, on the continued epoch.
  const dan = await ds.join("dan");
  await settle(ds);
  for (const x of [ada, bob, dan]) assert.equal(x.member.epoch, 3n, x.id);
  assert.equal(dan.member.securityCode, ada.member.securityCode);

  // Cy's grace ends: a member removes her leaf unasked.
  ds.roster.delete("cy");
  await tick(ds, 11_000);
  await tick(ds, 11_000);
  assert.deepEqual(ds.commits.at(-1)?.reason, "remove");
  for (const x of [ada, bob, dan]) {
    assert.equal(x.member.members().length, 3, x.id);
    assert.ok(x.member.members().every((v) => v.problem === null), x.id);
    assert.deepEqual(x.member.warnings(), [], `${x.id} warned`);
  }
  assert.equal(bob.member.securityCode, ada.member.securityCode);
});

test("a member that missed the last commit is told to leave and is added anew, without a host's say; everyone agrees after", async () => {
  const ds = new FakeDeliveryService();
  const ada = await ds.join("ada");
  const bob = await ds.join("bob");
  const cy = await ds.join("cy");
  await settle(ds);
  // The node relays ada's key update to bob, then dies before cy gets it.
  ds.members = ["ada", "bob"];
  ada.member.requestUpdate();
  await tick(ds, 5_000);
  assert.equal(bob.member.epoch, 3n);
  assert.equal(cy.member.epoch, 2n);
  const [a, b, c] = claims([ada, bob, cy]);
  assert.equal(a, b);
  assert.notEqual(a, c);

  // A waiting room, and nobody here admitted cy: a member still re-adds
  // her own device, as its leaf is replaced, not someone new let in.
  ds.mayAdd = () => false;
  await nodeLost(ds, [ada, bob]);
  await cy.member.restarted(); // welcome: e2eeRestart
  await cy.member.renewKeyPackage(); // as her page did after its Welcome (meeting/secure.ts): her hello's
  ds.job = { committer: "ada", add: ["cy"], remove: ["cy"] };
  await ds.deliver("ada", { type: "e2ee_job", create: false, epoch: 3, add: [{ participant: "cy", keyPackage: cy.member.keyPackageBase64() }], remove: [{ participant: "cy", keyPackage: "" }] });
  await settle(ds);
  for (const x of [ada, bob, cy]) {
    assert.equal(x.member.epoch, 4n, x.id);
    assert.equal(x.member.securityCode, ada.member.securityCode, x.id);
    assert.equal(x.member.members().length, 3, x.id);
    assert.deepEqual(x.member.warnings(), [], `${x.id} warned`);
  }
});

test("a participant whose page reloaded during the node loss is added anew as its device's fresh leaf", async () => {
  const ds = new FakeDeliveryService();
  const device = await generateSigningIdentity({ webCrypto: false });
  const ada = await ds.join("ada");
  const bob = await ds.join("bob");
  await ds.join("cy", device);
  await settle(ds);
  ds.mayAdd = () => false;
  await nodeLost(ds, [ada, bob]);
  const cy2 = await ds.join("cy", device, "", true); // same device key (IndexedDB), no MLS state
  ds.job = { committer: "ada", add: ["cy"], remove: ["cy"] };
  await ds.deliver("ada", { type: "e2ee_job", create: false, epoch: 2, add: [{ participant: "cy", keyPackage: cy2.member.keyPackageBase64() }], remove: [{ participant: "cy", keyPackage: "" }] });
  await settle(ds);
  assert.ok(cy2.member.inGroup);
  for (const x of [ada, bob, cy2]) {
    assert.equal(x.member.epoch, 3n, x.id);
    assert.equal(x.member.securityCode, ada.member.securityCode, x.id);
    assert.equal(x.member.members().length, 3, x.id);
  }
});

// ---- the node that takes over as the adversary ------------------------------------

test("the server says the group goes on at an epoch this browser is not at: warned, and the browser keeps its own group", async () => {
  const ds = new FakeDeliveryService();
  const ada = await ds.join("ada");
  const bob = await ds.join("bob");
  await settle(ds);
  const code = bob.member.securityCode;
  await bob.member.continued(7);
  assert.equal(bob.member.epoch, 1n);
  assert.equal(bob.member.securityCode, code);
  assert.match(bob.member.warnings().at(-1)!.text, /goes on at epoch 7, but this browser is at epoch 1/);
  // Nor can the server make it go back: an old epoch's commit, replayed
  // after the resume, changes nothing.
  const replay = ds.commits[0]!;
  await assert.rejects(ds.deliver("bob", { type: "e2ee_commit", epoch: 1, from: "ada", commit: replay.commit }), /epoch too old/);
  await bob.member.settled();
  assert.equal(bob.member.epoch, 1n);
  assert.equal(bob.member.securityCode, ada.member.securityCode);
});

test("during a resume the server cannot slip anyone in: not as a rejoiner, nor as another device of a member", async () => {
  const ds = new FakeDeliveryService();
  const ada = await ds.join("ada");
  const bob = await ds.join("bob");
  await settle(ds);
  ds.mayAdd = () => false; // a waiting room; ada admitted nobody
  await nodeLost(ds, [ada]);
  // Eve, whom the roster shows, is passed off as someone back from the lost group.
  const eve = await ds.join("eve", undefined, "", true);
  ds.job = { committer: "ada", add: ["eve"], remove: ["eve"] };
  await ds.deliver("ada", { type: "e2ee_job", create: false, epoch: 1, add: [{ participant: "eve", keyPackage: eve.member.keyPackageBase64() }], remove: [{ participant: "eve", keyPackage: "" }] });
  // The server's own key passed off as bob's fresh leaf.
  const ghost = await createKeyPackage(await generateSigningIdentity({ webCrypto: false }));
  ds.job = { committer: "ada", add: ["bob"], remove: ["bob"] };
  await ds.deliver("ada", { type: "e2ee_job", create: false, epoch: 1, add: [{ participant: "bob", keyPackage: toBase64(ghost.bytes) }], remove: [{ participant: "bob", keyPackage: "" }] });
  await settle(ds);
  assert.equal(ds.epoch, 1, "ada committed neither");
  assert.equal(ada.member.epoch, 1n);
  assert.equal(ada.member.members().length, 2);
  assert.equal(bob.member.securityCode, ada.member.securityCode);
  assert.equal(eve.member.inGroup, false);
});

test("the server cannot have a member re-add a device with a KeyPackage whose leaf the group already had: the leaf it replaces, or an earlier one", async () => {
  // A page makes a fresh KeyPackage after each Welcome (meeting/secure.ts),
  // so a device back for a fresh leaf never brings one the group saw. A
  // KeyPackage the group saw is one the server kept: re-adding it would
  // bring back leaf keys the device has since replaced (or never held
  // again), without a host's say.
  const ds = new FakeDeliveryService();
  const device = await generateSigningIdentity({ webCrypto: false });
  const ada = await ds.join("ada");
  const bob = await ds.join("bob");
  await ds.join("cy", device);
  await settle(ds);
  const cyFirst = ds.keyPackages.get("cy")!;
  await ds.leave("cy");
  await settle(ds);
  await ds.join("cy", device); // the same device back, with a fresh leaf
  await settle(ds);
  assert.equal(ada.member.members().length, 3);
  const epoch = ds.epoch;

  ds.mayAdd = () => false; // a waiting room; ada admitted nobody
  await nodeLost(ds, [ada, bob]);
  // Bob's own leaf, replaced by the very KeyPackage it was made from.
  ds.job = { committer: "ada", add: ["bob"], remove: ["bob"] };
  await ds.deliver("ada", { type: "e2ee_job", create: false, epoch, add: [{ participant: "bob", keyPackage: ds.keyPackages.get("bob")! }], remove: [{ participant: "bob", keyPackage: "" }] });
  await settle(ds);
  // Cy's leaf, replaced by the KeyPackage of her device's earlier leaf.
  ds.job = { committer: "ada", add: ["cy"], remove: ["cy"] };
  await ds.deliver("ada", { type: "e2ee_job", create: false, epoch, add: [{ participant: "cy", keyPackage: cyFirst }], remove: [{ participant: "cy", keyPackage: "" }] });
  await settle(ds);
  assert.equal(ds.epoch, epoch, "ada committed neither");
  assert.equal(ada.member.epoch, BigInt(epoch));
  assert.equal(bob.member.epoch, BigInt(epoch));
  assert.equal(ada.member.members().length, 3);
  assert.equal(bob.member.securityCode, ada.member.securityCode);
});
