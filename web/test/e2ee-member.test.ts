// The meeting-level E2EE controller (src/e2ee/member.ts) against a fake
// delivery service that follows the server's rules (internal/e2ee): the
// first participant creates the group, the longest-present member commits
// adds and removals, one commit per epoch, relays to the right members.
// Real MLS (ts-mls) throughout.

import assert from "node:assert/strict";
import { test } from "node:test";
import { fromBase64, toBase64 } from "../src/e2ee/base64.js";
import type { EpochKeys } from "../src/e2ee/media-keys.js";
import { GroupMember, type AppMessage, type ClientE2EEMessage, type ServerE2EEMessage } from "../src/e2ee/member.js";
import { generateSigningIdentity } from "../src/e2ee/signing.js";

interface Client {
  id: string;
  member: GroupMember;
  keys: EpochKeys[];
  apps: AppMessage[];
  outbox: ClientE2EEMessage[];
}

/** Just enough of internal/e2ee's rules to drive real clients. */
class FakeDeliveryService {
  clients = new Map<string, Client>();
  members: string[] = [];
  epoch = 0;
  job: { committer: string; add: string[]; remove: string[] } | null = null;
  keyPackages = new Map<string, string>();
  relayed: { from: string; kind: string; data: string }[] = [];

  async join(id: string): Promise<Client> {
    const c: Client = { id, keys: [], apps: [], outbox: [], member: null as unknown as GroupMember };
    c.member = await GroupMember.create(await generateSigningIdentity({ webCrypto: false }), "7k3m-q9xd-2hfa-b8rn", {
      send: (m) => c.outbox.push(m),
      keys: (k) => c.keys.push(k),
      changed: () => {},
      application: (m) => c.apps.push(m),
    });
    c.member.setSelf(id, id.toUpperCase());
    this.clients.set(id, c);
    this.keyPackages.set(id, c.member.keyPackageBase64());
    if (this.members.length === 0) {
      this.members.push(id);
      await this.deliver(id, { type: "e2ee_job", create: true, epoch: 0, add: [], remove: [] });
    } else {
      this.job = { committer: this.members[0]!, add: [id], remove: [] };
      await this.deliver(this.members[0]!, {
        type: "e2ee_job",
        create: false,
        epoch: this.epoch,
        add: [{ participant: id, keyPackage: this.keyPackages.get(id)! }],
        remove: [],
      });
    }
    await this.pump();
    return c;
  }

  async leave(id: string): Promise<void> {
    const committer = this.members.find((m) => m !== id)!;
    this.job = { committer, add: [], remove: [id] };
    await this.deliver(committer, {
      type: "e2ee_job",
      create: false,
      epoch: this.epoch,
      add: [],
      remove: [{ participant: id, keyPackage: this.keyPackages.get(id)! }],
    });
    await this.pump();
  }

  async deliver(to: string, m: ServerE2EEMessage): Promise<void> {
    await this.clients.get(to)!.member.handle(m);
  }

  /** Processes what clients sent until nothing is left. */
  async pump(): Promise<void> {
    for (let busy = true; busy; ) {
      busy = false;
      for (const c of this.clients.values()) {
        const out = c.outbox.splice(0);
        for (const m of out) {
          busy = true;
          await this.receive(c.id, m);
        }
      }
    }
  }

  async receive(from: string, m: ClientE2EEMessage): Promise<void> {
    if (m.type === "e2ee_commit") {
      assert.ok(this.job && this.job.committer === from, "commit from the job's committer");
      assert.equal(m.epoch, this.epoch, "commit on the current epoch");
      const j = this.job!;
      this.job = null;
      this.epoch++;
      this.members = this.members.filter((x) => !j.remove.includes(x));
      const others = this.members.filter((x) => x !== from);
      this.members.push(...j.add);
      await this.deliver(from, { type: "e2ee_commit_ok", epoch: this.epoch });
      for (const o of others) await this.deliver(o, { type: "e2ee_commit", epoch: this.epoch, from, commit: m.commit });
      for (const a of j.add) await this.deliver(a, { type: "e2ee_welcome", epoch: this.epoch, welcome: m.welcome! });
      return;
    }
    this.relayed.push({ from, kind: m.kind, data: m.data });
    const to = m.to ? [m.to] : this.members.filter((x) => x !== from);
    for (const t of to) {
      await this.deliver(t, { type: "e2ee_message", from, epoch: m.epoch, kind: m.kind, data: m.data, private: !!m.to });
    }
  }
}

async function settle(ds: FakeDeliveryService): Promise<void> {
  for (let i = 0; i < 5; i++) {
    for (const c of ds.clients.values()) await c.member.settled();
    await ds.pump();
  }
}

test("three members: same epoch, keys and security code; the code changes when someone joins", async () => {
  const ds = new FakeDeliveryService();
  const ada = await ds.join("ada");
  const bob = await ds.join("bob");
  await settle(ds);
  assert.ok(ada.member.inGroup && bob.member.inGroup);
  const codeOfTwo = ada.member.securityCode;
  assert.match(codeOfTwo, /^\d{4} \d{4} \d{4}$/);
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
