// A fake MLS delivery service that follows the server's rules
// (internal/e2ee) closely enough to drive real clients (src/e2ee/member.ts,
// real ts-mls): the first participant creates the group, the
// longest-present member commits adds and removals, one commit per epoch,
// relays to the right members. Tests make it hostile by hand.

import assert from "node:assert/strict";
import { GroupMember, type AppMessage, type ClientE2EEMessage, type ServerE2EEMessage } from "../src/e2ee/member.js";
import type { EpochKeys } from "../src/e2ee/media-keys.js";
import { generateSigningIdentity, type SigningIdentity } from "../src/e2ee/signing.js";

export interface Client {
  id: string;
  member: GroupMember;
  keys: EpochKeys[];
  apps: AppMessage[];
  outbox: ClientE2EEMessage[];
}

/** The test's clock, shared by every client. */
export const clock = { now: 1_000_000 };

/** Just enough of internal/e2ee's rules to drive real clients. */
export class FakeDeliveryService {
  clients = new Map<string, Client>();
  members: string[] = [];
  epoch = 0;
  job: { committer: string; add: string[]; remove: string[] } | null = null;
  keyPackages = new Map<string, string>();
  relayed: { from: string; kind: string; data: string }[] = [];
  /** Who is in the meeting (the roster every client sees). */
  roster = new Set<string>();
  /** Participants a committer said it could not add. */
  skipped: string[] = [];
  /** The account each participant joined with (none: a guest). */
  accounts = new Map<string, string>();
  /** Commits relayed, for tests that replay or inspect them. */
  commits: { from: string; commit: string; reason?: string }[] = [];
  /** The clients' mayAdd (a waiting room's rule); unset: they add anyone. */
  mayAdd: ((participant: string) => boolean) | undefined;

  /** A participant joins; with `later`, nobody is asked to add them yet (the test does). */
  async join(id: string, identity?: SigningIdentity, account = "", later = false): Promise<Client> {
    const c: Client = { id, keys: [], apps: [], outbox: [], member: null as unknown as GroupMember };
    this.roster.add(id);
    if (account !== "") this.accounts.set(id, account);
    c.member = await GroupMember.create(identity ?? (await generateSigningIdentity({ webCrypto: false })), "7k3m-q9xd-2hfa-b8rn", {
      send: (m) => c.outbox.push(m),
      keys: (k) => c.keys.push(k),
      changed: () => {},
      application: (m) => c.apps.push(m),
      participant: (p) => {
        if (!this.roster.has(p)) return undefined;
        const acct = this.accounts.get(p);
        return acct === undefined ? { id: p, name: p.toUpperCase() } : { id: p, name: p.toUpperCase(), account: acct };
      },
      roster: () => [...this.roster].map((p) => ({ id: p, name: p.toUpperCase() })),
      mayAdd: (p) => this.mayAdd?.(p) ?? true,
      now: () => clock.now,
      random: () => 0.5,
    }, account);
    c.member.setSelf(id, id.toUpperCase());
    this.clients.set(id, c);
    this.keyPackages.set(id, c.member.keyPackageBase64());
    if (later) return c;
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

  /** A participant leaves the meeting (the roster first, as the server does), and a member is asked to remove them. */
  async leave(id: string): Promise<void> {
    this.roster.delete(id);
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
      if (m.epoch !== this.epoch) return; // stale: the committer applies what it receives
      let j: { committer: string; add: string[]; remove: string[] };
      if (m.reason !== undefined) {
        assert.ok(this.members.includes(from), "a member's own commit");
        j = { committer: from, add: [], remove: m.reason === "remove" ? m.remove ?? [] : [] };
      } else {
        assert.ok(this.job && this.job.committer === from, "commit from the job's committer");
        const skipped = m.skipped ?? [];
        this.skipped.push(...skipped);
        j = { ...this.job!, add: this.job!.add.filter((p) => !skipped.includes(p)) };
        if (m.commit === "") {
          assert.equal(j.add.length, 0, "an empty commit skips every Add");
          this.job = null;
          return;
        }
      }
      this.commits.push({ from, commit: m.commit, ...(m.reason ? { reason: m.reason } : {}) });
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

export async function settle(ds: FakeDeliveryService): Promise<void> {
  for (let i = 0; i < 5; i++) {
    for (const c of ds.clients.values()) await c.member.settled();
    await ds.pump();
  }
}

/** Lets time pass for every client, then runs their upkeep. */
export async function tick(ds: FakeDeliveryService, ms: number): Promise<void> {
  clock.now += ms;
  for (const c of ds.clients.values()) await c.member.maintain();
  await settle(ds);
}

