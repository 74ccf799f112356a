// The meeting-level E2EE controller (src/e2ee/member.ts) against a fake
// delivery service that follows the server's rules (internal/e2ee): the
// first participant creates the group, the longest-present member commits
// adds and removals, one commit per epoch, relays to the right members.
// Real MLS (ts-mls) throughout.

import assert from "node:assert/strict";
import { test } from "node:test";
import { fromBase64, toBase64 } from "../src/e2ee/base64.js";
import { createCommit, encodeMlsMessage, proposeAddExternal } from "ts-mls";
import { padded, type GroupMember } from "../src/e2ee/member.js";
import { clock, FakeDeliveryService, settle, tick, type Client } from "./e2ee-fake-ds.js";
import { createKeyPackage, Group, hostileAccess, keyPackageSecretsForTests as secretsOf } from "../src/e2ee/mls.js";
import { generateSigningIdentity } from "../src/e2ee/signing.js";

test("three members: same epoch, keys and security code; the code changes when someone joins", async () => {
  const ds = new FakeDeliveryService();
  const ada = await ds.join("ada");
  const bob = await ds.join("bob");
  await settle(ds);
  assert.ok(ada.member.inGroup && bob.member.inGroup);
  const codeOfTwo = ada.member.securityCode;
  assert.match(codeOfTwo, /^\d{5}( \d{5}){5}$/);
  assert.equal(bob.member.securityCode, codeOfTwo);

  const cy = await ds.join("cy");
  await settle(ds);
  for (const c of [ada, bob, cy]) {
    assert.equal(c.member.epoch, 2n);
    assert.equal(c.keys.at(-1)!.epoch, 2n);
  }
  assert.deepEqual(ada.keys.at(-1)!.epochSecret, cy.keys.at(-1)!.epochSecret, "the same media base key");
  assert.equal(cy.member.securityCode, ada.member.securityCode);
  assert.equal(bob.member.securityCode, ada.member.securityCode);
  assert.notEqual(ada.member.securityCode, codeOfTwo, "the code changes with membership");

  // Everyone's member list binds each leaf to the participant it announced.
  for (const c of [ada, bob, cy]) {
    const views = c.member.members();
    assert.deepEqual(views.map((v) => v.participant).sort(), ["ada", "bob", "cy"]);
    assert.ok(views.every((v) => !v.conflict && /^[0-9a-f]{4}( [0-9a-f]{4}){4}$/.test(v.fingerprint)));
    assert.equal(views.filter((v) => v.self).length, 1);
  }
});

test("chat is relayed as ciphertext and arrives with its authenticated sender", async () => {
  const ds = new FakeDeliveryService();
  const ada = await ds.join("ada");
  const bob = await ds.join("bob");
  const cy = await ds.join("cy");
  await settle(ds);
  await bob.member.sendApplication("chat", { text: "the launch codes are 0000" });
  await settle(ds);
  for (const c of [ada, cy]) {
    const m = c.apps.find((a) => a.kind === "chat");
    assert.ok(m, `${c.id} got the chat`);
    assert.deepEqual(m.body, { text: "the launch codes are 0000" });
    assert.equal(m.claimed, "bob");
    assert.equal(m.from, "bob");
  }
  const relayed = ds.relayed.find((r) => r.kind === "chat")!;
  const wire = new TextDecoder("latin1").decode(fromBase64(relayed.data));
  assert.ok(!wire.includes("launch codes"), "the relay saw only ciphertext");

  // Private: only Cy gets it.
  await ada.member.sendApplication("chat", { text: "psst" }, "cy");
  await settle(ds);
  assert.equal(bob.apps.filter((a) => a.kind === "chat").length, 0);
  assert.ok(cy.apps.some((a) => a.private && (a.body as { text: string }).text === "psst"));
});

test("a removed member cannot read what follows; the rest agree on the new epoch", async () => {
  const ds = new FakeDeliveryService();
  const ada = await ds.join("ada");
  const bob = await ds.join("bob");
  const cy = await ds.join("cy");
  await settle(ds);
  ds.clients.delete("ada"); // Ada's page is gone; her state is kept for the test
  await ds.leave("ada");
  await settle(ds);
  assert.equal(bob.member.epoch, 3n);
  assert.equal(cy.member.securityCode, bob.member.securityCode);
  assert.deepEqual(bob.member.members().map((v) => v.participant).sort(), ["bob", "cy"]);

  await bob.member.sendApplication("chat", { text: "after Ada" });
  await settle(ds);
  const after = ds.relayed.filter((r) => r.kind === "chat").at(-1)!;
  await ada.member.handle({ type: "e2ee_message", from: "bob", epoch: 3, kind: "chat", data: after.data, private: false });
  assert.equal(ada.apps.filter((a) => a.kind === "chat").length, 0, "Ada decrypted a message of an epoch she is not in");
  assert.notEqual(ada.keys.at(-1)!.epoch, 3n);
});

test("a server that relabels a message's kind gets it dropped", async () => {
  const ds = new FakeDeliveryService();
  const ada = await ds.join("ada");
  const bob = await ds.join("bob");
  await settle(ds);
  const before = bob.apps.length;
  await ada.member.sendApplication("reaction", { emoji: "👍" });
  const sent = ada.outbox.splice(0).find((m) => m.type === "e2ee_message")!;
  assert.ok(sent.type === "e2ee_message");
  await bob.member.handle({ type: "e2ee_message", from: "ada", epoch: sent.epoch, kind: "chat", data: sent.data, private: false });
  assert.equal(bob.apps.length, before, "a message whose envelope kind differs from the inner one was shown");
  // And bytes that are not MLS at all are dropped too.
  await bob.member.handle({ type: "e2ee_message", from: "ada", epoch: 1, kind: "chat", data: toBase64(new TextEncoder().encode("plain text")), private: false });
  assert.equal(bob.apps.length, before);
});

// ---- the delivery service as the adversary ------------------------------------------------

const MEETING = "7k3m-q9xd-2hfa-b8rn";

test("a proposal the server injects is refused with a warning, and the next honest add carries only the joiner", async () => {
  const ds = new FakeDeliveryService();
  const ada = await ds.join("ada");
  const bob = await ds.join("bob");
  await settle(ds);
  // The server's own leaf, as a new_member_proposal (needs only group id and epoch).
  const ghost = await createKeyPackage(await generateSigningIdentity({ webCrypto: false }));
  const { publicPackage, privatePackage } = secretsOf(ghost);
  const { state, cs } = hostileAccess((ada.member as unknown as { group: Group }).group);
  const proposal = encodeMlsMessage(await proposeAddExternal({ groupContext: state.groupContext } as never, publicPackage, privatePackage, cs));
  await ds.deliver("ada", { type: "e2ee_message", from: "bob", epoch: 1, kind: "chat", data: toBase64(proposal), private: false });
  assert.ok(ada.member.warnings().some((w) => w.text.includes("proposal outside a commit")), "Ada was told");
  const cy = await ds.join("cy");
  await settle(ds);
  for (const c of [ada, bob, cy]) assert.equal(c.member.members().length, 3, `${c.id} sees three keys, not four`);
  assert.equal(cy.member.securityCode, ada.member.securityCode);
});

test("a commit adding someone the meeting does not have is refused by the other members", async () => {
  const ds = new FakeDeliveryService();
  const ada = await ds.join("ada");
  const bob = await ds.join("bob");
  await settle(ds);
  // Ada's client is made to add "mallory", who is not in the meeting (the
  // server tells Ada so, but Bob's roster has no mallory).
  const mallory = await createKeyPackage(await generateSigningIdentity({ webCrypto: false }));
  ds.roster.add("mallory");
  ds.job = { committer: "ada", add: [], remove: [] };
  await ds.deliver("ada", { type: "e2ee_job", create: false, epoch: 1, add: [{ participant: "mallory", keyPackage: toBase64(mallory.bytes) }], remove: [] });
  ds.roster.delete("mallory");
  const commit = ada.outbox.find((m) => m.type === "e2ee_commit");
  assert.ok(commit && commit.type === "e2ee_commit");
  await bob.member.handle({ type: "e2ee_commit", epoch: 2, from: "ada", commit: commit.commit });
  assert.equal(bob.member.epoch, 1n, "Bob did not move to the epoch with Mallory in it");
  assert.ok(bob.member.warnings().some((w) => w.text.includes("mallory, who is not in the meeting")));
});

test("a member who claims to be someone else than it was added as is flagged on every screen", async () => {
  const ds = new FakeDeliveryService();
  const ada = await ds.join("ada");
  const bob = await ds.join("bob");
  await settle(ds);
  // Cy's client lies: it announces itself as Bob.
  const cy = await ds.join("cy");
  cy.member.setSelf("bob", "BOB");
  ds.roster.add("cy");
  await cy.member.sendApplication("presence", { participant: "bob", name: "BOB" });
  await settle(ds);
  for (const c of [ada, bob]) {
    const problems = c.member.members().map((v) => v.problem);
    assert.ok(problems.includes("conflict") || problems.includes("mismatch"), `${c.id}: ${JSON.stringify(problems)}`);
  }
});

test("a leaf that never says who it is becomes a problem after the grace period", async () => {
  const ds = new FakeDeliveryService();
  const ada = await ds.join("ada");
  const bob = await ds.join("bob");
  await settle(ds);
  // A joiner whose client stays silent (the server's own key, say).
  const silent = await createKeyPackage(await generateSigningIdentity({ webCrypto: false }));
  ds.roster.add("quiet");
  ds.job = { committer: "ada", add: ["quiet"], remove: [] };
  await ds.deliver("ada", { type: "e2ee_job", create: false, epoch: 1, add: [{ participant: "quiet", keyPackage: toBase64(silent.bytes) }], remove: [] });
  ds.clients.set("quiet", { id: "quiet", keys: [], apps: [], outbox: [], member: { handle: async () => {}, settled: async () => {}, maintain: async () => {} } as unknown as GroupMember });
  await settle(ds);
  const leaf = (c: Client) => c.member.members().find((v) => !v.self && v.participant === null)!;
  assert.equal(leaf(bob).joining, true);
  assert.equal(leaf(bob).problem, null);
  await tick(ds, 6_000);
  assert.equal(leaf(bob).problem, "unclaimed");
  assert.equal(leaf(ada).problem, "unclaimed");
});

test("a departed participant's leaf is removed by the members even if the server never asks", async () => {
  const ds = new FakeDeliveryService();
  const ada = await ds.join("ada");
  const bob = await ds.join("bob");
  const cy = await ds.join("cy");
  await settle(ds);
  const epoch = ada.member.epoch!;
  // Cy leaves the meeting; the hostile server keeps her in the group.
  ds.roster.delete("cy");
  ds.clients.delete("cy");
  await tick(ds, 2_000);
  assert.equal(ada.member.epoch, epoch, "not before the grace period");
  await tick(ds, 10_000);
  await tick(ds, 1_000);
  assert.equal(ada.member.members().length, 2);
  assert.equal(bob.member.members().length, 2);
  assert.ok(ds.commits.some((c) => c.reason === "remove" && c.from === "ada"), "the first member removed her");
  assert.equal(bob.member.securityCode, ada.member.securityCode);
  // Cy's client can read nothing sent now.
  await bob.member.sendApplication("chat", { text: "after Cy" });
  await settle(ds);
  const after = ds.relayed.at(-1)!;
  await cy.member.handle({ type: "e2ee_message", from: "bob", epoch: Number(bob.member.epoch), kind: "chat", data: after.data, private: false });
  assert.equal(cy.apps.filter((a) => a.kind === "chat").length, 0);
});

test("members commit a key update every few minutes and on request; everyone follows", async () => {
  const ds = new FakeDeliveryService();
  const ada = await ds.join("ada");
  const bob = await ds.join("bob");
  await settle(ds);
  const code = ada.member.securityCode;
  await tick(ds, 60_000);
  assert.equal(ada.member.epoch, 1n);
  await tick(ds, 5 * 60_000);
  assert.equal(ada.member.epoch, 2n, "one update, not one per member");
  assert.equal(bob.member.epoch, 2n);
  assert.ok(ds.commits.some((c) => c.reason === "update"));
  assert.notEqual(ada.member.securityCode, code);
  assert.equal(bob.member.securityCode, ada.member.securityCode);
  assert.notDeepEqual(ada.keys.at(-1)!.epochSecret, ada.keys.at(-2)!.epochSecret);
  bob.member.requestUpdate();
  await tick(ds, 5_000);
  assert.equal(ada.member.epoch, 3n);
});

test("private chat is sealed to its addressee: other members, a redirect and a relabelled flag get nothing", async () => {
  const ds = new FakeDeliveryService();
  const ada = await ds.join("ada");
  const bob = await ds.join("bob");
  const cy = await ds.join("cy");
  await settle(ds);
  await ada.member.sendApplication("chat", { text: "for Cy only" }, "cy");
  const sent = ds.relayed.length;
  await settle(ds);
  const wire = ds.relayed[sent] ?? ds.relayed.at(-1)!;
  assert.ok(cy.apps.some((a) => a.private && (a.body as { text: string }).text === "for Cy only"));
  // The server hands the same ciphertext to Bob, flagged or not.
  for (const flag of [true, false]) {
    await bob.member.handle({ type: "e2ee_message", from: "ada", epoch: Number(ada.member.epoch), kind: "chat", data: wire.data, private: flag });
  }
  assert.equal(bob.apps.filter((a) => a.kind === "chat").length, 0, "Bob read a message sealed to Cy");
  // A group message the server marks private is shown as what it is.
  await ada.member.sendApplication("chat", { text: "for all" });
  const group = ada.outbox.find((m) => m.type === "e2ee_message" && m.kind === "chat")!;
  ada.outbox.length = 0;
  assert.ok(group.type === "e2ee_message");
  await bob.member.handle({ type: "e2ee_message", from: "ada", epoch: group.epoch, kind: "chat", data: group.data, private: true });
  const got = bob.apps.find((a) => a.kind === "chat");
  assert.ok(got && got.private === false, "the envelope's private flag is not believed");
  // Messages are padded: a short and a longer chat have the same size on the wire.
  await ada.member.sendApplication("chat", { text: "a" });
  await ada.member.sendApplication("chat", { text: "a".repeat(150) });
  const [x, y] = ada.outbox.filter((m) => m.type === "e2ee_message").map((m) => (m.type === "e2ee_message" ? fromBase64(m.data).length : 0));
  assert.equal(x, y);
});

test("the server cannot swap a member into another group or make it start a new one", async () => {
  const ds = new FakeDeliveryService();
  await ds.join("ada");
  const bob = await ds.join("bob");
  await settle(ds);
  const code = bob.member.securityCode;
  // The server runs a group of its own and Welcomes Bob into it (with the
  // KeyPackage Bob sent in hello).
  const ghost = await createKeyPackage(await generateSigningIdentity({ webCrypto: false }));
  const theirs = await Group.create(ghost, new TextEncoder().encode(`kaigi meeting ${MEETING}`));
  const kp = fromBase64(bob.member.keyPackageBase64());
  const add = await theirs.commitAdd([{ participant: "bob", keyPackage: kp }]);
  await bob.member.handle({ type: "e2ee_welcome", epoch: 1, welcome: toBase64(add.welcome!) });
  assert.equal(bob.member.securityCode, code, "Bob stayed in the real group");
  assert.ok(bob.member.warnings().some((w) => w.text.includes("another encrypted group")));
  await bob.member.handle({ type: "e2ee_job", create: true, epoch: 0, add: [], remove: [] });
  assert.equal(bob.member.securityCode, code);
  assert.equal(bob.member.warnings().length, 2);
});

test("two tabs of one browser (one device key) both get in, each with its own leaf", async () => {
  const ds = new FakeDeliveryService();
  const device = await generateSigningIdentity({ webCrypto: false });
  await ds.join("ada");
  const ada = ds.clients.get("ada")!;
  const tab1 = await ds.join("tab1", device);
  const tab2 = await ds.join("tab2", device);
  await settle(ds);
  for (const c of [ada, tab1, tab2]) assert.equal(c.member.members().length, 3, c.id);
  const fps = ada.member.members().filter((v) => !v.self).map((v) => v.fingerprint);
  assert.equal(fps[0], fps[1], "one device, one fingerprint");
  assert.ok(ada.member.members().every((v) => v.problem === null));
});

test("after a reset (the server started afresh) the member joins a new group at epoch 0, and is told to compare the code", async () => {
  const ds = new FakeDeliveryService();
  const ada = await ds.join("ada");
  await ds.join("bob");
  await settle(ds);
  await ada.member.reset();
  await ada.member.renewKeyPackage();
  await ds.deliver("ada", { type: "e2ee_job", create: true, epoch: 0, add: [], remove: [] });
  assert.equal(ada.member.epoch, 0n);
  assert.equal(ada.keys.at(-1)!.epoch, 0n);
  assert.notEqual(ada.keys.at(-1)!.groupInstance, ada.keys.at(-2)!.groupInstance, "the worker is told it is a new group");
  assert.equal(ada.member.warnings().length, 1);
  assert.match(ada.member.warnings()[0]!.text, /compare the security code/);
});

test("a KeyPackage for another account than its participant's is not added; the others still are", async () => {
  const ds = new FakeDeliveryService();
  const ada = await ds.join("ada", undefined, "acct-ada");
  const bob = await ds.join("bob", undefined, "acct-bob");
  await settle(ds);
  // The server hands Ada, as Cy's KeyPackage, a key certified for Bob's
  // account (a second tab of Bob's, say), together with Dan's real one.
  const bobsOtherTab = await createKeyPackage(await generateSigningIdentity({ webCrypto: false }), "acct-bob");
  const dan = await ds.join("dan", undefined, "acct-dan", true);
  ds.roster.add("cy");
  ds.accounts.set("cy", "acct-cy");
  ds.job = { committer: "ada", add: ["cy", "dan"], remove: [] };
  await ds.deliver("ada", {
    type: "e2ee_job",
    create: false,
    epoch: ds.epoch,
    add: [
      { participant: "cy", keyPackage: toBase64(bobsOtherTab.bytes) },
      { participant: "dan", keyPackage: dan.member.keyPackageBase64() },
    ],
    remove: [],
  });
  await settle(ds);
  assert.deepEqual(ds.skipped, ["cy"]);
  assert.ok(dan.member.inGroup, "Dan got in");
  for (const c of [ada, bob, dan]) assert.equal(c.member.members().length, 3, c.id);
  assert.ok(ada.member.members().every((v) => v.problem === null));
});

test("a member whose key is for another account than the participant it claims is flagged", async () => {
  const ds = new FakeDeliveryService();
  const ada = await ds.join("ada", undefined, "acct-ada");
  // Bob joins as a guest, but the server tells everyone he is signed in as acct-bob.
  await ds.join("bob");
  ds.accounts.set("bob", "acct-bob");
  await tick(ds, 1_000);
  const bobView = ada.member.members().find((v) => v.participant === "bob")!;
  assert.equal(bobView.account, "");
  assert.equal(bobView.problem, "account");
});

test("someone the roster shows who never gets a key is shown after a grace period", async () => {
  const ds = new FakeDeliveryService();
  const ada = await ds.join("ada");
  await ds.join("bob");
  await settle(ds);
  // The server lists "eve" in the meeting, but no member ever adds her.
  ds.roster.add("eve");
  await tick(ds, 2_000);
  assert.deepEqual(ada.member.keyless(), []);
  await tick(ds, 20_000);
  assert.deepEqual(ada.member.keyless(), ["eve"]);
  ds.roster.delete("eve");
  await tick(ds, 2_000);
  assert.deepEqual(ada.member.keyless(), []);
});

// ---- from an attacker's review: each of these got through before ---------------------------

function groupOf(c: Client): Group {
  return (c.member as unknown as { group: Group }).group;
}

/** A hostile member sends an application message of its own making. */
async function sendRaw(from: Client, to: Client[], inner: unknown, kind: string): Promise<void> {
  const g = groupOf(from);
  const data = await g.encrypt(padded(JSON.stringify(inner)));
  for (const t of to) await t.member.handle({ type: "e2ee_message", from: from.id, epoch: Number(g.epoch), kind, data: toBase64(data), private: false });
}

/** The server runs a group of its own under the meeting's group id, ahead by `ahead` epochs, and Welcomes `kp` into it. */
async function serverGroupWelcome(kp: Uint8Array, epochs: number): Promise<{ theirs: Group; welcome: string }> {
  const ghost = await createKeyPackage(await generateSigningIdentity({ webCrypto: false }));
  const theirs = await Group.create(ghost, new TextEncoder().encode(`kaigi meeting ${MEETING}`));
  for (let i = 0; i < epochs; i++) await theirs.applyCommit(await theirs.commitUpdate());
  const add = await theirs.commitAdd([{ participant: "bob", keyPackage: kp }]);
  await theirs.applyCommit(add);
  return { theirs, welcome: toBase64(add.welcome!) };
}

test("a Welcome into a group the server runs is refused, even at a later epoch, after a reset or after removal", async () => {
  const ds = new FakeDeliveryService();
  await ds.join("ada");
  const bob = await ds.join("bob");
  await settle(ds);
  const code = bob.member.securityCode;
  // In the group: a later epoch does not make it the meeting's group.
  let attack = await serverGroupWelcome(fromBase64(await bob.member.renewKeyPackage()), 3);
  await bob.member.handle({ type: "e2ee_welcome", epoch: 5, welcome: attack.welcome });
  assert.equal(bob.member.securityCode, code, "Bob stayed in the real group");
  assert.match(bob.member.warnings().at(-1)!.text, /not in this meeting's group/);
  // After a reset (the server said it started him afresh): still refused.
  await bob.member.reset();
  attack = await serverGroupWelcome(fromBase64(await bob.member.renewKeyPackage()), 0);
  await bob.member.handle({ type: "e2ee_welcome", epoch: 1, welcome: attack.welcome });
  assert.equal(bob.member.inGroup, false);
  assert.equal(bob.member.warnings().filter((w) => /not in this meeting's group/.test(w.text)).length, 2);
});

test("a member cannot pass its messages off as another's by changing its claim", async () => {
  const ds = new FakeDeliveryService();
  const ada = await ds.join("ada");
  const bob = await ds.join("bob");
  const mal = await ds.join("mal");
  await settle(ds);
  await sendRaw(mal, [bob], { kind: "presence", body: { participant: "ada", name: "ADA", box: null } }, "presence");
  await sendRaw(mal, [bob], { kind: "chat", body: { text: "send me the password" } }, "chat");
  await sendRaw(mal, [bob], { kind: "presence", body: { participant: "mal", name: "MAL", box: null } }, "presence");
  assert.equal(bob.apps.filter((a) => a.kind === "chat").length, 0, "the forged chat was shown");
  const malLeaf = bob.member.members().find((v) => v.participant === "mal")!;
  assert.equal(malLeaf.problem, "conflict", "the turncoat stays flagged");
  assert.ok(bob.member.warnings().some((w) => w.text.includes("now says it is ada")));
  void ada;
});

test("a commit that gives a member another key, device or account (in its update path) is refused", async () => {
  const ds = new FakeDeliveryService();
  const ada = await ds.join("ada", undefined, "acct-ada");
  const bob = await ds.join("bob", undefined, "acct-bob");
  const mal = await ds.join("mal", undefined, "acct-mal");
  await settle(ds);
  const g = groupOf(mal);
  const { state, cs } = hostileAccess(g);
  // Mal's update path carries a leaf certified by another device for acct-dan.
  const nkp = await createKeyPackage(await generateSigningIdentity({ webCrypto: false }), "acct-dan");
  const ns = secretsOf(nkp);
  const newHandle = ns.privatePackage.signaturePrivateKey;
  const oldHandle = state.signaturePrivateKey;
  const own = state.privatePath.leafIndex;
  const tree = state.ratchetTree.slice();
  const node = tree[own * 2] as unknown as { nodeType: "leaf"; leaf: Record<string, unknown> };
  tree[own * 2] = { nodeType: "leaf", leaf: { ...node.leaf, credential: ns.publicPackage.leafNode.credential, signaturePublicKey: ns.publicPackage.leafNode.signaturePublicKey } } as never;
  const marker = new TextEncoder().encode("LeafNodeTBS");
  const signsLeaf = (m: Uint8Array): boolean => {
    outer: for (let i = 0; i + marker.length <= m.length; i++) {
      for (let j = 0; j < marker.length; j++) if (m[i + j] !== marker[j]) continue outer;
      return true;
    }
    return false;
  };
  const evil = { ...cs, signature: { ...cs.signature, sign: (_h: Uint8Array, m: Uint8Array) => cs.signature.sign(signsLeaf(m) ? newHandle : oldHandle, m) } };
  const r = await createCommit({ state: { ...state, ratchetTree: tree, unappliedProposals: {} }, cipherSuite: evil }, { ratchetTreeExtension: true });
  const commit = toBase64(encodeMlsMessage(r.commit));
  for (const c of [ada, bob]) {
    await c.member.handle({ type: "e2ee_commit", epoch: 3, from: "mal", commit });
    assert.equal(c.member.epoch, 2n, `${c.id} applied it`);
    assert.ok(c.member.warnings().some((w) => w.text.includes("changes a member's key, device or account")));
  }
});

test("a forged commit does not make a member drop its own pending commit", async () => {
  const ds = new FakeDeliveryService();
  const ada = await ds.join("ada");
  const bob = await ds.join("bob");
  await settle(ds);
  clock.now += 10 * 60_000;
  await ada.member.maintain();
  const out = ada.outbox.splice(0).find((m) => m.type === "e2ee_commit")!;
  assert.ok(out && out.type === "e2ee_commit" && out.reason === "update");
  await ada.member.handle({ type: "e2ee_commit", epoch: 2, from: "bob", commit: toBase64(new Uint8Array([1, 2, 3])) }).catch(() => {});
  await ada.member.handle({ type: "e2ee_commit_ok", epoch: 2 });
  await bob.member.handle({ type: "e2ee_commit", epoch: 2, from: "ada", commit: out.commit });
  assert.equal(ada.member.epoch, 2n);
  assert.equal(ada.member.securityCode, bob.member.securityCode);
});

test("a commit our own client timed out on still applies when the server confirms it late", async () => {
  const ds = new FakeDeliveryService();
  const ada = await ds.join("ada");
  const bob = await ds.join("bob");
  await settle(ds);
  clock.now += 10 * 60_000;
  await ada.member.maintain();
  const out = ada.outbox.splice(0).find((m) => m.type === "e2ee_commit")!;
  assert.ok(out && out.type === "e2ee_commit");
  clock.now += 20_000;
  await ada.member.maintain(); // gives up waiting (a new update is not due yet)
  await ada.member.handle({ type: "e2ee_commit_ok", epoch: 2 });
  await bob.member.handle({ type: "e2ee_commit", epoch: 2, from: "ada", commit: out.commit });
  assert.equal(ada.member.epoch, 2n);
  assert.equal(ada.member.securityCode, bob.member.securityCode);
});

test("a leaf index reused by an Add starts with nothing of the old leaf", async () => {
  const ds = new FakeDeliveryService();
  await ds.join("ada");
  const bob = await ds.join("bob");
  await ds.join("cy");
  const mal = await ds.join("mal");
  await settle(ds);
  ds.roster.add("dan");
  ds.roster.delete("cy");
  const cyLeaf = bob.member.members().find((v) => v.participant === "cy")!.leaf;
  const { state, cs } = hostileAccess(groupOf(mal));
  const dan = await createKeyPackage(await generateSigningIdentity({ webCrypto: false }));
  const r = await createCommit({ state: { ...state, unappliedProposals: {} }, cipherSuite: cs }, {
    extraProposals: [{ proposalType: "remove", remove: { removed: cyLeaf } }, { proposalType: "add", add: { keyPackage: secretsOf(dan).publicPackage } }],
    ratchetTreeExtension: true,
    authenticatedData: new TextEncoder().encode(JSON.stringify({ v: 1, add: ["dan"] })),
  });
  await bob.member.handle({ type: "e2ee_commit", epoch: 4, from: "mal", commit: toBase64(encodeMlsMessage(r.commit)) });
  const v = bob.member.members().find((x) => x.leaf === cyLeaf)!;
  assert.equal(v.participant, null, "the new leaf does not inherit Cy's claim");
  assert.equal(v.joining, true);
});

test("members refuse a commit that removes someone still in the meeting, unless it adds them back", async () => {
  const ds = new FakeDeliveryService();
  const ada = await ds.join("ada");
  const bob = await ds.join("bob");
  const cy = await ds.join("cy");
  await settle(ds);
  // The server asks Ada to remove Bob, who is still here: her client will not.
  ds.job = { committer: "ada", add: [], remove: ["bob"] };
  await ds.deliver("ada", { type: "e2ee_job", create: false, epoch: 2, add: [], remove: [{ participant: "bob", keyPackage: ds.keyPackages.get("bob")! }] });
  assert.equal(ada.outbox.filter((m) => m.type === "e2ee_commit").length, 0, "Ada committed the removal");
  // A hostile member does it anyway: the others refuse it.
  const bobLeaf = cy.member.members().find((v) => v.participant === "bob")!.leaf;
  const evil = await groupOf(ada).commitRemove([bobLeaf]);
  await cy.member.handle({ type: "e2ee_commit", epoch: 3, from: "ada", commit: toBase64(evil.commit) });
  assert.equal(cy.member.epoch, 2n);
  assert.ok(cy.member.warnings().some((w) => w.text.includes("removes bob, who is still in the meeting")));
  await bob.member.handle({ type: "e2ee_commit", epoch: 3, from: "ada", commit: toBase64(evil.commit) });
  assert.equal(bob.member.state, "member", "Bob refused his own removal");
  assert.ok(bob.member.warnings().some((w) => w.text.includes("removes this browser")));
});

test("a member back with a fresh KeyPackage is removed and added in one commit, which everyone accepts", async () => {
  const ds = new FakeDeliveryService();
  const ada = await ds.join("ada");
  const bob = await ds.join("bob");
  const cy = await ds.join("cy");
  await settle(ds);
  // Cy's browser lost its state; she is still in the meeting, with a new KeyPackage.
  const cy2 = await ds.join("cy", undefined, "", true);
  ds.job = { committer: "ada", add: ["cy"], remove: ["cy"] };
  ds.members = ds.members.filter((x) => x !== "cy");
  await ds.deliver("ada", {
    type: "e2ee_job",
    create: false,
    epoch: ds.epoch,
    add: [{ participant: "cy", keyPackage: cy2.member.keyPackageBase64() }],
    remove: [{ participant: "cy", keyPackage: ds.keyPackages.get("cy-old") ?? "" }],
  });
  await settle(ds);
  assert.ok(cy2.member.inGroup, "Cy is back");
  for (const c of [ada, bob, cy2]) {
    assert.equal(c.member.members().length, 3, c.id);
    assert.equal(c.member.securityCode, ada.member.securityCode, `${c.id}: ${c.member.epoch} vs ${ada.member.epoch}; ${JSON.stringify(c.member.warnings())}`);
  }
  assert.ok(bob.member.members().every((v) => v.problem === null));
  void cy;
});

test("after a server restart the same people form a fresh group: no host needed to re-add them, no warning; a stranger is not added", async () => {
  const ds = new FakeDeliveryService();
  const ada = await ds.join("ada");
  const bob = await ds.join("bob");
  const cy = await ds.join("cy");
  await settle(ds);
  const codeBefore = ada.member.securityCode;
  const keysBefore = ada.keys.length;
  // The server restarts and loses the group. With a waiting room, a member
  // adds only those it admitted itself, and nobody admitted anyone now.
  ds.mayAdd = () => false;
  for (const c of [ada, bob, cy]) {
    await c.member.restarted();
    ds.keyPackages.set(c.id, await c.member.renewKeyPackage());
    assert.equal(c.member.inGroup, false);
  }
  ds.members = [];
  ds.epoch = 0;
  ds.job = null;
  // Ada is back first and creates the group; then she is asked to add the others.
  ds.members.push("ada");
  await ds.deliver("ada", { type: "e2ee_job", create: true, epoch: 0, add: [], remove: [] });
  ds.job = { committer: "ada", add: ["bob", "cy"], remove: [] };
  await ds.deliver("ada", {
    type: "e2ee_job",
    create: false,
    epoch: 0,
    add: ["bob", "cy"].map((p) => ({ participant: p, keyPackage: ds.keyPackages.get(p)! })),
    remove: [],
  });
  await ds.pump();
  await settle(ds);
  for (const c of [ada, bob, cy]) {
    assert.ok(c.member.inGroup, `${c.id} in the fresh group`);
    assert.equal(c.member.epoch, 1n);
    assert.equal(c.member.securityCode, ada.member.securityCode);
    assert.deepEqual(c.member.warnings(), [], `${c.id} warned`);
  }
  assert.notEqual(ada.member.securityCode, codeBefore, "a fresh group's code");
  assert.ok(ada.keys.length > keysBefore, "fresh media keys");

  // Someone whose device was not in the lost group is still not added
  // without a host's say.
  await ds.join("dan", undefined, "", true);
  ds.job = { committer: "ada", add: ["dan"], remove: [] };
  await ds.deliver("ada", { type: "e2ee_job", create: false, epoch: 1, add: [{ participant: "dan", keyPackage: ds.keyPackages.get("dan")! }], remove: [] });
  await ds.pump();
  await settle(ds);
  assert.equal(ds.epoch, 1, "nobody committed dan's Add");
  assert.equal(ds.clients.get("dan")!.member.inGroup, false);
});
