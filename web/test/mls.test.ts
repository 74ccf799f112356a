import assert from "node:assert/strict";
import { test } from "node:test";
import {
  acceptAll,
  createCommit,
  createProposal,
  defaultCapabilities,
  defaultLifetime,
  emptyPskIndex,
  encodeMlsMessage,
  generateKeyPackageWithKey,
  getCiphersuiteFromName,
  getCiphersuiteImpl,
  processMessage,
  proposeAddExternal,
  type Proposal,
} from "ts-mls";
import { toHex } from "../src/e2ee/bytes.js";
import { E2EEError, type E2EECode } from "../src/e2ee/errors.js";
import { kidFor, MediaKeyStore } from "../src/e2ee/media-keys.js";
import { CIPHERSUITE, createKeyPackage, Group, hostileAccess, keyPackageSecretsForTests as secretsOf, messageInfo, readKeyPackage, type OwnKeyPackage } from "../src/e2ee/mls.js";
import { securityCode } from "../src/e2ee/securitycode.js";
import { decodeHeader } from "../src/e2ee/sframe.js";
import { generateSigningIdentity, type SigningIdentity } from "../src/e2ee/signing.js";

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const groupId = text("7k3m-q9xd-2hfa-b8rn");

async function person(opts: { webCrypto?: boolean } = {}): Promise<{ identity: SigningIdentity; kp: OwnKeyPackage }> {
  const identity = await generateSigningIdentity(opts);
  return { identity, kp: await createKeyPackage(identity) };
}

/** An Addition of this KeyPackage for a participant of that name. */
function adding(participant: string, kp: OwnKeyPackage | Uint8Array): { participant: string; keyPackage: Uint8Array } {
  return { participant, keyPackage: kp instanceof Uint8Array ? kp : kp.bytes };
}

async function rejectsWith(p: Promise<unknown>, code: E2EECode): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof E2EEError && e.code === code);
}

/** What every member must agree on in an epoch. */
async function view(g: Group): Promise<string> {
  return JSON.stringify({
    epoch: g.epoch.toString(),
    sframe: toHex(await g.sframeEpochSecret()),
    authenticator: toHex(g.epochAuthenticator),
    code: await securityCode(g.epochAuthenticator),
    members: g.members().map((m) => [m.leafIndex, toHex(m.signaturePublicKey)]),
  });
}

/** Alice creates the meeting's group and adds Bob. */
async function aliceAndBob() {
  const alice = await person();
  const bob = await person();
  const a = await Group.create(alice.kp, groupId);
  const add = await a.commitAdd([adding("bob", bob.kp)]);
  await a.applyCommit(add);
  assert.ok(add.welcome);
  const b = await Group.join(add.welcome, bob.kp, groupId);
  return { alice, bob, a, b, add };
}

test("two members: create → add → join; same epoch, exporter secret, authenticator and code", async () => {
  const t0 = performance.now();
  const { alice, bob, a, b, add } = await aliceAndBob();
  assert.equal(add.epoch, 0n);
  assert.equal(a.epoch, 1n);
  assert.equal(await view(a), await view(b));
  assert.equal(a.ownLeafIndex, 0);
  assert.equal(b.ownLeafIndex, 1);
  assert.deepEqual(
    b.members().map((m) => ({ leaf: m.leafIndex, id: toHex(m.identity), key: toHex(m.signaturePublicKey) })),
    [
      { leaf: 0, id: toHex(alice.identity.publicKey), key: toHex(alice.kp.leaf.publicKey) },
      { leaf: 1, id: toHex(bob.identity.publicKey), key: toHex(bob.kp.leaf.publicKey) },
    ],
  );
  assert.match(await securityCode(a.epochAuthenticator), /^\d{5}( \d{5}){5}$/);
  assert.equal((await a.sframeEpochSecret()).length, 16);
  assert.ok(performance.now() - t0 < 5000);
});

test("three members: the added member agrees; the code changes with the membership", async () => {
  const { a, b } = await aliceAndBob();
  const codeBefore = await securityCode(a.epochAuthenticator);
  const carol = await person();
  // Bob, not the creator, admits Carol: any member can.
  const add = await b.commitAdd([adding("carol", carol.kp)]);
  assert.deepEqual(messageInfo(add.commit), { kind: "commit", epoch: 1n, groupId });
  await b.applyCommit(add);
  const got = await a.receive(add.commit);
  assert.deepEqual({ ...got, added: got.kind === "commit" ? got.added.map((x) => [x.leafIndex, x.participant]) : null }, {
    kind: "commit",
    epoch: 2n,
    removed: false,
    committer: 1,
    added: [[2, "carol"]],
    removedLeaves: [],
  });
  const c = await Group.join(add.welcome!, carol.kp);
  const v = await view(a);
  assert.equal(await view(b), v);
  assert.equal(await view(c), v);
  assert.equal(c.members().length, 3);
  assert.notEqual(await securityCode(a.epochAuthenticator), codeBefore);
});

test("removal: the rest agree on a new epoch; the removed member can decrypt nothing of it", async () => {
  const { a, b } = await aliceAndBob();
  const carol = await person();
  const add = await a.commitAdd([adding("carol", carol.kp)]);
  await a.applyCommit(add);
  await b.receive(add.commit);
  const c = await Group.join(add.welcome!, carol.kp);
  const bobKeysBefore = await b.mediaKeys();

  const remove = await a.commitRemove([b.ownLeafIndex]);
  assert.equal(remove.welcome, null);
  await a.applyCommit(remove);
  assert.deepEqual(await c.receive(remove.commit), { kind: "commit", epoch: 3n, removed: false, committer: 0, added: [], removedLeaves: [1] });
  assert.equal(await view(a), await view(c));
  assert.deepEqual(
    c.members().map((m) => m.leafIndex),
    [0, 2],
  );

  // Bob learns he was removed, and his state stays behind.
  assert.deepEqual(await b.receive(remove.commit), { kind: "commit", epoch: 2n, removed: true, committer: 0, added: [], removedLeaves: [] });
  assert.equal(b.active, false);
  assert.notEqual(toHex(await b.sframeEpochSecret()), toHex(await a.sframeEpochSecret()));
  assert.notEqual(toHex(b.epochAuthenticator), toHex(a.epochAuthenticator));

  // A new application message: Carol reads it, Bob cannot.
  const msg = await a.encrypt(text("after Bob left"));
  const got = await c.receive(msg);
  assert.equal(got.kind, "application");
  await rejectsWith(b.receive(msg), "removed");
  await rejectsWith(b.encrypt(text("still here?")), "removed");

  // New-epoch media: Bob's media keys (the last he had) find no key for it.
  const aliceMedia = new MediaKeyStore();
  aliceMedia.setKeys(await a.mediaKeys());
  const frame = await (await aliceMedia.sender())!.encrypt(text("video"));
  const kid = decodeHeader(frame)!.kid;
  assert.equal(kid, kidFor(0, 3n));
  const bobMedia = new MediaKeyStore();
  bobMedia.setKeys(bobKeysBefore);
  assert.equal(await bobMedia.receiverKey(kid), "unknown-epoch");
  const carolMedia = new MediaKeyStore();
  carolMedia.setKeys(await c.mediaKeys());
  assert.notEqual(typeof (await carolMedia.receiverKey(kid)), "string");
});

test("application messages: round trip with the authenticated sender; tampering, replay and other groups refused", async () => {
  const { alice, a, b } = await aliceAndBob();
  const msg = await a.encrypt(text('{"chat":"hello"}'));
  assert.deepEqual(messageInfo(msg), { kind: "application", epoch: 1n, groupId });
  const got = await b.receive(msg);
  assert.equal(got.kind, "application");
  if (got.kind !== "application") return;
  assert.equal(new TextDecoder().decode(got.data), '{"chat":"hello"}');
  assert.equal(got.sender.leafIndex, 0);
  assert.equal(toHex(got.sender.signaturePublicKey), toHex(alice.kp.leaf.publicKey));
  assert.equal(toHex(got.sender.identity), toHex(alice.identity.publicKey));
  assert.equal(got.epoch, 1n);

  // And back.
  const reply = await b.receive(await a.encrypt(text("2")));
  assert.equal(reply.kind, "application");
  const back = await a.receive(await b.encrypt(text("from bob")));
  assert.equal(back.kind === "application" && back.sender.leafIndex, 1);

  await rejectsWith(b.receive(msg), "rejected"); // replay
  const tampered = (await a.encrypt(text("x"))).slice();
  tampered[tampered.length - 3]! ^= 1;
  await rejectsWith(b.receive(tampered), "rejected");
  await rejectsWith(b.receive(text("not mls")), "malformed");

  // The same people in another group: its messages are refused by this one.
  const other = await Group.create((await person()).kp, text("another meeting"));
  await rejectsWith(b.receive(await other.encrypt(text("hi"))), "wrong-group");
});

test("a late application message from the previous epoch still decrypts", async () => {
  const { a, b } = await aliceAndBob();
  const late = await a.encrypt(text("sent before the commit"));
  const carol = await person();
  const add = await a.commitAdd([adding("carol", carol.kp)]);
  await a.applyCommit(add);
  await b.receive(add.commit);
  const got = await b.receive(late);
  assert.equal(got.kind === "application" && got.epoch, 1n);
});

test("one commit per epoch: the losing commit goes stale, the winner's is received", async () => {
  const { a, b } = await aliceAndBob();
  const carol = await person();
  const dave = await person();
  const fromAlice = await a.commitAdd([adding("carol", carol.kp)]);
  const fromBob = await b.commitAdd([adding("dave", dave.kp)]);
  // The delivery service takes Alice's.
  await a.applyCommit(fromAlice);
  await b.receive(fromAlice.commit);
  await rejectsWith(b.applyCommit(fromBob), "stale-commit");
  assert.equal(await view(a), await view(b));
  // Bob retries in the new epoch.
  const retry = await b.commitAdd([adding("dave", dave.kp)]);
  await b.applyCommit(retry);
  await a.receive(retry.commit);
  const c = await Group.join(fromAlice.welcome!, carol.kp);
  await c.receive(retry.commit);
  const d = await Group.join(retry.welcome!, dave.kp);
  assert.equal(await view(d), await view(a));
  assert.equal(await view(c), await view(a));
});

test("messages handled while our commit is pending: later ones still decrypt, none twice", async () => {
  const { a, b } = await aliceAndBob();
  const carol = await person();
  const pending = await a.commitAdd([adding("carol", carol.kp)]);
  const first = await b.encrypt(text("while pending"));
  const second = await b.encrypt(text("arrives after the commit applied"));
  assert.equal((await a.receive(first)).kind, "application");
  await a.applyCommit(pending);
  const late = await a.receive(second);
  assert.equal(late.kind === "application" && late.epoch, 1n);
  await rejectsWith(a.receive(first), "rejected");
  await b.receive(pending.commit);
  assert.equal(await view(a), await view(b));
});

test("KeyPackages: readKeyPackage names the signer; forged or mismatched ones are refused", async () => {
  const bob = await person();
  const info = await readKeyPackage(bob.kp.bytes);
  assert.equal(toHex(info.signaturePublicKey), toHex(bob.kp.leaf.publicKey));
  assert.equal(toHex(info.identity), toHex(bob.identity.publicKey), "the device key certified the leaf");
  assert.deepEqual(messageInfo(bob.kp.bytes), { kind: "key-package" });

  const forged = bob.kp.bytes.slice();
  forged[forged.length - 1]! ^= 1; // the signature's last byte
  await rejectsWith(readKeyPackage(forged), "bad-key-package");
  await rejectsWith(readKeyPackage(text("junk")), "bad-key-package");

  // A KeyPackage whose credential names someone else than its key (made with ts-mls directly).
  const cs = await getCiphersuiteImpl(getCiphersuiteFromName(CIPHERSUITE));
  const keys = await cs.signature.keygen();
  const liar = await generateKeyPackageWithKey(
    { credentialType: "basic", identity: text("the host") },
    defaultCapabilities(),
    defaultLifetime,
    [],
    keys,
    cs,
  );
  const liarBytes = encodeMlsMessage({ version: "mls10", wireformat: "mls_key_package", keyPackage: liar.publicPackage });
  await rejectsWith(readKeyPackage(liarBytes), "bad-key-package");
  const a = await Group.create((await person()).kp, groupId);
  await rejectsWith(a.commitAdd([adding("liar", liarBytes)]), "bad-key-package");
  assert.equal(a.epoch, 0n);
});

test("a Welcome is refused for another group or by someone it was not made for", async () => {
  const { add } = await aliceAndBob();
  const bob2 = await person();
  await rejectsWith(Group.join(add.welcome!, bob2.kp), "rejected");
  const carol = await person();
  const a = await Group.create((await person()).kp, groupId);
  const addCarol = await a.commitAdd([adding("carol", carol.kp)]);
  await rejectsWith(Group.join(addCarol.welcome!, carol.kp, text("other meeting")), "wrong-group");
});

test("bad requests: removing ourselves or a non-member, adding nobody", async () => {
  const { a } = await aliceAndBob();
  await rejectsWith(a.commitRemove([0]), "bad-request");
  await rejectsWith(a.commitRemove([5]), "bad-request");
  await rejectsWith(a.commitAdd([]), "bad-request");
});

test("a member whose browser lacks WebCrypto Ed25519 (seed key) meets one who has it", async () => {
  const alice = await person({ webCrypto: true });
  const bob = await person({ webCrypto: false });
  assert.ok(bob.identity.privateKey instanceof Uint8Array);
  assert.ok(!(alice.identity.privateKey instanceof Uint8Array));
  assert.equal((alice.identity.privateKey as CryptoKey).extractable, false);
  const a = await Group.create(alice.kp, groupId);
  const add = await a.commitAdd([adding("bob", bob.kp)]);
  await a.applyCommit(add);
  const b = await Group.join(add.welcome!, bob.kp);
  const got = await a.receive(await b.encrypt(text("from the seed key")));
  assert.equal(got.kind === "application" && got.sender.leafIndex, 1);
  assert.equal(await view(a), await view(b));
});

test("operations on one group run one at a time, in call order", async () => {
  const { a, b } = await aliceAndBob();
  const sent = await Promise.all([1, 2, 3, 4, 5].map((i) => a.encrypt(text(String(i)))));
  const got: string[] = [];
  for (const m of sent) {
    const r = await b.receive(m);
    if (r.kind === "application") got.push(new TextDecoder().decode(r.data));
  }
  assert.deepEqual(got, ["1", "2", "3", "4", "5"]);
});

// ---- a hostile server or member (design: "The server is the adversary") ----------------

/** The server's own KeyPackage, as a hostile delivery service would make one. */
async function intruder(): Promise<{ kp: OwnKeyPackage }> {
  return person();
}

test("a server-made Add proposal (new_member_proposal) is refused and never rides along an honest commit", async () => {
  const { a, b } = await aliceAndBob();
  const ghost = await intruder();
  const { publicPackage, privatePackage } = secretsOf(ghost.kp);
  // The server knows group id and epoch from the envelopes: that is all a
  // new_member_proposal needs.
  const { state } = hostileAccess(a);
  const proposal = encodeMlsMessage(
    await proposeAddExternal({ groupContext: state.groupContext } as never, publicPackage, privatePackage, hostileAccess(a).cs),
  );
  await rejectsWith(a.receive(proposal), "refused");
  await rejectsWith(b.receive(proposal), "refused");
  assert.deepEqual(Object.keys(hostileAccess(a).state.unappliedProposals), [], "nothing was stored");

  // Alice's next honest commit adds Carol, and only Carol.
  const carol = await person();
  const add = await a.commitAdd([adding("carol", carol.kp)]);
  await a.applyCommit(add);
  await b.receive(add.commit);
  const c = await Group.join(add.welcome!, carol.kp, groupId);
  assert.equal(a.members().length, 3);
  assert.equal(await view(c), await view(a));
  await rejectsWith(Group.join(add.welcome!, ghost.kp, groupId), "rejected");
});

test("our commits never fold in a proposal we did not make, even one that got stored", async () => {
  const { a, b } = await aliceAndBob();
  // Plant a stored proposal (as an older client that accepted one would have).
  const evil = await person();
  const { state, cs } = hostileAccess(b);
  const made = await createProposal(state, false, { proposalType: "add", add: { keyPackage: secretsOf(evil.kp).publicPackage } }, cs);
  const inner = a as unknown as { state: typeof state };
  const planted = await processMessage(made.message as Parameters<typeof processMessage>[0], inner.state, emptyPskIndex, acceptAll, hostileAccess(a).cs);
  inner.state = planted.newState;
  assert.equal(Object.keys(inner.state.unappliedProposals).length, 1);
  const upd = await a.commitUpdate();
  await a.applyCommit(upd);
  assert.equal(a.members().length, 2, "the planted Add was not committed");
});

test("a member's standalone proposal is refused, and so is a commit that refers to it", async () => {
  const { a, b } = await aliceAndBob();
  const evil = await person();
  const { state, cs } = hostileAccess(b);
  const made = await createProposal(state, false, { proposalType: "add", add: { keyPackage: secretsOf(evil.kp).publicPackage } }, cs);
  await rejectsWith(a.receive(encodeMlsMessage(made.message)), "refused");
  // Bob (hostile) commits his own proposal by reference.
  const commit = await createCommit({ state: made.newState, cipherSuite: cs }, { ratchetTreeExtension: true, authenticatedData: text('{"v":1,"add":["evil"]}') });
  const before = a.epoch;
  await assert.rejects(a.receive(encodeMlsMessage(commit.commit)), (e: unknown) => e instanceof E2EEError && (e.code === "refused" || e.code === "rejected"));
  assert.equal(a.epoch, before);
});

test("commits with proposals Kaigi never makes are refused: PSK-less ReInit, context extensions, Update", async () => {
  const { a, b } = await aliceAndBob();
  const { state, cs } = hostileAccess(b);
  const hostile: Proposal[] = [
    { proposalType: "group_context_extensions", groupContextExtensions: { extensions: [] } },
    { proposalType: "reinit", reinit: { groupId: text("elsewhere"), version: "mls10", cipherSuite: CIPHERSUITE, extensions: [] } },
  ];
  for (const p of hostile) {
    let made;
    try {
      made = await createCommit({ state: { ...state, unappliedProposals: {} }, cipherSuite: cs }, { extraProposals: [p], ratchetTreeExtension: true });
    } catch {
      continue; // ts-mls would not even make it
    }
    await rejectsWith(a.receive(encodeMlsMessage(made.commit)), "refused");
    assert.equal(a.epoch, 1n, String(p.proposalType));
  }
});

test("an Add is accepted only when its committer attributed it to a participant the policy admits", async () => {
  const { a, b } = await aliceAndBob();
  const carol = await person();
  const { state, cs } = hostileAccess(b);
  const addCarol: Proposal = { proposalType: "add", add: { keyPackage: secretsOf(carol.kp).publicPackage } };
  // Not attributed at all.
  const bare = await createCommit({ state, cipherSuite: cs }, { extraProposals: [addCarol], ratchetTreeExtension: true });
  await rejectsWith(a.receive(encodeMlsMessage(bare.commit)), "refused");
  // Attributed to a participant the meeting does not have (or still waiting).
  const policy = { add: (p: string) => (p === "carol" ? null : `${p} is not in the meeting`) };
  const named = await createCommit({ state, cipherSuite: cs }, { extraProposals: [addCarol], ratchetTreeExtension: true, authenticatedData: text('{"v":1,"add":["mallory"]}') });
  await rejectsWith(a.receive(encodeMlsMessage(named.commit), policy), "refused");
  assert.equal(a.epoch, 1n);
  // The honest path: Bob's client attributes the Add; Alice's policy admits Carol.
  const honest = await b.commitAdd([adding("carol", carol.kp)]);
  await b.applyCommit(honest);
  const got = await a.receive(honest.commit, policy);
  assert.ok(got.kind === "commit" && got.added.length === 1 && got.added[0]!.participant === "carol");
  assert.equal(toHex(got.kind === "commit" ? got.added[0]!.identity : new Uint8Array()), toHex(carol.identity.publicKey));
});

test("two tabs of one browser are two leaves of one device; a bad KeyPackage fails alone", async () => {
  const { a } = await aliceAndBob();
  const device = await generateSigningIdentity();
  const tab1 = await createKeyPackage(device);
  const tab2 = await createKeyPackage(device);
  const forged = tab2.bytes.slice();
  forged[forged.length - 1]! ^= 1;
  const dave = await person();
  const add = await a.commitAdd([adding("tab1", tab1), adding("tab2", tab2), adding("forged", forged), adding("dave", dave.kp), adding("again", tab1)]);
  assert.deepEqual(add.added, ["tab1", "tab2", "dave"]);
  assert.deepEqual(add.skipped.map((x) => x.participant), ["forged", "again"]);
  await a.applyCommit(add);
  const ids = a.members().map((m) => toHex(m.identity));
  assert.equal(ids.filter((x) => x === toHex(device.publicKey)).length, 2, "one device, two leaves");
  const t1 = await Group.join(add.welcome!, tab1, groupId);
  const t2 = await Group.join(add.welcome!, tab2, groupId);
  assert.equal(await view(t1), await view(t2));
});

test("a leaf credential must be its device's certificate for the leaf key", async () => {
  const device = await generateSigningIdentity();
  const kp = await createKeyPackage(device);
  const info = await readKeyPackage(kp.bytes);
  assert.equal(toHex(info.identity), toHex(device.publicKey));
  // A credential naming a device that did not sign the leaf key.
  const cs = await getCiphersuiteImpl(getCiphersuiteFromName(CIPHERSUITE));
  const keys = await cs.signature.keygen();
  const other = await generateSigningIdentity({ webCrypto: false });
  const fake = new Uint8Array(97);
  fake[0] = 1;
  fake.set(other.publicKey, 1); // signature bytes left zero
  const liar = await generateKeyPackageWithKey({ credentialType: "basic", identity: fake }, defaultCapabilities(), defaultLifetime, [], keys, cs);
  await rejectsWith(readKeyPackage(encodeMlsMessage({ version: "mls10", wireformat: "mls_key_package", keyPackage: liar.publicPackage })), "bad-key-package");
});

test("the account a leaf speaks for is the device's signed word: changing it breaks the certificate", async () => {
  const device = await generateSigningIdentity();
  const kp = await createKeyPackage(device, "acct-7");
  assert.equal((await readKeyPackage(kp.bytes)).account, "acct-7");
  assert.equal((await readKeyPackage((await createKeyPackage(device)).bytes)).account, "", "a guest names no account");
  // Swap one letter of the account inside the KeyPackage: the certificate no longer verifies.
  const at = toHex(kp.bytes).indexOf(toHex(text("acct-7")));
  assert.ok(at >= 0);
  const altered = kp.bytes.slice();
  altered[at / 2 + 5] = "8".charCodeAt(0);
  await rejectsWith(readKeyPackage(altered), "bad-key-package");
  await assert.rejects(createKeyPackage(device, "x".repeat(65)));
});
