// The recording state inside the MLS group (src/e2ee/recording-state.ts,
// src/recording/gate.ts, src/recording/indicator.ts) against a fake
// delivery service that can turn hostile: it may drop the server's
// `recording` message for someone, withhold a commit, or relay a member's
// forged commit. Real MLS (ts-mls) throughout.

import assert from "node:assert/strict";
import { test } from "node:test";
import { createCommit, encodeMlsMessage, type Proposal } from "ts-mls";
import { toBase64 } from "../src/e2ee/base64.js";
import type { EpochKeys } from "../src/e2ee/media-keys.js";
import { GroupMember, type ClientE2EEMessage, type ServerE2EEMessage } from "../src/e2ee/member.js";
import { hostileAccess, type Group } from "../src/e2ee/mls.js";
import { commitRefusal } from "../src/e2ee/commit-rules.js";
import { readRecording, recordingChanges, recordingExtension, recordingRefusal } from "../src/e2ee/recording-state.js";
import { generateSigningIdentity } from "../src/e2ee/signing.js";
import type { RecordingState } from "../src/meeting/protocol.js";
import { RecordingGate } from "../src/recording/gate.js";
import { recordingIndicator } from "../src/recording/indicator.js";

interface Client {
  id: string;
  member: GroupMember;
  keys: EpochKeys[];
  outbox: ClientE2EEMessage[];
  /** The server's `recording` messages this client got. */
  serverSays: RecordingState | null;
}

const clock = { now: 2_000_000 };

/** internal/e2ee's rules, as far as these tests need them; `hold` keeps a client's messages for the test to release. */
class DeliveryService {
  clients = new Map<string, Client>();
  members: string[] = [];
  epoch = 0;
  roster = new Set<string>();
  keyPackages = new Map<string, string>();
  job: { committer: string; add: string[] } | null = null;
  /** Members the server withholds commits from. */
  cutOff = new Set<string>();
  /** Clients whose outgoing messages the server sits on. */
  held = new Set<string>();
  /** When each member's last update was accepted: the server takes one per 30 s (internal/e2ee UpdateInterval). */
  lastUpdate = new Map<string, number>();
  /** Recording commits each member the server let record may still make apart from its updates (internal/e2ee AllowRecording, MaxRecordingCommits). */
  recordingLeft = new Map<string, number>();
  /** Commits the server refused, as "member: reason". */
  refused: string[] = [];

  /** The server let `id` record (its `record` request was granted). */
  allowRecording(id: string): void {
    this.recordingLeft.set(id, 4);
  }

  async join(id: string): Promise<Client> {
    const c: Client = { id, keys: [], outbox: [], serverSays: null, member: null as unknown as GroupMember };
    this.roster.add(id);
    c.member = await GroupMember.create(await generateSigningIdentity({ webCrypto: false }), "rec0-mls0-test-0001", {
      send: (m) => c.outbox.push(m),
      keys: (k) => c.keys.push(k),
      changed: () => {},
      application: () => {},
      participant: (p) => (this.roster.has(p) ? { id: p, name: p.toUpperCase() } : undefined),
      roster: () => [...this.roster].map((p) => ({ id: p, name: p.toUpperCase() })),
      now: () => clock.now,
      random: () => 0.5,
    });
    c.member.setSelf(id, id.toUpperCase());
    this.clients.set(id, c);
    this.keyPackages.set(id, c.member.keyPackageBase64());
    if (this.members.length === 0) {
      this.members.push(id);
      await this.deliver(id, { type: "e2ee_job", create: true, epoch: 0, add: [], remove: [] });
    } else {
      this.job = { committer: this.members[0]!, add: [id] };
      await this.deliver(this.members[0]!, { type: "e2ee_job", create: false, epoch: this.epoch, add: [{ participant: id, keyPackage: this.keyPackages.get(id)! }], remove: [] });
    }
    await this.settle();
    return c;
  }

  async deliver(to: string, m: ServerE2EEMessage): Promise<void> {
    await this.clients.get(to)!.member.handle(m);
  }

  /** The server's `recording` message, to everyone but `except`. */
  announce(state: RecordingState, except: string[] = []): void {
    for (const c of this.clients.values()) if (!except.includes(c.id)) c.serverSays = state;
  }

  async pump(): Promise<void> {
    for (let busy = true; busy; ) {
      busy = false;
      for (const c of this.clients.values()) {
        if (this.held.has(c.id)) continue;
        for (const m of c.outbox.splice(0)) {
          busy = true;
          await this.receive(c.id, m);
        }
      }
    }
  }

  async settle(): Promise<void> {
    for (let i = 0; i < 4; i++) {
      for (const c of this.clients.values()) await c.member.settled();
      await this.pump();
    }
  }

  private async receive(from: string, m: ClientE2EEMessage): Promise<void> {
    if (m.type !== "e2ee_commit") {
      for (const t of this.members.filter((x) => x !== from && !this.cutOff.has(x))) {
        await this.deliver(t, { type: "e2ee_message", from, epoch: m.epoch, kind: m.kind, data: m.data, private: false });
      }
      return;
    }
    if (m.epoch !== this.epoch) return;
    // A recording commit beyond what the server let its member make counts as its key update.
    const left = this.recordingLeft.get(from) ?? 0;
    if (m.reason === "update" || (m.reason === "recording" && left <= 0)) {
      const last = this.lastUpdate.get(from);
      if (last !== undefined && clock.now - last < 30_000) {
        this.refused.push(`${from}: ${m.reason}`); // e2ee_too_soon, which the client does not act on
        return;
      }
      this.lastUpdate.set(from, clock.now);
    } else if (m.reason === "recording") {
      this.recordingLeft.set(from, left - 1);
    }
    const add = m.reason === undefined && this.job?.committer === from ? this.job.add : [];
    this.job = null;
    this.epoch++;
    const others = this.members.filter((x) => x !== from);
    this.members.push(...add);
    await this.deliver(from, { type: "e2ee_commit_ok", epoch: this.epoch });
    for (const o of others) if (!this.cutOff.has(o)) await this.deliver(o, { type: "e2ee_commit", epoch: this.epoch, from, reason: m.reason ?? "", commit: m.commit });
    for (const a of add) await this.deliver(a, { type: "e2ee_welcome", epoch: this.epoch, welcome: m.welcome! });
  }
}

function groupOf(c: Client): Group {
  return (c.member as unknown as { group: Group }).group;
}

function indicatorOf(c: Client) {
  return recordingIndicator(c.serverSays, c.member.recording(), c.member.members(), c.id);
}

/** A gate on a client's member the server let record, with a record of what it did to the recorder. */
function gateFor(ds: DeliveryService, c: Client): { gate: RecordingGate; did: string[] } {
  const did: string[] = [];
  ds.allowRecording(c.id);
  const gate = new RecordingGate(c.member, { start: () => did.push("start"), pause: () => did.push("pause"), resume: () => did.push("resume") });
  return { gate, did };
}

const serverOn = (by: string, recording = "rec_1"): RecordingState => ({ type: "recording", on: true, recording, by, name: by.toUpperCase(), since: "2026-12-07T00:00:00Z" });

test("the recorder starts only once its commit of the recording state is applied", async () => {
  const ds = new DeliveryService();
  const ada = await ds.join("ada");
  await ds.join("bob");
  const { gate, did } = gateFor(ds, ada);
  ds.held.add("ada");
  await gate.begin("rec_1");
  await ada.member.settled();
  assert.ok(ada.outbox.some((m) => m.type === "e2ee_commit"), "the state went out as a commit");
  assert.deepEqual(did, [], "no MediaRecorder before the commit is applied");
  assert.equal(ada.member.recording(), null);
  await gate.check();
  assert.deepEqual(did, [], "still none while the server sits on the commit");
  ds.held.delete("ada");
  await ds.settle();
  await gate.check();
  assert.deepEqual(did, ["start"]);
  assert.equal(ada.member.recording()?.id, "rec_1");
  await gate.check();
  assert.deepEqual(did, ["start"], "started once");
});

test("a member the server hides the recording message from still shows the indicator, from the group", async () => {
  const ds = new DeliveryService();
  const ada = await ds.join("ada");
  const bob = await ds.join("bob");
  const cy = await ds.join("cy");
  const { gate, did } = gateFor(ds, ada);
  ds.announce(serverOn("ada"), ["bob"]);
  await gate.begin("rec_1");
  await ds.settle();
  await gate.check();
  assert.deepEqual(did, ["start"]);
  assert.equal(bob.serverSays, null, "the server told Bob nothing");
  const b = indicatorOf(bob);
  assert.equal(b.on, true, "Bob's indicator is on");
  assert.equal(b.source, "group");
  assert.equal(b.name, "ADA", "named by Ada's presence in the group");
  assert.equal(b.self, false);
  assert.equal(b.recording, "rec_1");
  assert.equal(indicatorOf(cy).source, "both");
  assert.equal(indicatorOf(ada).self, true);
  // Without the group's state, what the server hides stays hidden: the test can fail.
  assert.equal(recordingIndicator(null, null, bob.member.members(), "bob").on, false);
});

test("a member the server withholds the recording commit from is cut off from the meeting's new keys", async () => {
  const ds = new DeliveryService();
  const ada = await ds.join("ada");
  const bob = await ds.join("bob");
  const cy = await ds.join("cy");
  ds.cutOff.add("bob");
  const { gate, did } = gateFor(ds, ada);
  await gate.begin("rec_1");
  await ds.settle();
  await gate.check();
  assert.deepEqual(did, ["start"]);
  assert.equal(indicatorOf(bob).on, false, "Bob does not know…");
  assert.equal(bob.member.epoch, ada.member.epoch! - 1n, "…because he is an epoch behind");
  const current = ada.keys.at(-1)!;
  assert.equal(cy.keys.at(-1)!.epoch, current.epoch);
  assert.ok(bob.keys.every((k) => k.epoch < current.epoch), "Bob holds no key of the epoch the recorder records in");
});

test("a joiner of a recorded meeting sees the indicator from its Welcome", async () => {
  const ds = new DeliveryService();
  const ada = await ds.join("ada");
  await ds.join("bob");
  const { gate } = gateFor(ds, ada);
  await gate.begin("rec_1");
  await ds.settle();
  const dee = await ds.join("dee");
  assert.ok(dee.member.inGroup);
  assert.equal(dee.serverSays, null, "the server told the joiner nothing");
  const d = indicatorOf(dee);
  assert.equal(d.on, true);
  assert.equal(d.source, "group");
  assert.equal(d.recording, "rec_1");
});

test("a commit that turns recording on naming another member is refused; so is one clearing another's recording", async () => {
  const ds = new DeliveryService();
  const ada = await ds.join("ada");
  const bob = await ds.join("bob");
  const mal = await ds.join("mal");
  const bobLeaf = bob.member.members().find((v) => v.self)!;
  const forge = async (ext: ReturnType<typeof recordingExtension>): Promise<string> => {
    const { state, cs } = hostileAccess(groupOf(mal));
    const r = await createCommit(
      { state: { ...state, unappliedProposals: {} }, cipherSuite: cs },
      { extraProposals: [{ proposalType: "group_context_extensions", groupContextExtensions: { extensions: [ext] } }] },
    );
    return toBase64(encodeMlsMessage(r.commit));
  };
  const framing = await forge(recordingExtension({ id: "rec_x", leaf: bobLeaf.leaf, key: bobLeaf.signaturePublicKey, since: clock.now }));
  const epoch = ada.member.epoch!;
  await ds.deliver("ada", { type: "e2ee_commit", epoch: Number(epoch) + 1, from: "mal", commit: framing });
  assert.equal(ada.member.epoch, epoch, "Ada did not apply it");
  assert.equal(ada.member.recording(), null);
  assert.ok(ada.member.warnings().some((w) => w.text.includes("names another member than its committer")));

  // Ada records; Mal's clearing of it is refused, Ada's own is taken.
  const { gate } = gateFor(ds, ada);
  await gate.begin("rec_2");
  await ds.settle();
  assert.equal(bob.member.recording()?.id, "rec_2");
  const clearing = await forge(recordingExtension(null));
  await ds.deliver("bob", { type: "e2ee_commit", epoch: Number(bob.member.epoch!) + 1, from: "mal", commit: clearing });
  assert.equal(bob.member.recording()?.id, "rec_2", "Bob still sees Ada's recording");
  assert.ok(bob.member.warnings().some((w) => w.text.includes("by another member than the one recording")));
  await gate.end();
  await ds.settle();
  await gate.check();
  for (const c of [ada, bob, mal]) assert.equal(c.member.recording(), null, `${c.id}: nobody records`);
});

test("the recording rules: only the recorder's own leaf, anyone once the recorder left, nothing but the state", () => {
  const k = (n: number) => new Uint8Array(32).fill(n);
  const members = [
    { leafIndex: 0, signaturePublicKey: k(1) },
    { leafIndex: 1, signaturePublicKey: k(2) },
  ];
  const on0 = recordingExtension({ id: "r1", leaf: 0, key: k(1), since: 1 });
  assert.equal(recordingRefusal(0, [], [on0], members), null);
  assert.match(recordingRefusal(1, [], [on0], members) ?? "", /names another member/);
  assert.match(recordingRefusal(0, [], [recordingExtension({ id: "r1", leaf: 0, key: k(9), since: 1 })], members) ?? "", /names another member/);
  assert.match(recordingRefusal(1, [on0], [recordingExtension(null)], members) ?? "", /another member than the one recording/);
  assert.equal(recordingRefusal(0, [on0], [recordingExtension(null)], members), null);
  // Ada's leaf gone (or another key at her index): Bob may clear it, or record himself.
  assert.equal(recordingRefusal(1, [on0], [recordingExtension(null)], [members[1]!]), null);
  assert.equal(recordingRefusal(1, [on0], [recordingExtension(null)], [{ leafIndex: 0, signaturePublicKey: k(7) }, members[1]!]), null);
  assert.match(recordingRefusal(0, [], [], members) ?? "", /other than the recording state/);
  assert.match(recordingRefusal(0, [], [on0, { extensionType: 0xf0c2, extensionData: new Uint8Array(0) }], members) ?? "", /other than the recording state/);
  assert.match(recordingRefusal(0, [], [{ extensionType: 0xf0c1, extensionData: new TextEncoder().encode('{"v":1,"on":true,"id":"<x>"}') }], members) ?? "", /not in Kaigi's format/);
  assert.equal(readRecording([on0, on0]), undefined, "twice is not Kaigi's format");
  assert.equal(readRecording([recordingExtension(null)]), null);
});

test("the recorder pauses when a group made anew lacks the state, and commits it again", async () => {
  const ds = new DeliveryService();
  const ada = await ds.join("ada");
  await ds.join("bob");
  const { gate, did } = gateFor(ds, ada);
  await gate.begin("rec_1");
  await ds.settle();
  await gate.check();
  assert.deepEqual(did, ["start"]);
  // The server lost the group: Ada forms a new one alone.
  await ada.member.restarted();
  ds.members = ["ada"];
  ds.epoch = 0;
  ds.lastUpdate.clear(); // the server's group is new
  await ds.deliver("ada", { type: "e2ee_job", create: true, epoch: 0, add: [], remove: [] });
  assert.equal(ada.member.recording(), null);
  await gate.check();
  assert.deepEqual(did, ["start", "pause"]);
  await ds.settle();
  await gate.check();
  assert.deepEqual(did, ["start", "pause", "resume"]);
  assert.equal(ada.member.recording()?.id, "rec_1");
});

test("without end-to-end encryption the gate starts on the server's word", async () => {
  const did: string[] = [];
  const gate = new RecordingGate(null, { start: () => did.push("start"), pause: () => did.push("pause"), resume: () => did.push("resume") });
  await gate.begin("rec_1");
  assert.deepEqual(did, ["start"]);
  assert.equal(recordingIndicator(serverOn("ada"), null, [], "bob").source, "server");
});

test("a clearing commit that loses to another member's is made again until the group says nobody records", async () => {
  const ds = new DeliveryService();
  const ada = await ds.join("ada");
  const bob = await ds.join("bob");
  const { gate } = gateFor(ds, ada);
  await gate.begin("rec_1");
  await ds.settle();
  await gate.check();
  ds.held.add("ada");
  await gate.end();
  await ada.member.settled();
  assert.ok(ada.outbox.some((m) => m.type === "e2ee_commit"), "the clearing commit went out");
  // Bob's key update reaches the server first; Ada's commit is then stale.
  clock.now += 10 * 60_000;
  await bob.member.maintain();
  await ds.pump();
  ds.held.delete("ada");
  await ds.settle();
  assert.equal(bob.member.recording()?.id, "rec_1", "still on: Ada's clearing lost");
  assert.equal(gate.idle, false);
  await gate.check();
  await ds.settle();
  await gate.check();
  for (const c of [ada, bob]) assert.equal(c.member.recording(), null, `${c.id}: cleared`);
  assert.equal(gate.idle, true);
});

test("a recording stopped right after it started is cleared from the group at once, with no wait for the key update interval", async () => {
  const ds = new DeliveryService();
  const ada = await ds.join("ada");
  const bob = await ds.join("bob");
  const { gate, did } = gateFor(ds, ada);
  await gate.begin("rec_1");
  await ds.settle();
  await gate.check();
  assert.deepEqual(did, ["start"]);
  assert.equal(bob.member.recording()?.id, "rec_1");
  clock.now += 1_000;
  await gate.end();
  await ds.settle();
  await gate.check();
  for (const c of [ada, bob]) assert.equal(c.member.recording(), null, `${c.id}: cleared a second after it was set`);
  assert.equal(gate.idle, true);
  assert.deepEqual(ds.refused, [], "nothing refused on the way");
});

test("a start right after this member's own key update works: recording commits are not key updates", async () => {
  const ds = new DeliveryService();
  const ada = await ds.join("ada");
  const bob = await ds.join("bob");
  clock.now += 10 * 60_000;
  await ada.member.maintain(); // a key update is due: Ada commits one
  await ds.settle();
  assert.ok(ds.lastUpdate.get("ada") === clock.now, "Ada's key update was taken just now");
  const { gate, did } = gateFor(ds, ada);
  await gate.begin("rec_1");
  await ds.settle();
  await gate.check();
  assert.deepEqual(did, ["start"], "started without waiting 30 s");
  assert.equal(bob.member.recording()?.id, "rec_1");
  assert.deepEqual(ds.refused, []);
});

test("a member the server did not let record commits the state no more often than a key update", async () => {
  const ds = new DeliveryService();
  await ds.join("ada");
  const bob = await ds.join("bob");
  clock.now += 10 * 60_000;
  await bob.member.maintain(); // Bob's key update
  await ds.settle();
  const did: string[] = [];
  const gate = new RecordingGate(bob.member, { start: () => did.push("start"), pause: () => {}, resume: () => {} });
  await gate.begin("rec_1"); // a page that records without the server's word
  await ds.settle();
  await gate.check();
  assert.deepEqual(ds.refused, ["bob: recording"], "refused as a second key update within 30 s");
  assert.deepEqual(did, [], "no recorder without the group's state");
  assert.equal(bob.member.recording(), null);
});

test("members refuse a commit sent as a recording commit that does anything but change who records", async () => {
  const ds = new DeliveryService();
  await ds.join("ada");
  const bob = await ds.join("bob");
  const mal = await ds.join("mal");
  const forge = async (proposals: Proposal[]): Promise<string> => {
    const { state, cs } = hostileAccess(groupOf(mal));
    const r = await createCommit({ state: { ...state, unappliedProposals: {} }, cipherSuite: cs }, { extraProposals: proposals });
    return toBase64(encodeMlsMessage(r.commit));
  };
  const epoch = bob.member.epoch!;
  const relayed = async (commit: string, reason: string) => ds.deliver("bob", { type: "e2ee_commit", epoch: Number(epoch) + 1, from: "mal", reason, commit });

  // An ordinary key update passed off as a recording commit (to get round the 30 s between updates).
  const update = await forge([]);
  await relayed(update, "recording");
  assert.equal(bob.member.epoch, epoch, "Bob did not apply the update sent as a recording commit");
  assert.ok(bob.member.warnings().some((w) => w.text.includes("does more, or other, than change the recording state")));
  // A "change" that leaves the state as it was: churn by another name.
  const same = await forge([{ proposalType: "group_context_extensions", groupContextExtensions: { extensions: [recordingExtension(null)] } }]);
  await relayed(same, "recording");
  assert.equal(bob.member.epoch, epoch);
  assert.ok(bob.member.warnings().some((w) => w.text.includes("leaves the recording state as it was")));
  // The same commits without the reason are what they always were: an update is taken.
  await relayed(update, "update");
  assert.equal(bob.member.epoch, epoch + 1n, "the update as an update is applied: the refusals above came from the reason");
});

test("the rule for recording commits, on its own", () => {
  const k = (n: number) => new Uint8Array(32).fill(n);
  const group = { extensions: [] as ReturnType<typeof recordingExtension>[], members: [{ leafIndex: 0, signaturePublicKey: k(1) }, { leafIndex: 1, signaturePublicKey: k(2) }] };
  const on0 = recordingExtension({ id: "r1", leaf: 0, key: k(1), since: 1 });
  const gce = (e: ReturnType<typeof recordingExtension>) => ({ proposal: { proposalType: "group_context_extensions" as const, groupContextExtensions: { extensions: [e] } }, senderLeafIndex: 0 });
  const remove = { proposal: { proposalType: "remove" as const, remove: { removed: 1 } }, senderLeafIndex: 0 };
  const info = { v: 1 as const, add: [] };
  assert.equal(commitRefusal(0, [gce(on0)], info, undefined, group, "recording"), null);
  assert.equal(commitRefusal(0, [gce(on0)], info, undefined, group, "update"), null, "a recording state under another reason, as an older page sends it");
  assert.match(commitRefusal(0, [], info, undefined, group, "recording") ?? "", /does more, or other/);
  assert.equal(commitRefusal(0, [], info, undefined, group, "update"), null);
  assert.match(commitRefusal(0, [gce(on0), remove], info, undefined, group, "recording") ?? "", /does more, or other/);
  assert.equal(commitRefusal(0, [gce(on0), remove], info, undefined, group, ""), null);
  assert.match(commitRefusal(0, [gce(on0)], info, undefined, { ...group, extensions: [on0] }, "recording") ?? "", /as it was/);
  // Only who records counts as a change, not the recorder's clock.
  assert.equal(recordingChanges([on0], [recordingExtension({ id: "r1", leaf: 0, key: k(1), since: 2 })]), false);
  assert.equal(recordingChanges([on0], [recordingExtension({ id: "r2", leaf: 0, key: k(1), since: 1 })]), true);
  assert.equal(recordingChanges([on0], [recordingExtension(null)]), true);
  assert.equal(recordingChanges([], [recordingExtension(null)]), false, "no extension and off are the same");
  assert.equal(recordingChanges([], [on0]), true);
});
